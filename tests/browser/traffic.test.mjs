// The Traffic page in headless Chromium against the real binary and broker: under load its
// plots move, a failing route shows its errors (a request-response route nobody answers:
// 504s, the Kafka class), a revision applied is marked on the time axis, and nothing
// breaks the page's Content-Security-Policy. Screenshots go to target/ui-screenshots/.
//
// Needs SLUICE_BIN, KAFKA_BOOTSTRAP_SERVERS, TANSU_BIN and Debian's chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, launchChromium, waitFor } from './lib.mjs';

const SLUICE = process.env.SLUICE_BIN;
const KAFKA = process.env.KAFKA_BOOTSTRAP_SERVERS;
const TANSU = process.env.TANSU_BIN;
const TOKEN = 'traffic-test-token';
const SHOTS = resolve(import.meta.dirname, '../../target/ui-screenshots');

function configText(port, topic, replies) {
  return `
name: traffic
bindings:
  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: ${port} }, exit: http }
  http: { type: http, kind: server, exit: mapping }
  mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ { method: POST, path: /orders } ]
        exit: client
        with: { capability: produce, topic: ${topic} }
      - when: [ { method: PUT, path: /slow } ]
        exit: client
        with: { capability: produce, topic: ${topic}, reply-to: ${replies}, reply-timeout-ms: 50 }
  client: { type: kafka, kind: client, options: { servers: [ "${KAFKA}" ], properties: { linger.ms: "0" } } }
`;
}

test('the traffic page plots live traffic, errors and revisions', { timeout: 180000 }, async () => {
  assert.ok(SLUICE && KAFKA && TANSU, 'SLUICE_BIN, KAFKA_BOOTSTRAP_SERVERS and TANSU_BIN are needed');
  mkdirSync(SHOTS, { recursive: true });
  const [port, adminPort] = [await freePort(), await freePort()];
  const [topic, replies] = [`traffic-${Date.now()}`, `traffic-replies-${Date.now()}`];
  for (const name of [topic, replies]) {
    execFileSync(TANSU, ['topic', 'create', '--broker', `tcp://${KAFKA}`, '--partitions', '1', name]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sluice-traffic-'));
  const config = join(dir, 'sluice.yaml');
  writeFileSync(config, configText(port, topic, replies));
  const sluice = spawn(SLUICE, ['serve', '--config', config, '--data-dir', join(dir, 'data'),
    '--admin-listen', `127.0.0.1:${adminPort}`, '--kafka', KAFKA, '--shutdown-grace-ms', '1000'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SLUICE_ADMIN_TOKEN: TOKEN },
  });
  sluice.stderr.on('data', (d) => process.stderr.write(d));
  const admin = `http://127.0.0.1:${adminPort}`;
  const data = `http://127.0.0.1:${port}`;
  await waitFor('sluice', async () => (await fetch(`${data}/orders`, { method: 'POST', body: 'x' }).catch(() => null))?.status === 204);

  // Load, bounded: about 40 produces and 4 timed-out exchanges a second, for at most 60 s.
  let loading = true;
  const load = (async () => {
    const until = Date.now() + 60000;
    while (loading && Date.now() < until) {
      await Promise.all([
        ...Array.from({ length: 4 }, () => fetch(`${data}/orders`, { method: 'POST', body: 'order' })),
        fetch(`${data}/slow`, { method: 'PUT', body: 'x' }),
      ]);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    await page.goto(`${admin}/ui/`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Routes' }).waitFor();
    await page.getByRole('link', { name: 'Traffic' }).click();
    await page.getByRole('heading', { name: 'Traffic' }).waitFor();

    // The produce route's plot appears and moves as readings arrive.
    const requests = page.getByRole('img', { name: /^mapping #0 requests per second: requests [0-9]/ });
    await requests.waitFor({ timeout: 30000 });
    const pathOf = () => requests.locator('path.series').getAttribute('d');
    const before = await pathOf();
    await waitFor('the plot to move', async () => (await pathOf()) !== before, 15000);
    const rate = Number((await requests.getAttribute('aria-label')).match(/requests ([0-9.]+)/)[1]);
    assert.ok(rate > 5, `about 40 requests a second are plotted, got ${rate}`);
    assert.ok(await page.getByText('POST /orders').isVisible(), 'the route is named by its method and path');

    // The failing route is marked and its Kafka-class errors are plotted.
    const failing = page.locator('tr.failing', { hasText: 'mapping #1' });
    await failing.waitFor({ timeout: 20000 });
    const errorsLabel = await page.getByRole('img', { name: /^mapping #1 errors per second/ }).getAttribute('aria-label');
    const kafka = Number(errorsLabel.match(/Kafka ([0-9.]+)/)[1]);
    assert.ok(kafka > 0, `504s are counted as Kafka errors: ${errorsLabel}`);
    await page.screenshot({ path: join(SHOTS, '09-traffic.png'), fullPage: true });

    // A revision applied is marked on the time axis.
    const head = await fetch(`${admin}/v1/config`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const changed = await head.json();
    changed.bindings.mapping.routes[0].with.key = 'k';
    const applied = await fetch(`${admin}/v1/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'if-match': head.headers.get('etag') },
      body: JSON.stringify(changed),
    });
    const answer = await applied.text();
    assert.equal(applied.status, 200, answer);
    const { revision } = JSON.parse(answer);
    await waitFor('the revision mark', async () => (await page.locator('line.revision title', { hasText: `revision ${revision}` }).count()) > 0, 15000);
    await page.screenshot({ path: join(SHOTS, '10-traffic-revision.png'), fullPage: true });

    // The JSON behind it is bounded and columnar.
    const traffic = await (await fetch(`${admin}/v1/traffic`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    assert.ok(traffic.times.length <= 150);
    for (const route of traffic.routes) assert.equal(route.requests_per_second.length, traffic.times.length);

    assert.deepEqual(errors, [], 'no script errors and no CSP violations');
  } finally {
    loading = false;
    await load.catch(() => {});
    await browser.close();
    const exited = new Promise((r) => sluice.once('exit', r));
    sluice.kill('SIGTERM');
    await exited;
  }
});
