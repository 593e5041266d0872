// "Try it": a request or an SSE stream through the data plane, from this browser.
import { field, h, select } from './dom.js';
import { listeners } from './model.js';

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

export { tryIt };
