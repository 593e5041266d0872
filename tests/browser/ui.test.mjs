// The web UI at /ui/, in headless Chromium against the real binary and broker: sign in,
// create a route, an invalid edit, a 412 conflict, rollback, an SSE try-it panel, markup in
// names shown as text, and 1,000 routes. Screenshots go to target/ui-screenshots/ (test
// output, not committed).
//
// Needs SLUICE_BIN, KAFKA_BOOTSTRAP_SERVERS, TANSU_BIN and Debian's chromium (see sse.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, launchChromium, waitFor } from './lib.mjs';

const SLUICE = process.env.SLUICE_BIN;
const KAFKA = process.env.KAFKA_BOOTSTRAP_SERVERS;
const TANSU = process.env.TANSU_BIN;
const TOKEN = 'ui-test-token';
const SHOTS = resolve(import.meta.dirname, '../../target/ui-screenshots');
const XSS = '<img src=x onerror=alert(1)>';

const JWK = JSON.stringify({
  ...createPublicKey(readFileSync(resolve(import.meta.dirname, '../../testdata/jwt/rsa1.pem'))).export({ format: 'jwk' }),
  kid: 'one',
  alg: 'RS256',
});

function configText(port, topic) {
  return `
name: ui
guards:
  jwt:
    type: jwt
    options: { issuer: "https://auth.test", audience: sluice, keys: [ ${JWK} ] }
bindings:
  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: ${port} }, exit: http }
  http:
    type: http
    kind: server
    options: { access-control: { policy: cross-origin } }
    routes:
      - when: [ { headers: { ":path": /page } } ]
        exit: echo
      - when: [ { headers: { ":path": "/events" } } ]
        exit: sse
    exit: mapping
  echo: { type: echo, kind: server }
  sse: { type: sse, kind: server, options: { retry: 500 }, exit: sse_kafka }
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ { path: /events } ]
        exit: client
        with: { topic: ${topic} }
  mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ { method: PUT, path: "/items/{id}" } ]
        exit: client
        with: { capability: produce, topic: ${topic}, key: "\${params.id}" }
  client: { type: kafka, kind: client, options: { servers: [ "${KAFKA}" ] } }
`;
}

