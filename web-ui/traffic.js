// Traffic: what flows now. Reads GET /v1/traffic (the last minutes, in columns) and
// /readyz every 2 s while the page is shown, and plots per route requests per second,
// errors by class and p50 / p99 latency, streams and waiters, consumer lag and the Kafka
// clients' health, with the revisions applied marked on every time axis.
import { api, loadConfig, state } from './api.js';
import { latest, plot } from './chart.js';
import { h } from './dom.js';
import { allRoutes } from './model.js';

const REFRESH_MS = 2000;
let timer = null;

async function trafficView(show) {
  await loadConfig();
  clearInterval(timer);
  const draw = async () => {
    if (!location.hash.startsWith('#/traffic')) { clearInterval(timer); return; }
    // The configuration too: route names, and the live revision in the header.
    const [traffic, ready] = await Promise.all([api('GET', '/v1/traffic'), api('GET', '/readyz'), loadConfig()]);
    show(...page(traffic.json ?? {}, ready));
  };
  await draw();
  timer = setInterval(() => { draw().catch(() => {}); }, REFRESH_MS);
}

function page(t, ready) {
  const times = t.times ?? [];
  const marks = t.revisions ?? [];
  const routes = t.routes ?? [];
  const paths = new Map(allRoutes(state.config ?? {}).map((r) => [`${r.binding}/${r.index}`, `${r.method} ${r.path}`]));
  const readyNow = ready.status === 200;
  return [
    h('h1', {}, 'Traffic'),
    h('p', { class: 'muted' }, `The last ${span(times.length * (t.interval_seconds ?? 2))}, one point every ${t.interval_seconds ?? 2} s; dashed lines are revisions applied. Updates live.`),
    h('div', { class: 'panel' }, h('dl', { class: 'kv' },
      h('dt', {}, 'Kafka'), h('dd', {}, h('span', { class: `badge ${readyNow ? 'ok' : 'bad'}` }, readyNow ? 'ready' : 'not ready'),
        readyNow ? '' : ` ${ready.json?.message ?? ''}`),
      h('dt', {}, 'Connections'), h('dd', {}, String(latest(t.connections ?? []))),
      h('dt', {}, 'SSE streams'), h('dd', {}, String(latest(t.sse_streams ?? []))),
      h('dt', {}, 'Long-polls waiting'), h('dd', {}, `${latest(t.fetch_waiters ?? [])} fetch, ${latest(t.reply_waiters ?? [])} reply`))),
    h('div', { class: 'plots' },
      figure('Connections', plot('Connections', times, [{ name: 'open', values: t.connections ?? [] }], marks)),
      figure('SSE streams', plot('SSE streams', times, [{ name: 'open', values: t.sse_streams ?? [] }], marks)),
      figure('Waiters', plot('Waiters', times, [{ name: 'fetch', values: t.fetch_waiters ?? [] }, { name: 'reply', values: t.reply_waiters ?? [] }], marks))),
    h('h2', {}, 'Routes'),
    h('p', { class: 'legend muted' }, 'Lines: ', h('span', { class: 'key-0' }, '■ requests, client errors, p50'), ' ',
      h('span', { class: 'key-1' }, '■ Kafka errors, p99'), ' ', h('span', { class: 'key-2' }, '■ gateway errors')),
    routes.length
      ? h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Traffic by route' },
        h('thead', {}, h('tr', {}, ['Route', 'Requests / s', 'Errors / s (client, Kafka, gateway)', 'Latency ms (p50, p99)'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, routes.map((r) => routeRow(r, times, marks, paths)))))
      : h('p', { class: 'muted' }, 'No requests in the window yet.'),
    h('h2', {}, 'Topics'),
    (t.topics ?? []).length
      ? h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Consumer lag' },
        h('thead', {}, h('tr', {}, ['Topic', 'Consumer', 'Lag'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, t.topics.map((topic) => h('tr', {}, h('td', { class: 'mono' }, topic.topic), h('td', {}, topic.purpose),
          h('td', {}, plot(`Lag of ${topic.topic}`, times, [{ name: 'records', values: topic.lag }], marks)))))))
      : h('p', { class: 'muted' }, 'No shared consumer has reported yet.'),
    h('h2', {}, 'Kafka clients'),
    (t.kafka_clients_replaced ?? []).length
      ? h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Kafka clients replaced' },
        h('thead', {}, h('tr', {}, ['Cluster', 'Client', 'Reason', 'Replaced in the window'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, t.kafka_clients_replaced.map((c) => h('tr', {}, h('td', {}, c.cluster), h('td', {}, c.client), h('td', {}, c.reason),
          h('td', {}, plot(`${c.client} of ${c.cluster} replaced`, times, [{ name: 'replaced', values: c.count }], marks)))))))
      : h('p', { class: 'muted' }, 'No Kafka client was replaced in the window.'),
  ];
}

/** `seconds` as a person says it. */
function span(seconds) {
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} minutes`;
}

function figure(caption, chart) {
  return h('figure', { class: 'panel plot-card' }, h('figcaption', {}, caption), chart);
}

function routeRow(r, times, marks, paths) {
  const name = r.route === null ? `${r.binding} (no route matched)` : `${r.binding} #${r.route}`;
  const where = r.route === null ? '' : paths.get(`${r.binding}/${r.route}`) ?? '';
  const errors = [r.client_errors_per_second, r.kafka_errors_per_second, r.gateway_errors_per_second];
  // A route whose last answers in the window included errors is marked.
  const failing = errors.some((values) => Number(latest(values)) > 0);
  return h('tr', { class: failing ? 'failing' : undefined },
    h('td', {}, h('div', {}, name, ' ', h('span', { class: `badge ${r.kind}` }, r.kind)), h('div', { class: 'mono muted' }, where)),
    h('td', {}, plot(`${name} requests per second`, times, [{ name: 'requests', values: r.requests_per_second }], marks)),
    h('td', {}, plot(`${name} errors per second`, times, [
      { name: 'client', values: r.client_errors_per_second },
      { name: 'Kafka', values: r.kafka_errors_per_second },
      { name: 'gateway', values: r.gateway_errors_per_second },
    ], marks)),
    h('td', {}, plot(`${name} latency`, times, [{ name: 'p50', values: r.p50_ms }, { name: 'p99', values: r.p99_ms }], marks, ' ms')));
}

export { trafficView };
