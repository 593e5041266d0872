// An EventSource in headless Chromium receives events from Sluice and, after the server
// drops the connection (Sluice restarts), resumes with Last-Event-ID: no gap, no duplicate.
//
// Needs SLUICE_BIN (the sluice binary), KAFKA_BOOTSTRAP_SERVERS (a broker that outlives
// Sluice), TANSU_BIN (to create the topic) and Debian's chromium at CHROMIUM (default
// /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, launchChromium, waitFor } from './lib.mjs';

const SLUICE = process.env.SLUICE_BIN;
const KAFKA = process.env.KAFKA_BOOTSTRAP_SERVERS;
const TANSU = process.env.TANSU_BIN;


function startSluice(config) {
  // The store lives beside the configuration file, so that the restarted Sluice finds it.
  const data = join(dirname(config), 'data');
  const child = spawn(SLUICE, ['serve', '--config', config, '--data-dir', data, '--admin-listen', '127.0.0.1:0', '--kafka', KAFKA, '--shutdown-grace-ms', '2000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => process.stderr.write(d));
  return child;
}

async function stopSluice(child) {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

test('EventSource receives events and resumes after the server drops the connection', async () => {
  assert.ok(SLUICE, 'SLUICE_BIN must name the sluice binary');
  assert.ok(KAFKA, 'KAFKA_BOOTSTRAP_SERVERS must name a broker that outlives Sluice');
  assert.ok(TANSU, 'TANSU_BIN must name the tansu binary');
  const port = await freePort();
  const topic = `browser-${Date.now()}`;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-browser-'));
  const config = join(dir, 'sluice.yaml');
  writeFileSync(config, `
name: browser
bindings:
  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: ${port} }, exit: http }
  http:
    type: http
    kind: server
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
`);
  // The topic must exist before Sluice's feed starts.
  execFileSync(TANSU, ['topic', 'create', '--broker', `tcp://${KAFKA}`, '--partitions', '1', topic]);
  let sluice = startSluice(config);
  const base = `http://127.0.0.1:${port}`;
  await waitFor('sluice', async () => (await fetch(`${base}/page`).catch(() => null))?.ok);
  const put = async (id, body) => {
    const response = await fetch(`${base}/items/${id}`, { method: 'PUT', body });
    assert.equal(response.status, 204);
  };
  await put(1, 'first');

  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // Same origin as the stream: the page itself is served by Sluice's echo route.
    await page.goto(`${base}/page`);
    await page.evaluate(() => {
      window.received = [];
      window.opens = 0;
      const source = new EventSource('/events');
      source.onopen = () => { window.opens += 1; };
      source.onmessage = (event) => window.received.push({ data: event.data, id: event.lastEventId });
    });
    await page.waitForFunction(() => window.received.length === 1, null, { timeout: 20000 });
    const first = await page.evaluate(() => window.received[0]);
    assert.equal(first.data, 'first');
    assert.ok(first.id.length > 0, 'events carry ids');

    // The server drops the connection: Sluice restarts. The browser reconnects by itself
    // with Last-Event-ID and must get only what it has not seen.
    await stopSluice(sluice);
    sluice = startSluice(config);
    await waitFor('sluice', async () => (await fetch(`${base}/page`).catch(() => null))?.ok);
    await page.waitForFunction(() => window.opens >= 2, null, { timeout: 20000 });
    await put(2, 'second');
    await page.waitForFunction(() => window.received.length >= 2, null, { timeout: 20000 });
    await new Promise((r) => setTimeout(r, 1000));
    const all = await page.evaluate(() => window.received.map((e) => e.data));
    assert.deepEqual(all, ['first', 'second'], 'resumed without a gap or a duplicate');
  } finally {
    await browser.close();
    await stopSluice(sluice);
  }
});
