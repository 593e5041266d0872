// History: revisions, their differences, rollback.
import { api, loadConfig, state } from './api.js';
import { diffView, h, pretty, toast, when } from './dom.js';

async function historyView(show, selected) {
  await loadConfig();
  const list = await api('GET', '/v1/revisions');
  const revisions = list.json?.revisions ?? [];
  const detail = h('section', { 'aria-label': 'Revision' });
  const dialog = h('dialog', { 'aria-labelledby': 'rollback-title' });
  document.body.append(dialog);
  window.addEventListener('hashchange', () => dialog.remove(), { once: true });
  const rollback = (number) => {
    const confirm = h('button', { type: 'button', class: 'danger' }, `Roll back to revision ${number}`);
    const cancel = h('button', { type: 'button' }, 'Cancel');
    dialog.replaceChildren(h('h2', { id: 'rollback-title' }, `Roll back to revision ${number}?`),
      h('p', {}, `This makes a new revision equal to revision ${number} and applies it now. Revision ${state.revision} stays in the history.`),
      h('div', { class: 'actions' }, confirm, cancel));
    cancel.addEventListener('click', () => dialog.close());
    confirm.addEventListener('click', async () => {
      const answer = await api('POST', `/v1/revisions/${number}/rollback`, { headers: { 'if-match': `"${state.revision}"`, 'x-sluice-author': 'web-ui' } });
      dialog.close();
      if (answer.status === 200) {
        toast(answer.json?.unchanged ? 'Already the live configuration.' : `Rolled back: revision ${answer.json?.revision} equals revision ${number}.`);
        location.hash = '#/history';
        await historyView(show);
      } else {
        detail.replaceChildren(h('div', { class: 'errors', role: 'alert' }, answer.json?.message ?? `HTTP ${answer.status}`));
      }
    });
    dialog.showModal();
    cancel.focus();
  };
  const open = async (number) => {
    const [revision, previous] = await Promise.all([api('GET', `/v1/revisions/${number}`), number > 1 ? api('GET', `/v1/revisions/${number - 1}`) : null]);
    const before = previous?.status === 200 ? pretty(previous.json) : '';
    detail.replaceChildren(h('h2', {}, `Revision ${number}`, previous?.status === 200 ? ` against ${number - 1}` : ''),
      revision.status === 200 ? diffView(before, pretty(revision.json)) : h('p', { class: 'muted' }, 'No longer kept.'));
  };
  show(h('h1', {}, 'History'),
    h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Revisions' },
      h('thead', {}, h('tr', {}, ['Revision', 'When', 'Author', 'Message', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, revisions.map((r) => {
        const diffButton = h('button', { type: 'button', 'aria-label': `Show the changes of revision ${r.number}` }, 'Changes');
        diffButton.addEventListener('click', () => open(r.number));
        const back = r.number === state.revision ? h('span', { class: 'badge ok' }, 'live')
          : h('button', { type: 'button', class: 'danger', 'aria-label': `Roll back to revision ${r.number}` }, 'Roll back');
        if (back.tagName === 'BUTTON') back.addEventListener('click', () => rollback(r.number));
        return h('tr', {}, h('td', {}, String(r.number)), h('td', {}, when(r.created_ms)), h('td', {}, r.author),
          h('td', {}, r.message || h('span', { class: 'muted' }, '—')), h('td', {}, diffButton, ' ', back));
      })))),
    detail);
  if (selected) await open(selected);
}

export { historyView };
