// Small time-series plots as inline SVG, drawn with the DOM (no markup strings, no inline
// styles: the page's Content-Security-Policy allows neither). `lines` is the pure part.

const SVG = 'http://www.w3.org/2000/svg';

/**
 * The SVG path of each series over the time axis `times` (ms), in a `width` × `height` box
 * with the y axis from 0 to the largest value; a `null` value breaks its line.
 * Returns { paths: [d...], max, x(t) }.
 */
function lines(times, series, width, height) {
  const first = times[0] ?? 0;
  const last = times[times.length - 1] ?? first + 1;
  const span = Math.max(last - first, 1);
  let max = 0;
  for (const values of series) for (const v of values) if (typeof v === 'number' && v > max) max = v;
  const top = max > 0 ? max * 1.1 : 1;
  const x = (t) => Math.round(((t - first) / span) * width * 10) / 10;
  const y = (v) => Math.round((height - (v / top) * height) * 10) / 10;
  const paths = series.map((values) => {
    let d = '';
    let open = false;
    values.forEach((v, i) => {
      if (typeof v !== 'number') { open = false; return; }
      d += `${open ? 'L' : 'M'}${x(times[i])},${y(v)} `;
      open = true;
    });
    return d.trim();
  });
  return { paths, max, x };
}

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

const COLORS = ['#1f6feb', '#c62828', '#9a6700', '#6b21a8'];

/**
 * A plot: `series` is [{ name, values }], `marks` the revisions [{ at, revision }] drawn
 * as dashed vertical lines; `label` names it for assistive technology.
 */
function plot(label, times, series, marks = [], unit = '') {
  const [width, height] = [220, 48];
  const { paths, max, x } = lines(times, series.map((s) => s.values), width, height);
  const shown = `${label}: ${series.map((s) => `${s.name} ${latest(s.values)}${unit}`).join(', ')}`;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': shown, class: 'plot' },
    svg('title', {}, shown),
    svg('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, stroke: '#dde2e8' }));
  const first = times[0] ?? 0;
  for (const mark of marks) {
    if (mark.at < first) continue;
    chart.append(svg('line', { x1: x(mark.at), y1: 0, x2: x(mark.at), y2: height, stroke: '#5d6b7a', 'stroke-dasharray': '3 3', class: 'revision' },
      svg('title', {}, `revision ${mark.revision}`)));
  }
  paths.forEach((d, i) => {
    if (d) chart.append(svg('path', { d, fill: 'none', stroke: COLORS[i % COLORS.length], 'stroke-width': 1.5, class: 'series' }));
  });
  chart.append(svg('text', { x: 2, y: 10, 'font-size': 9, fill: '#5d6b7a' }, `${round(max)}${unit}`));
  return chart;
}

/** The last number of `values`, rounded, or '—'. */
function latest(values) {
  for (let i = values.length - 1; i >= 0; i -= 1) if (typeof values[i] === 'number') return round(values[i]);
  return '—';
}

function round(v) {
  return v >= 100 ? String(Math.round(v)) : String(Math.round(v * 100) / 100);
}

export { latest, lines, plot };
