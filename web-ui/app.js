// The Sluice route editor: a client of the admin API (no private endpoints).
// Every string from the configuration reaches the page as text (text nodes, `value`),
// never as markup.
import { diffLines, withContext } from './diff.js';

const TOKEN_KEY = 'sluice-admin-token';
const view = document.getElementById('view');
const state = { token: sessionStorage.getItem(TOKEN_KEY), config: null, revision: null };

// ---------------------------------------------------------------- DOM

/** An element: `attrs` are properties/attributes (`on*` are listeners); children are nodes or text. */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (name === 'value') element.value = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let fieldIds = 0;
/** A labelled input (or select / textarea): { wrap, input, error }. */
function field(label, control, hint) {
  const id = `f${++fieldIds}`;
  control.id = id;
  const error = h('div', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  control.setAttribute('aria-describedby', `${id}-error`);
  const wrap = h('div', {}, h('label', { for: id }, label), control, hint ? h('div', { class: 'muted' }, hint) : null, error);
  return { wrap, input: control, error };
}

function select(options, value) {
  return h('select', {}, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

function toast(message) {
  const box = document.getElementById('toast');
  const note = h('div', {}, message);
  box.append(note);
  setTimeout(() => note.remove(), 5000);
}

function showNow(...children) {
  view.replaceChildren();
  append(view, children);
}

function diffView(before, after) {
  const lines = withContext(diffLines(before, after));
  if (!lines.some((l) => l.kind === '+' || l.kind === '-')) {
    return h('p', { class: 'muted' }, 'No differences.');
  }
  return h('div', { class: 'diff', role: 'region', 'aria-label': 'Differences' },
    lines.map((l) => h('div', { class: l.kind === '+' ? 'add' : l.kind === '-' ? 'del' : l.kind === '…' ? 'gap' : '' },
      l.kind === '…' ? l.text : `${l.kind} ${l.text}`)));
}

const pretty = (value) => JSON.stringify(value, null, 2);
const when = (ms) => (ms ? new Date(ms).toLocaleString() : '—');

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, { body, headers = {}, raw = false } = {}) {
  const init = { method, headers: { ...headers }, cache: 'no-store' };
  if (state.token) init.headers.authorization = `Bearer ${state.token}`;
  if (body !== undefined) {
    init.headers['content-type'] = init.headers['content-type'] ?? 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let json = null;
  if (!raw && text && (response.headers.get('content-type') ?? '').includes('json')) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (response.status === 401) {
    signOut('The admin token was refused. Sign in again.');
    throw new ApiError(401, json);
  }
  return { status: response.status, etag: response.headers.get('etag'), json, text };
}

const enc = (name) => encodeURIComponent(name);

async function loadConfig() {
  const answer = await api('GET', '/v1/config');
  if (answer.status !== 200) throw new ApiError(answer.status, answer.json);
  state.config = answer.json;
  state.revision = Number((answer.etag ?? '').replaceAll('"', '')) || null;
  document.getElementById('live').textContent = state.revision ? `live revision ${state.revision}` : '';
  return state.config;
}

// ---------------------------------------------------------------- sign in

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  document.querySelector('header.top').hidden = true;
  signIn(message);
}

function signIn(message) {
  const token = field('Admin token', h('input', { type: 'password', autocomplete: 'current-password', required: true }),
    'The token is SLUICE_ADMIN_TOKEN, or the file admin-token in the data directory.');
  const form = h('form', { class: 'panel signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Sluice'),
    h('p', {}, 'Routes, guards and revisions of this gateway. Changes are checked before they apply.'),
    message ? h('div', { class: 'errors', role: 'alert' }, message) : null,
    token.wrap,
    h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, 'Sign in')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    token.error.textContent = '';
    state.token = token.input.value.trim();
    try {
      // Reads may be open; a dry run needs the token, and changes nothing.
      const config = await fetch('/v1/config', { headers: { authorization: `Bearer ${state.token}` } });
      const etag = config.headers.get('etag');
      const check = await fetch('/v1/config?dry_run=true', {
        method: 'PUT',
        headers: { authorization: `Bearer ${state.token}`, 'content-type': 'application/json', ...(etag ? { 'if-match': etag } : {}) },
        body: await config.text(),
      });
      if (check.status === 401) {
        token.error.textContent = 'This token was refused.';
        token.input.setAttribute('aria-invalid', 'true');
        state.token = null;
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, state.token);
      document.querySelector('header.top').hidden = false;
      if (!location.hash || location.hash === '#/') location.hash = '#/routes';
      else route();
    } catch (error) {
      token.error.textContent = `The admin API did not answer: ${error.message}`;
    }
  });
  showNow(form);
  token.input.focus();
}

// ---------------------------------------------------------------- routes

