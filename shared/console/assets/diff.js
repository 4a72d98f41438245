// diffLines compares two texts line by line with a longest common
// subsequence table: O(n*m) time and memory, fine for rules documents of a
// few hundred lines. It returns [{op, text}] where op is ' ' (in both), '-'
// (only in a) or '+' (only in b), in reading order.

export function diffLines(a, b) {
  const x = splitLines(a), y = splitLines(b);
  const n = x.length, m = y.length;
  // lcs[i][j] is the LCS length of x[i:] and y[j:].
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push({ op: ' ', text: x[i] }); i++; j++; }
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: '-', text: x[i++] });
    else out.push({ op: '+', text: y[j++] });
  }
  while (i < n) out.push({ op: '-', text: x[i++] });
  while (j < m) out.push({ op: '+', text: y[j++] });
  return out;
}

function splitLines(t) {
  if (t === '') return [];
  const ls = t.split('\n');
  if (ls[ls.length - 1] === '') ls.pop();
  return ls;
}

// hunks keeps the changed lines with `context` unchanged lines around them;
// a run of unchanged lines longer than that becomes one {op: '…', skipped}.
export function hunks(diff, context = 3) {
  const keep = diff.map(() => false);
  diff.forEach((d, k) => {
    if (d.op === ' ') return;
    for (let c = Math.max(0, k - context); c <= Math.min(diff.length - 1, k + context); c++) keep[c] = true;
  });
  const out = [];
  let skipped = 0;
  diff.forEach((d, k) => {
    if (keep[k]) {
      if (skipped) out.push({ op: '…', skipped });
      skipped = 0;
      out.push(d);
    } else skipped++;
  });
  if (skipped) out.push({ op: '…', skipped });
  return out;
}
