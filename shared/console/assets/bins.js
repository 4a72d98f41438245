// Histogram bins, as GET /v1/rules/preview/{id} returns them: dense, equal
// width, each {from, before, after} (counts of leads whose score is in
// [from, from + width)).

// coarsen merges neighbouring bins until there are at most maxBins, so a
// wide score range still draws as a readable chart. Counts are summed, so
// the totals are unchanged.
export function coarsen(bins, width, maxBins) {
  if (bins.length <= maxBins) return { bins, width };
  const k = Math.ceil(bins.length / maxBins);
  const out = [];
  for (let i = 0; i < bins.length; i += k) {
    const group = bins.slice(i, i + k);
    out.push({
      from: group[0].from,
      before: group.reduce((t, b) => t + b.before, 0),
      after: group.reduce((t, b) => t + b.after, 0),
    });
  }
  return { bins: out, width: width * k };
}

// niceMax is the smallest 1, 2 or 5 times a power of ten at or above v:
// the top of a chart's axis.
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
