// Status: live revision, last refusal, data planes.
import { api, loadConfig } from './api.js';
import { h, when } from './dom.js';

async function statusView(show) {
  await loadConfig();
  const status = (await api('GET', '/v1/status')).json ?? {};
  const planes = status.data_planes ?? [];
  show(h('h1', {}, 'Status'),
    h('div', { class: 'panel' }, h('dl', { class: 'kv' },
      h('dt', {}, 'Live revision'), h('dd', {}, String(status.live_revision ?? '—')),
      h('dt', {}, 'Applied'), h('dd', {}, when(status.applied_ms)),
      h('dt', {}, 'Last refused change'), h('dd', {}, status.last_rejected ? `${when(status.last_rejected.time_ms)}: ${status.last_rejected.reason}` : 'none'))),
    h('h2', {}, 'Data planes'),
    planes.length
      ? h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Data planes' },
        h('thead', {}, h('tr', {}, ['Id', 'Revision', 'Connected', 'Last seen', 'Last error'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, planes.map((p) => h('tr', {}, h('td', {}, p.id), h('td', {}, String(p.applied_revision ?? '—')),
          h('td', {}, h('span', { class: `badge ${p.connected ? 'ok' : 'bad'}` }, p.connected ? 'yes' : 'no')),
          h('td', {}, when(p.last_seen_ms)), h('td', {}, p.last_error ?? ''))))))
      : h('p', { class: 'muted' }, 'No separate data planes follow this control plane (sluice dataplane --control-plane …).'));
}

export { statusView };
