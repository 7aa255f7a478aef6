// abi-check matrix report, 1 of 3: the page's data and what the filters and the order make of it; no DOM here.
// The three scripts share their top-level names (classic scripts share one global scope), loaded in order:
// matrix_html_model.js, matrix_html_view.js (drawing), matrix_html_controls.js (what the reader's input does).
"use strict";
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

function decode(f) {
  return {
    rank: f[0], severity: SEV[f[0]], rule: S[f[1]], message: f[2], fix: f[3], reference: S[f[4]],
    path: f[5] < 0 ? null : S[f[5]], line: f[6], column: f[7], fingerprint: f[8],
  };
}
