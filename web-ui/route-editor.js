// The route editor: a form, JSON or YAML; review (dry run), apply, and the 412 cycle.
import { api, enc, loadConfig } from './api.js';
import { diffView, field, h, pretty, select, toast } from './dom.js';
import { defaultExit, fieldOf, pointerPart } from './model.js';
import { route } from './nav.js';
import { tryIt } from './try-it.js';

const HTTP_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'GET'];

async function routeEditor(show, bindingName, index) {
  const config = await loadConfig();
  const candidates = Object.entries(config.bindings ?? {}).filter(([, b]) => b.type === 'http-kafka' || b.type === 'sse-kafka');
  if (!candidates.length) {
    show(h('h1', {}, 'New route'), h('div', { class: 'notice' }, 'This configuration has no http-kafka or sse-kafka binding to add a route to.'));
    return;
  }
  const creating = index === null;
  let name = bindingName ?? candidates[0][0];
  let loaded = await api('GET', `/v1/bindings/${enc(name)}`);
  if (loaded.status !== 200) {
    show(h('h1', {}, 'Route'), h('div', { class: 'errors', role: 'alert' }, loaded.json?.message ?? `No binding ${name}`));
    return;
  }
  let original = loaded.json;
  let etag = loaded.etag;
  let position = creating ? (original.routes ?? []).length : index;
  const existing = creating ? null : original.routes?.[index];
  if (!creating && !existing) {
    show(h('h1', {}, 'Route'), h('div', { class: 'errors', role: 'alert' }, `${name} has no route ${index}.`));
    return;
  }
  const sse = () => original.type === 'sse-kafka';
  const start = existing ?? {};
  const condition = start.when?.[0] ?? {};
  const withs = start.with ?? {};
  const guardEntry = Object.entries(start.guarded ?? {})[0];
  const guards = Object.keys(config.guards ?? {});

  const fields = {
    binding: field('Binding', select(candidates.map(([n, b]) => [n, `${n} (${b.type})`]), name)),
    method: field('Method', select(HTTP_METHODS.map((m) => [m, m]), condition.method ?? 'POST')),
    path: field('Path', h('input', { value: condition.path ?? '', placeholder: '/items/{id}', required: true }), 'Parameters in braces: /items/{id}'),
    capability: field('Capability', select([['produce', 'produce'], ['fetch', 'fetch']], withs.capability ?? 'produce')),
    topic: field('Topic', h('input', { value: withs.topic ?? '', required: true })),
    key: field('Key', h('input', { value: withs.key ?? '', placeholder: '${params.id}' }), 'Optional: the record key template.'),
    reply: field('Reply topic', h('input', { value: withs['reply-to'] ?? '' }), 'Optional: makes the route request-response.'),
    guard: field('Guard', select([['', 'None (open)'], ...guards.map((g) => [g, g])], guardEntry?.[0] ?? '')),
    roles: field('Required roles', h('input', { value: (guardEntry?.[1] ?? []).join(', '), placeholder: 'read:items, write:items' }), 'Comma-separated; empty means any valid token.'),
  };
  fields.binding.input.disabled = !creating;

  /** The route as the form describes it, over `base` (unknown settings are kept). */
  const routeFromForm = (base) => {
    const route = structuredClone(base ?? {});
    const when = structuredClone(route.when?.[0] ?? {});
    when.path = fields.path.input.value.trim();
    if (sse()) delete when.method;
    else when.method = fields.method.input.value;
    route.when = [when, ...(route.when ?? []).slice(1)];
    if (!route.exit) route.exit = defaultExit(config, original);
    const w = structuredClone(route.with ?? {});
    w.topic = fields.topic.input.value.trim();
    if (!sse()) {
      w.capability = fields.capability.input.value;
      const key = fields.key.input.value.trim();
      if (key) w.key = key; else delete w.key;
      const reply = fields.reply.input.value.trim();
      if (reply) w['reply-to'] = reply; else delete w['reply-to'];
    }
    route.with = w;
    const guard = fields.guard.input.value;
    const roles = fields.roles.input.value.split(',').map((r) => r.trim()).filter(Boolean);
    if (guard) route.guarded = { [guard]: roles }; else delete route.guarded;
    return route;
  };
  /** `binding` with the form's route at the edited position. */
  const bindingFromForm = (binding) => {
    const next = structuredClone(binding);
    next.routes = [...(next.routes ?? [])];
    const base = creating ? null : next.routes[position];
    next.routes[position] = routeFromForm(base);
    return next;
  };

  const raw = h('textarea', { class: 'code', spellcheck: 'false', 'aria-label': `Binding ${name} as JSON` });
  const rawYaml = h('pre', { class: 'answer', hidden: true, 'aria-label': `Binding ${name} as YAML` });
  const rawError = h('div', { class: 'field-error', role: 'alert' });
  let mode = 'form';
  const formPanel = h('div', {},
    h('div', { class: 'row' }, fields.binding.wrap, sse() ? null : fields.method.wrap, fields.path.wrap),
    h('div', { class: 'row' }, sse() ? null : fields.capability.wrap, fields.topic.wrap, sse() ? null : fields.key.wrap),
    sse() ? null : h('div', { class: 'row' }, fields.reply.wrap),
    h('div', { class: 'row' }, fields.guard.wrap, fields.roles.wrap));
  const jsonTab = h('button', { type: 'button', role: 'tab', 'aria-selected': 'false' }, 'JSON');
  const yamlTab = h('button', { type: 'button', role: 'tab', 'aria-selected': 'false' }, 'YAML (view)');
  const formTab = h('button', { type: 'button', role: 'tab', 'aria-selected': 'true' }, 'Form');
  const rawPanel = h('div', { hidden: true }, h('p', { class: 'muted' }, `The whole binding ${name}. Edit the JSON, or view it as YAML.`), raw, rawYaml, rawError);
  const selectTab = async (which) => {
    if (which !== 'form' && mode === 'form') raw.value = pretty(bindingFromForm(original));
    mode = which === 'yaml' ? 'json' : which;
    formTab.setAttribute('aria-selected', String(which === 'form'));
    jsonTab.setAttribute('aria-selected', String(which === 'json'));
    yamlTab.setAttribute('aria-selected', String(which === 'yaml'));
    formPanel.hidden = which !== 'form';
    rawPanel.hidden = which === 'form';
    raw.hidden = which === 'yaml';
    rawYaml.hidden = which !== 'yaml';
    if (which === 'yaml') {
      const yaml = await api('GET', `/v1/bindings/${enc(name)}`, { headers: { accept: 'application/yaml' }, raw: true });
      rawYaml.textContent = yaml.text;
    }
  };
  formTab.addEventListener('click', () => selectTab('form'));
  jsonTab.addEventListener('click', () => selectTab('json'));
  yamlTab.addEventListener('click', () => selectTab('yaml'));

  const review = h('section', { 'aria-label': 'Review' });
  const applyButton = h('button', { type: 'button', class: 'primary', disabled: true }, 'Apply');
  const reviewButton = h('button', { type: 'button' }, 'Review change');
  let candidate = null;

  const clearErrors = () => {
    for (const f of Object.values(fields)) { f.error.textContent = ''; f.input.removeAttribute('aria-invalid'); }
    rawError.textContent = '';
  };
  const candidateBinding = () => {
    if (mode === 'form') return bindingFromForm(original);
    try { return JSON.parse(raw.value); } catch (error) {
      rawError.textContent = `Not JSON: ${error.message}`;
      return null;
    }
  };
  const showErrors = (errors) => {
    const prefix = `/bindings/${pointerPart(name)}/routes/${position}`;
    const general = [];
    for (const e of errors) {
      const key = mode === 'form' ? fieldOf(e.pointer, prefix) : null;
      if (key && fields[key]) {
        fields[key].error.textContent = e.message;
        fields[key].input.setAttribute('aria-invalid', 'true');
      } else {
        general.push(e);
      }
    }
    review.replaceChildren(h('div', { class: 'errors', role: 'alert' },
      h('strong', {}, `The change is not valid (${errors.length} problem${errors.length === 1 ? '' : 's'}). Nothing was changed.`),
      general.length ? h('ul', {}, general.map((e) => h('li', {}, h('code', {}, e.pointer || '/'), ' ', e.message))) : null));
    const first = Object.values(fields).find((f) => f.input.getAttribute('aria-invalid') === 'true');
    first?.input.focus();
  };

  const conflict = async (mine) => {
    const latest = await api('GET', `/v1/bindings/${enc(name)}`);
    if (latest.status !== 200) {
      review.replaceChildren(h('div', { class: 'errors', role: 'alert' }, `The binding ${name} was removed meanwhile.`));
      return;
    }
    await loadConfig();
    // What re-applying would do: the form's edit of this route over the newer version.
    const rebased = mode === 'form' ? bindingFromForm(latest.json) : mine;
    const reapply = h('button', { type: 'button', class: 'primary' }, 'Re-apply my change on the newer version');
    const discard = h('button', { type: 'button' }, 'Discard my change');
    review.replaceChildren(h('div', { class: 'notice', role: 'alert' },
      h('strong', {}, 'Conflict: someone changed this binding after you opened it.'),
      h('p', {}, mode === 'form'
        ? 'Your change was not applied. Below, the newer version, and what your edit of this route does on top of it. Re-apply sends that for review first.'
        : 'Your change was not applied. Below, the newer version, and what your JSON would change in it. Re-apply sends your JSON for review against the newer version.'),
      h('div', { class: 'split' },
        h('div', {}, h('h2', {}, 'Newer version (live)'), h('pre', { class: 'answer', 'aria-label': 'Newer version' }, pretty(latest.json))),
        h('div', {}, h('h2', {}, 'Newer version → with your change'), diffView(pretty(latest.json), pretty(rebased)))),
      h('div', { class: 'actions' }, reapply, discard)));
    reapply.addEventListener('click', async () => {
      original = latest.json;
      etag = latest.etag;
      if (creating) position = (original.routes ?? []).length;
      if (mode !== 'form') raw.value = pretty(mode === 'json' ? mine : bindingFromForm(original));
      await doReview();
    });
    discard.addEventListener('click', () => route());
  };

  const doReview = async () => {
    clearErrors();
    applyButton.disabled = true;
    candidate = candidateBinding();
    if (!candidate) return;
    const answer = await api('PUT', `/v1/bindings/${enc(name)}?dry_run=true`, { body: candidate, headers: etag ? { 'if-match': etag } : {} });
    if (answer.status === 200) {
      review.replaceChildren(h('div', { class: 'success' }, h('strong', {}, 'Valid.'), ' Review the difference, then apply.'),
        diffView(pretty(original), pretty(candidate)));
      applyButton.disabled = false;
      applyButton.focus();
    } else if (answer.status === 422) {
      showErrors(answer.json?.errors ?? [{ pointer: '', message: answer.json?.message ?? 'invalid' }]);
    } else if (answer.status === 412) {
      await conflict(candidate);
    } else {
      review.replaceChildren(h('div', { class: 'errors', role: 'alert' }, answer.json?.message ?? `HTTP ${answer.status}`));
    }
  };
  const doApply = async () => {
    applyButton.disabled = true;
    const answer = await api('PUT', `/v1/bindings/${enc(name)}`, {
      body: candidate,
      headers: { 'if-match': etag, 'x-sluice-author': 'web-ui', 'x-sluice-message': `${creating ? 'add' : 'edit'} route ${position} of ${name}` },
    });
    if (answer.status === 200) {
      const revision = answer.json?.revision;
      const message = answer.json?.unchanged ? 'Nothing changed.' : `Applied revision ${revision}.`;
      if (creating) location.hash = `#/route/${enc(name)}/${position}`;
      else await route();
      toast(message);
    } else if (answer.status === 412) {
      await conflict(candidate);
    } else if (answer.status === 422 && answer.json?.errors) {
      showErrors(answer.json.errors);
    } else {
      review.replaceChildren(h('div', { class: 'errors', role: 'alert' }, answer.json?.message ?? `HTTP ${answer.status}`));
    }
  };
  reviewButton.addEventListener('click', doReview);
  applyButton.addEventListener('click', doApply);
  for (const f of Object.values(fields)) f.input.addEventListener('input', () => { applyButton.disabled = true; });
  fields.binding.input.addEventListener('change', () => routeEditor(show, fields.binding.input.value, null));

  const form = h('form', { class: 'panel', 'aria-label': 'Route' },
    h('div', { class: 'tabs', role: 'tablist' }, formTab, jsonTab, yamlTab),
    formPanel, rawPanel,
    h('div', { class: 'actions' }, reviewButton, applyButton, h('a', { href: '#/routes', class: 'button' }, 'Cancel')),
    review);
  form.addEventListener('submit', (event) => { event.preventDefault(); doReview(); });
  show(
    h('h1', {}, creating ? 'New route' : `Route ${position} of `, creating ? null : h('code', {}, name)),
    form,
    creating ? null : tryIt(config, original, existing));
}

export { routeEditor };
