// Guards: the list and the editor.
import { api, enc, loadConfig } from './api.js';
import { diffView, field, h, pretty, toast } from './dom.js';


async function guardsView(show) {
  const config = await loadConfig();
  const guards = Object.entries(config.guards ?? {});
  show(h('h1', {}, 'Guards'),
    guards.length
      ? h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Guards' },
        h('thead', {}, h('tr', {}, ['Name', 'Type', 'Issuer', 'Audience', 'Keys', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, guards.map(([name, g]) => h('tr', {},
          h('td', {}, name), h('td', {}, g.type), h('td', { class: 'mono' }, g.options?.issuer ?? ''),
          h('td', { class: 'mono' }, g.options?.audience ?? ''),
          h('td', { class: 'mono' }, Array.isArray(g.options?.keys) ? `${g.options.keys.length} inline` : String(g.options?.keys ?? '')),
          h('td', {}, h('a', { href: `#/guard/${enc(name)}`, 'aria-label': `Edit guard ${name}` }, 'Edit')))))))
      : h('p', { class: 'muted' }, 'No guards: every route is open.'));
}

async function guardEditor(show, name) {
  await loadConfig();
  const loaded = await api('GET', `/v1/guards/${enc(name)}`);
  if (loaded.status !== 200) {
    show(h('h1', {}, 'Guard'), h('div', { class: 'errors', role: 'alert' }, loaded.json?.message ?? `No guard ${name}`));
    return;
  }
  let original = loaded.json;
  let etag = loaded.etag;
  const issuer = field('Issuer', h('input', { value: original.options?.issuer ?? '' }));
  const audience = field('Audience', h('input', { value: original.options?.audience ?? '' }));
  const challenge = field('Challenge (seconds before expiry)', h('input', { type: 'number', min: 0, value: original.options?.challenge ?? '' }));
  const raw = h('textarea', { class: 'code', spellcheck: 'false', 'aria-label': `Guard ${name} as JSON` });
  raw.value = pretty(original);
  const review = h('div');
  const apply = h('button', { type: 'button', class: 'primary', disabled: true }, 'Apply');
  let candidate = null;
  const fromForm = () => {
    const next = structuredClone(original);
    next.options = { ...(next.options ?? {}) };
    for (const [key, f] of [['issuer', issuer], ['audience', audience]]) {
      const value = f.input.value.trim();
      if (value) next.options[key] = value; else delete next.options[key];
    }
    if (challenge.input.value !== '') next.options.challenge = Number(challenge.input.value); else delete next.options.challenge;
    return next;
  };
  for (const f of [issuer, audience, challenge]) f.input.addEventListener('input', () => { raw.value = pretty(fromForm()); apply.disabled = true; });
  raw.addEventListener('input', () => { apply.disabled = true; });
  const yaml = h('pre', { class: 'answer', hidden: true, 'aria-label': `Guard ${name} as YAML` });
  const yamlButton = h('button', { type: 'button', 'aria-pressed': 'false' }, 'YAML (view)');
  yamlButton.addEventListener('click', async () => {
    const showing = yaml.hidden;
    if (showing) yaml.textContent = (await api('GET', `/v1/guards/${enc(name)}`, { headers: { accept: 'application/yaml' }, raw: true })).text;
    yaml.hidden = !showing;
    yamlButton.setAttribute('aria-pressed', String(showing));
  });
  const reviewButton = h('button', { type: 'button' }, 'Review change');
  reviewButton.addEventListener('click', async () => {
    try { candidate = JSON.parse(raw.value); } catch (error) {
      review.replaceChildren(h('div', { class: 'errors', role: 'alert' }, `Not JSON: ${error.message}`));
      return;
    }
    const answer = await api('PUT', `/v1/guards/${enc(name)}?dry_run=true`, { body: candidate, headers: { 'if-match': etag } });
    if (answer.status === 200) {
      review.replaceChildren(h('div', { class: 'success' }, 'Valid. Review, then apply.'), diffView(pretty(original), pretty(candidate)));
      apply.disabled = false;
    } else if (answer.status === 412) {
      const latest = await api('GET', `/v1/guards/${enc(name)}`);
      review.replaceChildren(h('div', { class: 'notice', role: 'alert' }, 'Conflict: this guard changed after you opened it. The newer version is now in the editor; your text is below.',
        h('pre', { class: 'answer' }, pretty(candidate))));
      original = latest.json; etag = latest.etag; raw.value = pretty(original);
    } else {
      const errors = answer.json?.errors ?? [{ pointer: '', message: answer.json?.message ?? `HTTP ${answer.status}` }];
      review.replaceChildren(h('div', { class: 'errors', role: 'alert' }, h('strong', {}, 'Not valid; nothing was changed.'),
        h('ul', {}, errors.map((e) => h('li', {}, h('code', {}, e.pointer || '/'), ' ', e.message)))));
    }
  });
  apply.addEventListener('click', async () => {
    const answer = await api('PUT', `/v1/guards/${enc(name)}`, { body: candidate, headers: { 'if-match': etag, 'x-sluice-author': 'web-ui' } });
    // The toast comes once the editor shows the applied guard, so nothing typed meanwhile is lost.
    if (answer.status === 200) { await guardEditor(show, name); toast(`Applied revision ${answer.json?.revision}.`); }
    else review.replaceChildren(h('div', { class: 'errors', role: 'alert' }, answer.json?.message ?? `HTTP ${answer.status}`));
  });
  show(h('h1', {}, 'Guard ', h('code', {}, name)),
    h('div', { class: 'panel' }, h('div', { class: 'row' }, issuer.wrap, audience.wrap, challenge.wrap),
      h('label', { for: 'guard-raw' }, 'The guard as JSON'), Object.assign(raw, { id: 'guard-raw' }), yaml,
      h('div', { class: 'actions' }, reviewButton, apply, yamlButton, h('a', { href: '#/guards', class: 'button' }, 'Cancel')),
      review));
}

export { guardEditor, guardsView };
