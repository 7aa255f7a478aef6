// abi-check matrix report: draws the grid, the filters, the details panel, the domains and the separations from
// the JSON block of this page. Every string from the data reaches the page through textContent, append() or a
// property (never through HTML markup), so a spec cannot inject any.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("data").textContent);
  const H = data.header;
  const hosts = H.hosts;
  const N = hosts.length;
  const S = data.strings;
  const SEV = ["error", "warning", "note"];
  const VERDICT = {
    compatible: { sym: "\u2713", text: "compatible" },
    "abi-change": { sym: "~", text: "guest ABI change" },
    fails: { sym: "\u2717", text: "fails" },
  };
  const LIMIT = { error: 0, warning: 1, note: 2, never: -1 }[H.fail_on];
  const outcomes = data.outcomes.map((o) => ({ verdict: o[0], counts: o[1], fired: o[2], crashes: o[3] }));
  const cellOutcome = new Uint32Array(N * N);
  data.rows.forEach((row, a) => cellOutcome.set(row[0], a * N));
  const outcomeCells = new Float64Array(outcomes.length);
  for (let i = 0; i < cellOutcome.length; i++) outcomeCells[cellOutcome[i]]++;
  const nameIndex = new Map(hosts.map((h, i) => [h.name, i]));
  const $ = (id) => document.getElementById(id);

  function el(tag, cls, ...kids) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }
  const plural = (n, word) => `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
  const countsText = (c) => [plural(c[0], "error"), plural(c[1], "warning"), plural(c[2], "note")].join(", ");
  const shellQuote = (s) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  const pairCommand = (a, b) => `abi-check pair ${shellQuote(hosts[a].path)} ${shellQuote(hosts[b].path)}`;
  const blocks = (o) => LIMIT >= 0 && o.fired.some(([rank]) => rank <= LIMIT);

  // -- filters ------------------------------------------------------------------------------------------
  const sevOn = [true, true, true];
  const rules = new Map(H.rules.map((r) => [r, { rank: null, pairs: 0 }]));
  outcomes.forEach((o, i) =>
    o.fired.forEach(([rank, rule]) => {
      if (!rules.has(rule)) rules.set(rule, { rank: null, pairs: 0 });
      const r = rules.get(rule);
      r.rank = rank;
      r.pairs += outcomeCells[i];
    }),
  );
  const ruleOn = new Set(rules.keys());
  const shown = (rank, rule) => sevOn[rank] && ruleOn.has(rule);
  let eff = [];

  // The verdict of each distinct outcome under the filters (cells share outcomes, so this is cheap at any size).
  function computeEffective() {
    eff = outcomes.map((o) => {
      let rank = 3;
      let hidden = 0;
      for (const [r, rule] of o.fired) {
        if (shown(r, rule)) rank = Math.min(rank, r);
        else hidden++;
      }
      const verdict = hidden === 0 ? o.verdict : rank === 0 ? "fails" : rank === 1 ? "abi-change" : "compatible";
      // Hatched: the filters changed what the cell says, or hid everything it had to say.
      const dim = hidden > 0 && (verdict !== o.verdict || hidden === o.fired.length);
      return { verdict, hidden, dim, none: hidden > 0 && hidden === o.fired.length };
    });
  }

  // -- order ----------------------------------------------------------------------------------------------
  const byName = hosts.map((_, i) => i);
  const domainOf = new Int32Array(N).fill(-1);
  const byDomain = [];
  H.domains.forEach((d, k) =>
    d.hosts.forEach((name) => {
      const i = nameIndex.get(name);
      if (i !== undefined && domainOf[i] < 0) {
        domainOf[i] = k;
        byDomain.push(i);
      }
    }),
  );
  byName.forEach((i) => domainOf[i] < 0 && byDomain.push(i));
  let order = byName;
  let grouped = false;
  const boundary = (p) => grouped && p > 0 && domainOf[order[p]] !== domainOf[order[p - 1]];

  // -- page head ---------------------------------------------------------------------------------------------
  function buildHead() {
    const meta = $("meta");
    meta.append("abi-check ", el("b", null, H.tool.version), " \u00b7 inputs: ", el("b", null, H.inputs.join(", ")),
      " \u00b7 fail-on: ", el("b", null, H.fail_on), " \u00b7 ", plural(H.rules.length, "rule"));
    const s = H.summary;
    const card = (n, label, verdict) => {
      const k = el("div", "k");
      if (verdict) k.append(el("span", `sym v-${verdict}`, VERDICT[verdict].sym));
      k.append(label);
      return el("div", "card", el("div", "n", n.toLocaleString("en")), k);
    };
    $("summary").append(card(s.hosts, "hosts"), card(s.abis, "distinct guest ABIs"), card(s.cells, "directional pairs"),
      card(s.compatible, "compatible", "compatible"), card(s["abi-change"], "guest ABI change", "abi-change"),
      card(s.fails, "fail", "fails"), card(s.domains, "migration domains"));
    const legend = $("legend");
    for (const [v, d] of Object.entries(VERDICT)) legend.append(el("span", null, el("span", `swatch v-${v}`, d.sym), d.text));
    legend.append(el("span", null, el("span", "swatch v-compatible dim", VERDICT.compatible.sym),
      "hatched: verdict changed by the filters"));
    $("footer").append(`Generated by abi-check ${H.tool.version}. This file is self-contained and works offline; ` +
      "its data is the JSON block with id \u201cdata\u201d.");
  }

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
  let ruleSummary = null; // "all 24" or "3 of 24", kept current by paintTotals()

  // -- the grid: DOM cells up to gridLimit hosts, one canvas beyond ------------------------------------------------
  const params = new URLSearchParams(location.search);
  const mode = params.get("grid") || (N > data.gridLimit ? "canvas" : "cells");
  let cellEls = null;
  let canvas = null;
  let headEls = null;
  let sel = null;

  function buildGrid() {
    const grid = $("grid");
    grid.replaceChildren();
    if (mode === "canvas") buildCanvas(grid);
    else buildTable(grid);
    paint();
  }

  function buildTable(grid) {
    const table = el("table", N <= 24 ? "heat" : "heat narrow"); // narrow: column numbers written upwards
    const cs = N <= 24 ? 26 : N <= 60 ? 18 : 13;
    table.style.setProperty("--cs", `${cs}px`);
    table.style.setProperty("--fs", `${Math.round(cs * 0.5)}px`);
    const head = el("tr", null, el("th", "corner", "#"), el("th", "corner", "source \u2193  destination \u2192"));
    headEls = { rows: new Array(N), cols: new Array(N) };
    cellEls = new Array(N * N);
    order.forEach((b, q) => {
      const th = el("th", boundary(q) ? "gap-l" : null, String(b + 1));
      th.title = hosts[b].name;
      headEls.cols[b] = th;
      head.append(th);
    });
    const body = el("tbody");
    order.forEach((a, p) => {
      const num = el("th", "num", String(a + 1));
      const name = el("th", "name", hosts[a].name);
      headEls.rows[a] = name;
      const tr = el("tr", boundary(p) ? "gap-t" : null, num, name);
      order.forEach((b, q) => {
        const td = el("td", "cell");
        if (boundary(q)) td.dataset.gap = "1";
        td.dataset.src = hosts[a].name;
        td.dataset.dst = hosts[b].name;
        cellEls[a * N + b] = td;
        tr.append(td);
      });
      body.append(tr);
    });
    table.append(el("thead", null, head), body);
    table.addEventListener("click", (e) => {
      const ab = cellAt(e.target);
      if (ab) select(ab[0], ab[1]);
    });
    table.addEventListener("mouseover", (e) => {
      const ab = cellAt(e.target);
      if (ab) hover(ab[0], ab[1], e.target);
    });
    grid.append(table);
  }

  function cellAt(target) {
    const td = target.closest && target.closest("td.cell");
    return td ? [nameIndex.get(td.dataset.src), nameIndex.get(td.dataset.dst)] : null;
  }

  const COLOR = { compatible: [0xb9, 0xe5, 0xc6], "abi-change": [0xf5, 0xb8, 0x3d], fails: [0xb8, 0x32, 0x2a] };
  let image = null;
  let cs = 1;

  function buildCanvas(grid) {
    cs = Math.max(N > 2000 ? 1 : 2, Math.min(12, Math.floor(960 / N))); // pixels per cell
    canvas = el("canvas", "heat");
    canvas.width = canvas.height = N * cs;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${N} by ${N} compatibility matrix; click a cell for its details`);
    const pos = (e) => {
      const r = canvas.getBoundingClientRect();
      const q = Math.floor(((e.clientX - r.left) / r.width) * N);
      const p = Math.floor(((e.clientY - r.top) / r.height) * N);
      return p >= 0 && q >= 0 && p < N && q < N ? [order[p], order[q]] : null;
    };
    canvas.addEventListener("click", (e) => {
      const ab = pos(e);
      if (ab) select(ab[0], ab[1]);
    });
    canvas.addEventListener("mousemove", (e) => {
      const ab = pos(e);
      if (ab) hover(ab[0], ab[1], null);
    });
    grid.append(el("div", "note", "source \u2193  destination \u2192 (hover for names; click for details)"), canvas);
  }

  function paint() {
    computeEffective();
    if (canvas) paintCanvas();
    else paintTable();
    paintTotals();
    if (sel) showDetails(sel[0], sel[1]);
    if (hovered) hover(hovered[0], hovered[1], null);
  }

  function paintTable() {
    for (let a = 0; a < N; a++) {
      for (let b = 0; b < N; b++) {
        const td = cellEls[a * N + b];
        const e = eff[cellOutcome[a * N + b]];
        let cls = `cell v-${e.verdict}${e.dim ? " dim" : ""}`;
        if (td.dataset.gap) cls += " gap-l";
        if (sel && sel[0] === a && sel[1] === b) cls += " sel";
        td.className = cls;
        td.textContent = VERDICT[e.verdict].sym;
        td.removeAttribute("title");
      }
    }
  }

  function paintCanvas() {
    const ctx = canvas.getContext("2d");
    const w = canvas.width;
    image = ctx.createImageData(w, w);
    const px = new Uint32Array(image.data.buffer);
    const rgba = (c) => (255 << 24) | (c[2] << 16) | (c[1] << 8) | c[0]; // little-endian RGBA
    const pale = (c) => c.map((x) => Math.round(x + (255 - x) * 0.6));
    const colors = eff.map((e) => rgba(e.dim ? pale(COLOR[e.verdict]) : COLOR[e.verdict]));
    const inner = cs >= 4 ? cs - 1 : cs; // a 1-pixel gap between cells when they are big enough to show it
    px.fill(rgba([255, 255, 255]));
    for (let p = 0; p < N; p++) {
      const a = order[p];
      for (let q = 0; q < N; q++) {
        const color = colors[cellOutcome[a * N + order[q]]];
        let start = p * cs * w + q * cs;
        for (let y = 0; y < inner; y++, start += w) px.fill(color, start, start + inner);
      }
    }
    drawCanvas();
  }

  function drawCanvas() {
    const ctx = canvas.getContext("2d");
    ctx.putImageData(image, 0, 0);
    if (grouped) {
      ctx.fillStyle = "#1d2633";
      for (let p = 1; p < N; p++) {
        if (!boundary(p)) continue;
        ctx.fillRect(0, p * cs - 1, canvas.width, 1);
        ctx.fillRect(p * cs - 1, 0, 1, canvas.height);
      }
    }
    if (sel) {
      const p = order.indexOf(sel[0]);
      const q = order.indexOf(sel[1]);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#111827";
      ctx.strokeRect(q * cs - 2, p * cs - 2, cs + 3, cs + 3);
    }
  }

  function paintTotals() {
    const totals = { compatible: 0, "abi-change": 0, fails: 0 };
    let dim = 0;
    eff.forEach((e, i) => {
      totals[e.verdict] += outcomeCells[i];
      if (e.dim) dim += outcomeCells[i];
    });
    const all = ruleOn.size === rules.size && sevOn.every(Boolean);
    const status = $("filtered");
    status.replaceChildren(all ? "Showing every finding: " : "With these filters: ",
      el("b", null, totals.fails.toLocaleString("en")), " fail \u00b7 ",
      el("b", null, totals["abi-change"].toLocaleString("en")), " guest ABI change \u00b7 ",
      el("b", null, totals.compatible.toLocaleString("en")), " compatible",
      dim ? ` (${dim.toLocaleString("en")} hatched: the filters changed their verdict)` : "");
    ruleSummary.textContent = ruleOn.size === rules.size ? `all ${rules.size}` : `${ruleOn.size} of ${rules.size}`;
  }

  function describe(a, b) {
    const o = outcomes[cellOutcome[a * N + b]];
    const e = eff[cellOutcome[a * N + b]];
    const v = e.dim ? `${VERDICT[e.verdict].text} with the filters` : VERDICT[e.verdict].text;
    return `${hosts[a].name} \u2192 ${hosts[b].name}: ${VERDICT[e.verdict].sym} ${v} (${countsText(o.counts)})`;
  }

  let hovered = null;

  function hover(a, b, td) {
    hovered = [a, b];
    if (td && !td.title) td.title = describe(a, b);
    const e = eff[cellOutcome[a * N + b]];
    $("status").replaceChildren(`#${a + 1} `, el("b", null, hosts[a].name), " \u2192 ", `#${b + 1} `,
      el("b", null, hosts[b].name), `: ${VERDICT[e.verdict].sym} ${VERDICT[e.verdict].text}${e.dim ? " with the filters" : ""}`);
    if (headEls) {
      document.querySelectorAll("table.heat th.hl").forEach((th) => th.classList.remove("hl"));
      headEls.rows[a].classList.add("hl");
      headEls.cols[b].classList.add("hl");
    }
  }

  function select(a, b) {
    const before = sel;
    sel = [a, b];
    if (cellEls) {
      if (before) cellEls[before[0] * N + before[1]].classList.remove("sel");
      const td = cellEls[a * N + b];
      td.classList.add("sel");
      td.scrollIntoView({ block: "nearest", inline: "nearest" });
    } else if (canvas) {
      drawCanvas();
    }
    $("pick-src").value = String(a);
    $("pick-dst").value = String(b);
    showDetails(a, b);
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

  // -- the details panel -----------------------------------------------------------------------------------------
  function abiText(h) {
    const abi = H.abis[h.abi];
    return abi ? `${abi.kernel} \u00b7 ${abi.vmm} \u00b7 ${abi.cpu} \u00b7 ${plural(abi.vcpus, "vCPU")}` : "";
  }

  function link(url) {
    if (!/^https?:\/\//i.test(url)) return url; // only web links are links: no javascript: or file: URLs
    const a = el("a", null, url);
    a.href = url;
    a.rel = "noopener noreferrer";
    a.target = "_blank";
    return a;
  }

  function findingCard(f) {
    const head = el("div", "fhead", el("span", `sev s-${f.severity}`, f.severity), el("code", "rule", f.rule));
    const card = el("div", `finding s-${f.severity}`, head, el("p", "msg", f.message));
    if (f.fix) card.append(el("p", "fix", f.fix));
    const where = el("p", "ref");
    if (f.path !== null) where.append(el("code", "loc", `${f.path}:${f.line}:${f.column}`));
    if (f.path !== null && f.reference) where.append(" \u00b7 ");
    if (f.reference) where.append(link(f.reference));
    if (where.childNodes.length) card.append(where);
    return card;
  }

  function decode(f) {
    return {
      rank: f[0], severity: SEV[f[0]], rule: S[f[1]], message: f[2], fix: f[3], reference: S[f[4]],
      path: f[5] < 0 ? null : S[f[5]], line: f[6], column: f[7], fingerprint: f[8],
    };
  }

  function showDetails(a, b) {
    const panel = $("details");
    const o = outcomes[cellOutcome[a * N + b]];
    const e = eff[cellOutcome[a * N + b]];
    const v = VERDICT[o.verdict];
    const verdictLine = el("p", null, el("span", `badge v-${o.verdict}`, `${v.sym} ${v.text}`));
    if (e.dim) {
      verdictLine.append(" \u2014 ", e.none ? "every finding is hidden: shown as " : "shown as ",
        el("b", null, VERDICT[e.verdict].text), " with the filters");
    }
    const kv = el("dl", "kv");
    const row = (k, ...vs) => kv.append(el("dt", null, k), el("dd", null, ...vs));
    row("Source", el("code", null, hosts[a].path), el("br"), abiText(hosts[a]));
    row("Destination", el("code", null, hosts[b].path), el("br"), abiText(hosts[b]));
    row("Findings", countsText(o.counts) + (o.crashes ? ` (${plural(o.crashes, "rule")} crashed)` : ""));
    row(`--fail-on ${H.fail_on}`, blocks(o) ? "the move does not pass: the exit code is non-zero" : "the move passes");
    panel.replaceChildren(el("h2", null, "Pair details"),
      el("div", "pair", hosts[a].name, el("span", "arrow", " \u2192 "), hosts[b].name), verdictLine, kv);
    const command = el("code", "cmd", pairCommand(a, b));
    if (data.withFindings) {
      const all = data.rows[a][1][b].map(decode);
      const visible = all.filter((f) => shown(f.rank, f.rule));
      panel.append(el("h3", null, all.length === visible.length ? `Findings (${all.length})`
        : `Findings (${visible.length} of ${all.length} shown)`));
      if (!all.length) panel.append(el("p", "empty", "No findings: the guest sees the same ABI after the move."));
      visible.forEach((f) => panel.append(findingCard(f)));
      if (visible.length < all.length) {
        panel.append(el("p", "hidden-note", `${plural(all.length - visible.length, "finding")} hidden by the filters.`));
      }
      panel.append(el("h3", null, "The same pair on the command line"), command);
    } else {
      panel.append(el("h3", null, "Rules that fired"));
      if (!o.fired.length) panel.append(el("p", "empty", "None: the guest sees the same ABI after the move."));
      const list = el("ul", "fired");
      for (const [rank, rule] of o.fired) {
        const li = el("li", shown(rank, rule) ? null : "off", el("span", `sev s-${SEV[rank]}`, SEV[rank]), " ",
          el("code", null, rule));
        if (!shown(rank, rule)) li.append(" (hidden by the filters)");
        list.append(li);
      }
      if (o.fired.length) panel.append(list);
      const why = N > data.findingsHostLimit
        ? `it covers ${N.toLocaleString("en")} hosts, and findings are included by default up to ` +
          `${data.findingsHostLimit}; --findings includes them always`
        : "it was made with --no-findings";
      panel.append(el("p", null, `This report does not include findings (${why}). For this pair's findings, run:`),
        command);
    }
  }

  // -- domains and separations --------------------------------------------------------------------------------------
  function paged(container, items, page, render) {
    const draw = (count) => {
      container.replaceChildren(render(items.slice(0, count)));
      if (items.length > count) {
        const more = el("button", "linkbtn more", `Show all ${items.length.toLocaleString("en")}`);
        more.type = "button";
        more.addEventListener("click", () => draw(items.length));
        container.append(more);
      }
    };
    draw(page);
  }

  function buildDomains() {
    paged($("domains-list"), H.domains, 48, (domains) => {
      const box = el("div", "domains");
      for (const d of domains) {
        const ul = el("ul");
        d.hosts.forEach((name) => ul.append(el("li", null, name)));
        box.append(el("div", "domain", el("div", "dh", `D${d.id + 1} `, el("span", null, plural(d.hosts.length, "host"))), ul));
      }
      return box;
    });
    if (!H.separations.length) {
      $("separations-list").append(el("p", "empty", "One domain: every move between these hosts passes."));
      return;
    }
    paged($("separations-list"), H.separations, 20, (seps) => {
      const body = el("tbody");
      for (const s of seps) {
        const ex = el("button", "linkbtn example", s.example.source, " \u2192 ", s.example.destination);
        ex.type = "button";
        ex.addEventListener("click", () => {
          select(nameIndex.get(s.example.source), nameIndex.get(s.example.destination));
          $("matrix-panel").scrollIntoView({ block: "start" });
        });
        const also = Object.entries(s.rules).filter(([r]) => r !== s.rule).sort((x, y) => y[1] - x[1]);
        const rule = el("td", null, el("code", null, s.rule));
        if (also.length) {
          const shownRules = also.slice(0, 3).map(([r, n]) => `${r} (${n})`).join(", ");
          rule.append(el("div", "also", `also ${shownRules}${also.length > 3 ? `, and ${also.length - 3} more` : ""}`));
        }
        body.append(el("tr", null, el("td", "num", `D${s.domains[0] + 1} \u2194 D${s.domains[1] + 1}`), rule,
          el("td", "num", `${s.pairs} of ${s.total}`), el("td", null, ex)));
      }
      const head = el("tr", null, el("th", null, "Domains"), el("th", null, "Rule that fails the most pairs"),
        el("th", null, "Pairs"), el("th", null, "Example (click to open)"));
      return el("table", "seps", el("thead", null, head), body);
    });
  }

  function showPlaceholder() {
    $("details").replaceChildren(el("h2", null, "Pair details"),
      el("p", "empty", "Click a cell (or focus the grid and use the arrow keys) to see the move's verdict, its " +
        "counts and its findings, with the YAML location each one points at."));
  }

  buildHead();
  buildFilters();
  buildPicker();
  buildGrid();
  buildDomains();
  showPlaceholder();
  $("grid").addEventListener("keydown", onKey);
})();