test('the web UI edits routes safely', { timeout: 240000 }, async () => {
  assert.ok(SLUICE && KAFKA && TANSU, 'SLUICE_BIN, KAFKA_BOOTSTRAP_SERVERS and TANSU_BIN are needed');
  mkdirSync(SHOTS, { recursive: true });
  const [port, adminPort] = [await freePort(), await freePort()];
  const topic = `ui-${Date.now()}`;
  execFileSync(TANSU, ['topic', 'create', '--broker', `tcp://${KAFKA}`, '--partitions', '1', topic]);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ui-'));
  const config = join(dir, 'sluice.yaml');
  writeFileSync(config, configText(port, topic));
  const sluice = spawn(SLUICE, ['serve', '--config', config, '--data-dir', join(dir, 'data'),
    '--admin-listen', `127.0.0.1:${adminPort}`, '--kafka', KAFKA, '--shutdown-grace-ms', '1000'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SLUICE_ADMIN_TOKEN: TOKEN },
  });
  sluice.stderr.on('data', (d) => process.stderr.write(d));
  const admin = `http://127.0.0.1:${adminPort}`;
  const data = `http://127.0.0.1:${port}`;
  const adminApi = async (method, path, body, headers = {}) => {
    const response = await fetch(`${admin}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, etag: response.headers.get('etag'), json: text ? JSON.parse(text) : null };
  };
  const revision = async () => Number((await adminApi('GET', '/v1/config')).etag.replaceAll('"', ''));
  await waitFor('sluice', async () => (await fetch(`${data}/page`).catch(() => null))?.ok);

  const browser = await launchChromium();
  const dialogs = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('dialog', (dialog) => { dialogs.push(dialog.message()); dialog.dismiss(); });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    // Every asset the page asks for (scripts, styles, the icon) is served.
    const missing = [];
    page.on('response', (response) => {
      if (response.status() >= 400 && !new URL(response.url()).pathname.startsWith('/v1/')) missing.push(`${response.status()} ${response.url()}`);
    });

    // --- Sign in: a wrong token is refused, the right one opens the route list.
    await page.goto(`${admin}/ui/`);
    await page.getByLabel('Admin token').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This token was refused.').waitFor();
    await page.screenshot({ path: join(SHOTS, '01-sign-in.png') });
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Routes' }).waitFor();
    await page.getByText('Showing 2 of 2 routes').waitFor();

    // --- Create a produce route, review its diff, apply; a curl-style request succeeds.
    await page.getByRole('link', { name: 'New route' }).click();
    await page.getByRole('heading', { name: 'New route' }).waitFor();
    await page.getByLabel('Binding', { exact: true }).selectOption('mapping');
    await page.getByLabel('Method', { exact: true }).selectOption('POST');
    await page.getByLabel('Path', { exact: true }).fill('/orders/{id}');
    await page.getByLabel('Topic', { exact: true }).fill(topic);
    await page.getByLabel('Key', { exact: true }).fill('${params.id}');
    await page.getByRole('button', { name: 'Review change' }).click();
    await page.getByText('Valid.').waitFor();
    assert.ok(await page.locator('.diff .add').count() > 0, 'the diff shows the added route');
    await page.screenshot({ path: join(SHOTS, '02-new-route-review.png'), fullPage: true });
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Applied revision 2.').waitFor();
    const produced = await fetch(`${data}/orders/7`, { method: 'POST', body: '{"order":7}' });
    assert.equal(produced.status, 204, 'the new route produces');

    // --- An invalid edit: the error is shown beside the field, and nothing changes.
    await page.goto(`${admin}/ui/#/route/mapping/1`);
    await page.getByRole('heading', { name: /Route 1 of/ }).waitFor();
    await page.getByLabel('Path', { exact: true }).fill('/orders/{id');
    await page.getByRole('button', { name: 'Review change' }).click();
    const pathError = page.locator('label:text-is("Path") ~ .field-error');
    await pathError.filter({ hasText: /\S/ }).waitFor();
    assert.match(await pathError.textContent(), /\{|brace|template|path/i);
    await page.getByText('Nothing was changed.', { exact: false }).waitFor();
    await page.screenshot({ path: join(SHOTS, '03-invalid-edit.png'), fullPage: true });
    assert.equal(await revision(), 2, 'an invalid edit makes no revision');

    // --- A 412 conflict: someone else changes the binding while the editor is open.
    await page.goto(`${admin}/ui/#/routes`);
    // The editor must be gone before it is opened again: otherwise the old editor's
    // heading satisfies the wait below, and the binding may load after the change.
    await page.getByRole('heading', { name: 'Routes', exact: true }).waitFor();
    await page.goto(`${admin}/ui/#/route/mapping/1`);
    await page.getByRole('heading', { name: /Route 1 of/ }).waitFor();
    const theirs = await adminApi('GET', '/v1/bindings/mapping');
    theirs.json.routes[0].when[0].path = '/things/{id}';
    const changed = await adminApi('PUT', '/v1/bindings/mapping', theirs.json, { 'if-match': theirs.etag });
    assert.equal(changed.status, 200);
    assert.equal(changed.json.revision, 3);
    await page.getByLabel('Key', { exact: true }).fill('order-${params.id}');
    await page.getByRole('button', { name: 'Review change' }).click();
    await page.getByText('Conflict: someone changed this binding').waitFor();
    await page.getByLabel('Newer version').getByText('/things/{id}').waitFor();
    await page.screenshot({ path: join(SHOTS, '04-conflict.png'), fullPage: true });
    await page.getByRole('button', { name: 'Re-apply my change on the newer version' }).click();
    await page.getByText('Valid.').waitFor();
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Applied revision 4.').waitFor();
    const merged = await adminApi('GET', '/v1/bindings/mapping');
    assert.equal(merged.json.routes[0].when[0].path, '/things/{id}', 'their change is kept');
    assert.equal(merged.json.routes[1].with.key, 'order-${params.id}', 'mine is applied on top');

    // --- Rollback to revision 2 restores the previous routes.
    await page.getByRole('link', { name: 'History' }).click();
    await page.getByRole('table', { name: 'Revisions' }).waitFor();
    await page.getByRole('button', { name: 'Show the changes of revision 4' }).click();
    await page.getByRole('heading', { name: 'Revision 4 against 3' }).waitFor();
    await page.screenshot({ path: join(SHOTS, '05-history.png'), fullPage: true });
    await page.getByRole('button', { name: 'Roll back to revision 2' }).click();
    await page.getByRole('dialog').getByText('Roll back to revision 2?').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back to revision 2' }).click();
    await page.getByText('Rolled back: revision 5 equals revision 2.').waitFor();
    const rolled = await adminApi('GET', '/v1/bindings/mapping');
    assert.equal(rolled.json.routes[0].when[0].path, '/items/{id}');
    assert.equal(rolled.json.routes[1].with.key, '${params.id}');
    assert.equal((await fetch(`${data}/items/1`, { method: 'PUT', body: 'x' })).status, 204, 'the restored route serves');

    // --- Try it on the SSE route: a record produced by the test appears live.
    await page.goto(`${admin}/ui/#/route/sse_kafka/0`);
    await page.getByRole('heading', { name: 'Try it' }).waitFor();
    await page.getByRole('button', { name: 'Open stream' }).click();
    await page.getByText(`Open: ${data}/events`).waitFor();
    const value = `live-${Date.now()}`;
    assert.equal((await fetch(`${data}/items/live`, { method: 'PUT', body: value })).status, 204);
    await page.getByLabel('Events').getByText(value).waitFor({ timeout: 20000 });
    await page.screenshot({ path: join(SHOTS, '06-try-it-sse.png'), fullPage: true });
    await page.getByRole('button', { name: 'Close stream' }).click();

    // --- Markup in a name is shown as text.
    const head = await adminApi('GET', '/v1/config');
    const hostile = structuredClone(head.json);
    hostile.bindings[XSS] = structuredClone(hostile.bindings.mapping);
    hostile.bindings.http.routes.push({ when: [{ headers: { ':path': '/hostile/*' } }], exit: XSS });
    hostile.bindings[XSS].routes = [{ when: [{ method: 'POST', path: '/hostile/{id}' }], exit: 'client', with: { capability: 'produce', topic } }];
    const put = await adminApi('PUT', '/v1/config', hostile, { 'if-match': head.etag });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    await page.goto(`${admin}/ui/#/routes`);
    await page.getByRole('cell', { name: XSS, exact: false }).first().waitFor();
    assert.equal(await page.locator('table img').count(), 0, 'no element made from the name');

    // --- 1,000 routes render and filter.
    const big = structuredClone(hostile);
    big.bindings.mapping.routes = Array.from({ length: 1000 }, (_, i) => ({
      when: [{ method: 'POST', path: `/bulk/${i}/{id}` }], exit: 'client', with: { capability: 'produce', topic },
    }));
    const bulk = await adminApi('PUT', '/v1/config', big);
    assert.equal(bulk.status, 200, JSON.stringify(bulk.json));
    await page.goto(`${admin}/ui/#/status`);
    const started = Date.now();
    await page.goto(`${admin}/ui/#/routes`);
    await page.getByText('Showing 1002 of 1002 routes').waitFor();
    const rendered = Date.now() - started;
    await page.getByLabel('Filter routes').fill('/bulk/999/');
    await page.getByText('Showing 1 of 1002 routes').waitFor();
    assert.equal(await page.locator('tbody tr:not([hidden])').count(), 1);
    await page.getByLabel('Kind').selectOption('sse');
    await page.getByLabel('Filter routes').fill('');
    await page.getByText('Showing 1 of 1002 routes').waitFor();
    await page.getByLabel('Kind').selectOption('');
    await page.screenshot({ path: join(SHOTS, '07-routes-1000.png') });

    // --- Keyboard only: filter, tab to the one visible route, open it with Enter.
    await page.getByLabel('Filter routes').focus();
    await page.keyboard.type('/bulk/7/');
    await page.getByText('Showing 1 of 1002 routes').waitFor();
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.getAttribute('aria-label')) === 'Edit mapping route 7') break;
    }
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Edit mapping route 7',
      'Tab reaches the visible route, skipping the 1,001 hidden ones');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Route 7 of/ }).waitFor();
    assert.equal(await page.getByLabel('Path', { exact: true }).inputValue(), '/bulk/7/{id}');
    console.log(`1,002 routes rendered in ${rendered} ms`);

    // --- A guard: the form edits the JSON; a bad edit is refused; a good one applies.
    await page.getByRole('link', { name: 'Guards' }).click();
    await page.getByRole('cell', { name: 'https://auth.test' }).waitFor();
    await page.getByRole('link', { name: 'Edit guard jwt' }).click();
    await page.getByLabel('Audience').fill('sluice-web');
    await page.getByRole('button', { name: 'Review change' }).click();
    await page.getByText('Valid. Review, then apply.').waitFor();
    const before = await revision();
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText(`Applied revision ${before + 1}.`).waitFor();
    assert.equal((await adminApi('GET', '/v1/guards/jwt')).json.options.audience, 'sluice-web');
    await page.getByLabel('Challenge (seconds before expiry)').fill('-5');
    await page.getByRole('button', { name: 'Review change' }).click();
    await page.getByText('Not valid; nothing was changed.').waitFor();
    assert.equal(await revision(), before + 1);
    await page.getByRole('button', { name: 'YAML (view)' }).click();
    await page.getByLabel('Guard jwt as YAML').getByText('audience: sluice-web').waitFor();

    await page.getByRole('link', { name: 'Status' }).click();
    await page.getByRole('heading', { name: 'Data planes' }).waitFor();
    await page.screenshot({ path: join(SHOTS, '08-status.png') });

    assert.deepEqual(dialogs, [], 'no script ran from the configuration');
    assert.deepEqual(missing, [], 'no asset answered an error (the favicon included)');
    const icon = await fetch(`${admin}/favicon.ico`);
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get('content-type'), 'image/svg+xml');
    // The browser logs every 4xx the UI provokes on purpose (401, 412, 422); anything else,
    // a script error or a Content-Security-Policy refusal, fails the test.
    assert.deepEqual(errors.filter((e) => !e.startsWith('Failed to load resource: the server responded with a status of 4')), [],
      'no script errors and no CSP violations');
  } finally {
    await browser.close();
    const exited = new Promise((r) => sluice.once('exit', r));
    sluice.kill('SIGTERM');
    await exited;
  }
});
