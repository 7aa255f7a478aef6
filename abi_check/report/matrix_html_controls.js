// abi-check matrix report, 3 of 3: what the reader's input does (filters, order, pair picker, arrow keys,
// pointer over and clicks on the grid, the separations' examples), and the start of the page.
"use strict";
function buildFilters() {
  const box = $("filters");
  box.append(el("span", "label", "Severity"));
  SEV.forEach((sev, rank) => {
    const input = el("input");
    input.type = "checkbox";
    input.checked = true;
    input.id = `sev-${sev}`;
    input.addEventListener("change", () => {
      sevOn[rank] = input.checked;
      paint();
    });
    const label = el("label", null, input, " ", el("span", `sev s-${sev}`, sev));
    label.htmlFor = input.id;
    box.append(label);
  });
  const details = el("details", "rules");
  const summary = el("summary");
  const list = el("div", "box");
  const checks = [];
  const all = el("button", "linkbtn", "all");
  const none = el("button", "linkbtn", "none");
  const setAll = (on) => {
    checks.forEach(([input, rule]) => {
      input.checked = on;
      if (on) ruleOn.add(rule);
      else ruleOn.delete(rule);
    });
    paint();
  };
  all.type = none.type = "button";
  all.addEventListener("click", () => setAll(true));
  none.addEventListener("click", () => setAll(false));
  list.append(el("div", null, "Show ", all, " \u00b7 ", none, " \u00b7 pairs each rule fires on:"));
  const sorted = [...rules.entries()].sort((x, y) => y[1].pairs - x[1].pairs || (x[0] < y[0] ? -1 : 1));
  for (const [rule, info] of sorted) {
    const input = el("input");
    input.type = "checkbox";
    input.checked = true;
    input.dataset.rule = rule;
    input.addEventListener("change", () => {
      if (input.checked) ruleOn.add(rule);
      else ruleOn.delete(rule);
      paint();
    });
    checks.push([input, rule]);
    const label = el("label", info.pairs ? null : "zero", input, el("code", null, rule));
    if (info.rank !== null) label.append(el("span", `sev s-${SEV[info.rank]}`, SEV[info.rank]));
    label.append(el("span", "count", info.pairs.toLocaleString("en")));
    list.append(label);
  }
  details.append(summary, list);
  box.append(el("span", "label", "Rules"), details);
  const select = el("select");
  select.id = "order";
  for (const [value, text] of [["name", "host name"], ["domain", "migration domain"]]) {
    const option = el("option", null, text);
    option.value = value;
    select.append(option);
  }
  select.addEventListener("change", () => {
    grouped = select.value === "domain";
    order = grouped ? byDomain : byName;
    buildGrid();
  });
  box.append(el("label", null, el("span", "label", "Order "), select));
  ruleSummary = summary;
}

function buildPicker() {
  const src = el("select");
  const dst = el("select");
  src.id = "pick-src";
  dst.id = "pick-dst";
  for (const s of [src, dst]) {
    hosts.forEach((h, i) => {
      const option = el("option", null, `${i + 1}. ${h.name}`);
      option.value = String(i);
      s.append(option);
    });
    s.addEventListener("change", () => select(Number(src.value), Number(dst.value)));
  }
  $("picker").append(el("span", "label", "Pair "), src, " \u2192 ", dst);
}

function onKey(e) {
  const step = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
  if (!step) return;
  e.preventDefault();
  if (!sel) {
    select(order[0], order[0]);
    return;
  }
  const [p, q] = [order.indexOf(sel[0]), order.indexOf(sel[1])];
  const np = Math.min(N - 1, Math.max(0, p + step[0]));
  const nq = Math.min(N - 1, Math.max(0, q + step[1]));
  select(order[np], order[nq]);
}

// The grid is rebuilt when the order changes, so its pointer events are taken once, on its container.
function listen() {
  const grid = $("grid");
  grid.addEventListener("keydown", onKey);
  grid.addEventListener("click", (e) => {
    const ab = cellUnder(e);
    if (ab) select(ab[0], ab[1]);
  });
  const over = (e) => {
    const ab = cellUnder(e);
    if (ab) hover(ab[0], ab[1], canvas ? null : e.target.closest("td.cell"));
  };
  grid.addEventListener("mouseover", over);
  grid.addEventListener("mousemove", (e) => canvas && over(e));
  grid.addEventListener("click", (e) => {
    const th = e.target.closest && e.target.closest("th.host");
    if (th) showHost(Number(th.dataset.host));
  });
  $("details").addEventListener("click", (e) => {
    const open = e.target.closest && e.target.closest("button.open-pair");
    if (open) select(Number(open.dataset.src), Number(open.dataset.dst));
  });
  $("host-search").addEventListener("change", (e) => {
    const i = nameIndex.get(e.target.value.trim());
    if (i !== undefined) showHost(i);
  });
  $("separations-list").addEventListener("click", (e) => {
    const ex = e.target.closest && e.target.closest("button.example");
    if (!ex) return;
    select(nameIndex.get(ex.dataset.src), nameIndex.get(ex.dataset.dst));
    $("matrix-panel").scrollIntoView({ block: "start" });
  });
}

buildHead();
buildFilters();
buildPicker();
buildSearch();
buildGrid();
buildDomains();
showPlaceholder();
listen();