/** Every http-kafka and sse-kafka route of `config`, flattened for the list. */
function allRoutes(config) {
  const routes = [];
  for (const [binding, spec] of Object.entries(config.bindings ?? {})) {
    if (spec.type !== 'http-kafka' && spec.type !== 'sse-kafka') continue;
    (spec.routes ?? []).forEach((r, index) => {
      const sse = spec.type === 'sse-kafka';
      const withs = r.with ?? {};
      const kind = sse ? 'sse' : withs.capability === 'fetch' ? 'fetch' : withs['reply-to'] ? 'request-response' : 'produce';
      routes.push({
        binding,
        index,
        kind,
        method: sse ? 'GET' : (r.when ?? []).map((w) => w.method ?? 'any').join(', ') || 'any',
        path: (r.when ?? []).map((w) => w.path ?? '*').join(', ') || '*',
        topic: withs.topic ?? '',
        guard: Object.entries(r.guarded ?? {}).map(([g, roles]) => (roles.length ? `${g} (${roles.join(', ')})` : g)).join('; '),
      });
    });
  }
  return routes;
}

function listeners(config) {
  return Object.entries(config.bindings ?? {})
    .filter(([, b]) => b.type === 'tcp' && b.kind === 'server')
    .map(([name, b]) => ({ name, host: b.options?.host ?? '0.0.0.0', port: b.options?.port, exit: b.exit }));
}

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
      h('td', {}, r.guard || h('span', { class: 'muted' }, 'open')),
      h('td', {}, h('a', { href: `#/route/${enc(r.binding)}/${r.index}`, 'aria-label': `Edit ${r.binding} route ${r.index}` }, 'Edit')));
    row.searchText = `${r.binding} ${r.kind} ${r.method} ${r.path} ${r.topic} ${r.guard}`.toLowerCase();
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
  show(
    h('h1', {}, 'Routes'),
    h('div', { class: 'toolbar' },
      h('div', { class: 'grow' }, search.wrap),
      h('div', {}, kinds.wrap),
      h('a', { href: '#/new-route', class: 'button primary narrow' }, 'New route')),
    count,
    h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Routes' },
      h('thead', {}, h('tr', {}, ['Binding', 'Kind', 'Method', 'Path', 'Topic', 'Guard', ''].map((t) => h('th', { scope: 'col' }, t)))),
      body)),
    h('h2', {}, 'Listeners'),
    ports.length
      ? h('ul', {}, ports.map((l) => h('li', {}, h('code', {}, `${l.host}:${l.port}`), ` → ${l.exit ?? '—'} `, h('span', { class: 'muted' }, `(${l.name})`))))
      : h('p', { class: 'muted' }, 'No tcp listeners.'));
  filter();
}

// ---------------------------------------------------------------- route editor

const HTTP_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'GET'];

/** The exit a new route of `binding` gets: its siblings', else a kafka binding. */
function defaultExit(config, spec) {
  const sibling = (spec.routes ?? []).find((r) => r.exit)?.exit ?? spec.exit;
  if (sibling) return sibling;
  const kafka = Object.entries(config.bindings ?? {}).filter(([, b]) => b.type === 'kafka');
  return (kafka.find(([, b]) => b.kind === 'cache_client') ?? kafka[0])?.[0];
}

/** Which form field a validation error's JSON pointer is about, for the route at `prefix`. */
function fieldOf(pointer, prefix) {
  if (!pointer.startsWith(prefix)) return null;
  const rest = pointer.slice(prefix.length);
  if (/^\/when(\/\d+)?\/method/.test(rest)) return 'method';
  if (/^\/when/.test(rest)) return 'path';
  if (rest.startsWith('/with/capability')) return 'capability';
  if (rest.startsWith('/with/topic')) return 'topic';
  if (rest.startsWith('/with/key')) return 'key';
  if (rest.startsWith('/with/reply-to')) return 'reply';
  if (rest.startsWith('/guarded')) return 'guard';
  return null;
}

const pointerPart = (text) => text.replaceAll('~', '~0').replaceAll('/', '~1');

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

// ---------------------------------------------------------------- try it

/** The data plane's URL for a binding: the first tcp listener on this page's host. */
function dataPlaneUrl(config) {
  const listener = listeners(config)[0];
  return listener ? `${location.protocol}//${location.hostname}:${listener.port}` : '';
}

