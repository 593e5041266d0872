// Line diffs for the review and history views: common prefix and suffix trimmed, then a
// longest-common-subsequence diff of what is left (edits are local, so this stays small);
// past 2,000 x 2,000 lines the middle is shown as removed then added.

const MAX_CELLS = 4_000_000;

/** Lines of `before` and `after` as [{ kind: ' ' | '-' | '+', text }]. */
export function diffLines(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  const out = a.slice(0, start).map((text) => ({ kind: ' ', text }));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  if (midA.length * midB.length > MAX_CELLS) {
    for (const text of midA) out.push({ kind: '-', text });
    for (const text of midB) out.push({ kind: '+', text });
  } else {
    out.push(...lcs(midA, midB));
  }
  for (const text of a.slice(endA)) out.push({ kind: ' ', text });
  return out;
}

function lcs(a, b) {
  const n = a.length;
  const m = b.length;
  // lengths[i][j]: LCS of a[i..] and b[j..], in one flat array.
  const lengths = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i * (m + 1) + j] = a[i] === b[j]
        ? lengths[(i + 1) * (m + 1) + j + 1] + 1
        : Math.max(lengths[(i + 1) * (m + 1) + j], lengths[i * (m + 1) + j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push({ kind: ' ', text: a[i] }); i++; j++; }
    else if (lengths[(i + 1) * (m + 1) + j] >= lengths[i * (m + 1) + j + 1]) { out.push({ kind: '-', text: a[i] }); i++; }
    else { out.push({ kind: '+', text: b[j] }); j++; }
  }
  while (i < n) out.push({ kind: '-', text: a[i++] });
  while (j < m) out.push({ kind: '+', text: b[j++] });
  return out;
}

/** Keeps changed lines with `context` lines around them; long unchanged runs become one gap. */
export function withContext(lines, context = 3) {
  const keep = new Uint8Array(lines.length);
  lines.forEach((line, index) => {
    if (line.kind !== ' ') {
      for (let k = Math.max(0, index - context); k <= Math.min(lines.length - 1, index + context); k++) keep[k] = 1;
    }
  });
  const out = [];
  let skipped = 0;
  lines.forEach((line, index) => {
    if (keep[index]) {
      if (skipped) out.push({ kind: '…', text: `… ${skipped} unchanged line${skipped === 1 ? '' : 's'}` });
      skipped = 0;
      out.push(line);
    } else {
      skipped++;
    }
  });
  if (skipped) out.push({ kind: '…', text: `… ${skipped} unchanged line${skipped === 1 ? '' : 's'}` });
  return out;
}
