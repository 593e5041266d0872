// The admin API client and the loaded configuration.

const TOKEN_KEY = 'sluice-admin-token';
const state = { token: sessionStorage.getItem(TOKEN_KEY), config: null, revision: null };

// What a refused token does (sign out); set by the sign-in module, which needs this one.
let unauthorized = () => {};
/** Sets what a 401 does. */
function onUnauthorized(handler) { unauthorized = handler; }

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
    unauthorized('The admin token was refused. Sign in again.');
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

export { ApiError, TOKEN_KEY, api, enc, loadConfig, onUnauthorized, state };