function tryIt(config, binding, routeSpec) {
  const sse = binding.type === 'sse-kafka';
  const template = routeSpec.when?.[0]?.path ?? '/';
  const params = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  const base = field('Data plane URL', h('input', { value: dataPlaneUrl(config) }));
  const paramFields = params.map((p) => [p, field(`Path parameter ${p}`, h('input', { value: '' }))]);
  const method = field('Method', select(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => [m, m]), routeSpec.when?.[0]?.method ?? 'GET'));
  const headers = field('Headers', h('textarea', { rows: 3, placeholder: 'content-type: application/json' }), 'One per line: name: value');
  const body = field('Body', h('textarea', { rows: 4 }));
  const result = h('div', { 'aria-live': 'polite' });
  const url = () => {
    let path = template;
    for (const [p, f] of paramFields) path = path.replace(`{${p}}`, encodeURIComponent(f.input.value));
    return `${base.input.value.replace(/\/$/, '')}${path}`;
  };
  const curl = (target) => {
    const lines = headers.input.value.split('\n').map((l) => l.trim()).filter(Boolean);
    const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;
    return ['curl -i', sse ? '-N -H \'accept: text/event-stream\'' : `-X ${method.input.value}`,
      ...lines.map((l) => `-H ${quote(l)}`), !sse && body.input.value ? `--data-binary ${quote(body.input.value)}` : '', quote(target)]
      .filter(Boolean).join(' ');
  };
  const unreachable = (target, error) => h('div', { class: 'errors', role: 'alert' },
    h('p', {}, `The browser could not reach ${target}: ${error}.`),
    h('p', {}, `A page on ${location.origin} may only call the data plane when its http binding allows this origin (access-control). Or run:`),
    h('pre', { class: 'answer' }, curl(target)));
  let source = null;
  const send = h('button', { type: 'button', class: 'primary' }, sse ? 'Open stream' : 'Send');
  const close = h('button', { type: 'button', hidden: true }, 'Close stream');
  send.addEventListener('click', async () => {
    const target = url();
    if (sse) {
      source?.close();
      const list = h('div', { class: 'events', 'aria-label': 'Events' });
      const status = h('p', { class: 'muted' }, `Connecting to ${target}…`);
      result.replaceChildren(status, list);
      source = new EventSource(target);
      close.hidden = false;
      source.onopen = () => { status.textContent = `Open: ${target}`; };
      const onEvent = (event) => {
        list.append(h('div', {}, event.lastEventId ? h('span', { class: 'muted' }, `id ${event.lastEventId}  `) : null,
          event.type === 'message' ? null : h('strong', {}, `${event.type}  `), event.data));
        list.scrollTop = list.scrollHeight;
      };
      source.onmessage = onEvent;
      source.addEventListener('delete', onEvent);
      source.onerror = () => {
        if (source.readyState === EventSource.CLOSED) result.replaceChildren(unreachable(target, 'the stream was refused or closed'));
        else status.textContent = 'Reconnecting…';
      };
      return;
    }
    const init = { method: method.input.value, headers: {} };
    for (const line of headers.input.value.split('\n')) {
      const at = line.indexOf(':');
      if (at > 0) init.headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    if (!['GET', 'HEAD'].includes(init.method) && body.input.value) init.body = body.input.value;
    result.replaceChildren(h('p', { class: 'muted' }, `Sending ${init.method} ${target}…`));
    try {
      const response = await fetch(target, init);
      const text = await response.text();
      const shownHeaders = [...response.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
      result.replaceChildren(
        h('p', {}, h('span', { class: `badge ${response.ok ? 'ok' : 'bad'}` }, `HTTP ${response.status}`), ' ', response.statusText),
        h('pre', { class: 'answer', 'aria-label': 'Response' }, `${shownHeaders}\n\n${text}`));
    } catch (error) {
      result.replaceChildren(unreachable(target, error.message));
    }
  });
  close.addEventListener('click', () => { source?.close(); source = null; close.hidden = true; });
  window.addEventListener('hashchange', () => source?.close(), { once: true });
  return h('section', { class: 'panel', 'aria-labelledby': 'try-title' },
    h('h2', { id: 'try-title' }, 'Try it'),
    h('p', { class: 'muted' }, sse ? 'Opens the stream from this browser and shows its events live.' : 'Sends a request through the data plane from this browser.'),
    h('div', { class: 'row' }, base.wrap, sse ? null : method.wrap),
    paramFields.length ? h('div', { class: 'row' }, paramFields.map(([, f]) => f.wrap)) : null,
    sse ? null : h('div', { class: 'row' }, headers.wrap, body.wrap),
    h('div', { class: 'actions' }, send, close),
    result);
}

// ---------------------------------------------------------------- guards

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

// ---------------------------------------------------------------- history

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

// ---------------------------------------------------------------- status

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

// ---------------------------------------------------------------- router

let renders = 0;

async function route() {
  if (!state.token) { signIn(); return; }
  // A view still loading when the next navigation starts must not draw over it.
  const ticket = ++renders;
  const show = (...children) => { if (ticket === renders) showNow(...children); };
  document.querySelector('header.top').hidden = false;
  const [section, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === (section === 'route' || section === 'new-route' ? 'routes' : section === 'guard' ? 'guards' : section)) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  try {
    switch (section) {
      case 'route': await routeEditor(show, decodeURIComponent(rest[0]), Number(rest[1])); break;
      case 'new-route': await routeEditor(show, null, null); break;
      case 'guards': await guardsView(show); break;
      case 'guard': await guardEditor(show, decodeURIComponent(rest[0])); break;
      case 'history': await historyView(show, rest[0] ? Number(rest[0]) : null); break;
      case 'status': await statusView(show); break;
      default: await routesView(show);
    }
    view.focus({ preventScroll: true });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    show(h('div', { class: 'errors', role: 'alert' }, `The admin API failed: ${error.message}`));
  }
}

document.getElementById('sign-out').addEventListener('click', () => signOut());
window.addEventListener('hashchange', route);
route();
