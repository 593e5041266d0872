// The routes list: every http-kafka and sse-kafka route, filtered as you type.
import { enc, loadConfig } from './api.js';
import { field, h, select } from './dom.js';
import { allRoutes, catalogs, listeners } from './model.js';

async function routesView(show) {
  const config = await loadConfig();
  const routes = allRoutes(config);
  const search = field('Filter routes', h('input', { type: 'search', placeholder: 'path, topic, binding, guard…' }));
  const kinds = field('Kind', select([['', 'All kinds'], ['produce', 'Produce'], ['request-response', 'Request-response'], ['fetch', 'Fetch'], ['sse', 'SSE']], ''));
  const count = h('p', { class: 'count', 'aria-live': 'polite' });
  const rows = routes.map((r) => {
    const row = h('tr', { dataset: { kind: r.kind } },
      h('td', {}, r.binding, h('span', { class: 'muted' }, ` #${r.index}`)),
      h('td', {}, h('span', { class: `badge ${r.kind}` }, r.kind)),
      h('td', { class: 'mono' }, r.method),
      h('td', { class: 'mono' }, r.path),
      h('td', { class: 'mono' }, r.topic),
      h('td', {}, r.model || h('span', { class: 'muted' }, 'none')),
      h('td', {}, r.guard || h('span', { class: 'muted' }, 'open')),
      h('td', {}, h('a', { href: `#/route/${enc(r.binding)}/${r.index}`, 'aria-label': `Edit ${r.binding} route ${r.index}` }, 'Edit')));
    row.searchText = `${r.binding} ${r.kind} ${r.method} ${r.path} ${r.topic} ${r.model} ${r.guard}`.toLowerCase();
    return row;
  });
  const body = h('tbody', {}, rows);
  let pending = 0;
  const filter = () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      const words = search.input.value.toLowerCase().split(/\s+/).filter(Boolean);
      const kind = kinds.input.value;
      let shown = 0;
      for (const row of rows) {
        const visible = (!kind || row.dataset.kind === kind) && words.every((w) => row.searchText.includes(w));
        row.hidden = !visible;
        if (visible) shown++;
      }
      count.textContent = `Showing ${shown} of ${rows.length} routes`;
    });
  };
  search.input.addEventListener('input', filter);
  kinds.input.addEventListener('change', filter);
  const ports = listeners(config);
  const schemas = catalogs(config);
  show(
    h('h1', {}, 'Routes'),
    h('div', { class: 'toolbar' },
      h('div', { class: 'grow' }, search.wrap),
      h('div', {}, kinds.wrap),
      h('a', { href: '#/new-route', class: 'button primary narrow' }, 'New route')),
    count,
    h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Routes' },
      h('thead', {}, h('tr', {}, ['Binding', 'Kind', 'Method', 'Path', 'Topic', 'Model', 'Guard', ''].map((t) => h('th', { scope: 'col' }, t)))),
      body)),
    h('h2', {}, 'Listeners'),
    ports.length
      ? h('ul', {}, ports.map((l) => h('li', {}, h('code', {}, `${l.host}:${l.port}`), ` → ${l.exit ?? '—'} `, h('span', { class: 'muted' }, `(${l.name})`))))
      : h('p', { class: 'muted' }, 'No tcp listeners.'),
    h('h2', {}, 'Catalogs'),
    schemas.length
      ? h('ul', { 'aria-label': 'Catalogs' }, schemas.map((c) => h('li', {}, h('code', {}, c.name), ` ${c.type} `, h('span', { class: 'muted' }, c.source))))
      : h('p', { class: 'muted' }, 'No catalogs: no route checks its payloads against a schema.'));
  filter();
}

export { routesView };
