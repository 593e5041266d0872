// A page served by Sluice's filesystem binding opens an EventSource on a topic named by the
// path, as the browser page of Zilla's sse.kafka.fanout example does (its shape, written
// anew): headless Chromium loads the page through http-filesystem, the stream's feed is
// opened on demand for the topic the path names, and records produced arrive in the page.
//
// Needs SLUICE_BIN, KAFKA_BOOTSTRAP_SERVERS, TANSU_BIN (to create the topic) and Debian's
// chromium at CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, launchChromium, waitFor } from './lib.mjs';

const SLUICE = process.env.SLUICE_BIN;
const KAFKA = process.env.KAFKA_BOOTSTRAP_SERVERS;
const TANSU = process.env.TANSU_BIN;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fan-out</title></head>
<body><ul id="events"></ul>
<script>
  // The topic is the page's query string: /index.html?my-topic
  const topic = location.search.slice(1);
  window.received = [];
  const source = new EventSource('/events/' + topic);
  source.onmessage = (event) => {
    window.received.push(event.data);
    const item = document.createElement('li');
    item.textContent = event.data;
    document.getElementById('events').append(item);
  };
</script></body></html>
`;

test('a page from the filesystem binding streams the topic its path names', async () => {
  assert.ok(SLUICE && KAFKA && TANSU, 'SLUICE_BIN, KAFKA_BOOTSTRAP_SERVERS and TANSU_BIN');
  const port = await freePort();
  const topic = `fanout-${Date.now()}`;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-fanout-'));
  const www = join(dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), PAGE);
  const config = join(dir, 'zilla.yaml');
  writeFileSync(config, `
name: fanout
bindings:
  north_tcp_server: { type: tcp, kind: server, options: { host: 127.0.0.1, port: ${port} }, exit: north_http_server }
  north_http_server:
    type: http
    kind: server
    routes:
      - when: [ { headers: { ":path": "/events/*" } } ]
        exit: north_sse_server
      - when: [ { headers: { ":method": PUT } } ]
        exit: north_http_kafka_mapping
      - when: [ { headers: { ":scheme": http } } ]
        exit: east_http_filesystem_mapping
  east_http_filesystem_mapping:
    type: http-filesystem
    kind: proxy
    routes:
      - when: [ { path: "/{path}" } ]
        exit: east_filesystem_server
        with: { path: "\${params.path}" }
  east_filesystem_server: { type: filesystem, kind: server, options: { location: "${www}/" } }
  north_sse_server: { type: sse, kind: server, exit: north_sse_kafka_mapping }
  north_sse_kafka_mapping:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ { path: "/events/{topic}" } ]
        exit: north_kafka_cache_client
        with: { topic: "\${params.topic}" }
  north_http_kafka_mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ { method: PUT, path: "/items/{topic}/{id}" } ]
        exit: north_kafka_cache_client
        with: { capability: produce, topic: "\${params.topic}", key: "\${params.id}" }
  north_kafka_cache_client: { type: kafka, kind: cache_client, exit: south_kafka_cache_server }
  south_kafka_cache_server: { type: kafka, kind: cache_server, exit: south_kafka_client }
  south_kafka_client: { type: kafka, kind: client, options: { servers: [ "${KAFKA}" ] }, exit: south_tcp_client }
  south_tcp_client: { type: tcp, kind: client }
`);
  execFileSync(TANSU, ['topic', 'create', '--broker', `tcp://${KAFKA}`, '--partitions', '1', topic]);
  const sluice = spawn(SLUICE, ['serve', '--config', config, '--data-dir', join(dir, 'data'), '--admin-listen', '127.0.0.1:0', '--kafka', KAFKA], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  sluice.stderr.on('data', (d) => process.stderr.write(d));
  const base = `http://127.0.0.1:${port}`;
  const browser = await launchChromium();
  try {
    await waitFor('sluice', async () => (await fetch(`${base}/index.html`).catch(() => null))?.ok);
    const put = async (id, body) => {
      const response = await fetch(`${base}/items/${topic}/${id}`, { method: 'PUT', body });
      assert.equal(response.status, 204);
    };
    await put(1, 'before the page');
    const page = await browser.newPage();
    const answer = await page.goto(`${base}/index.html?${topic}`);
    assert.equal(answer.status(), 200);
    assert.match(answer.headers()['content-type'], /^text\/html/);
    await page.waitForFunction(() => window.received.length === 1, null, { timeout: 20000 });
    await put(2, 'while the page is open');
    await page.waitForFunction(() => window.received.length === 2, null, { timeout: 20000 });
    const shown = await page.$$eval('#events li', (items) => items.map((i) => i.textContent));
    assert.deepEqual(shown, ['before the page', 'while the page is open']);
  } finally {
    await browser.close();
    const exited = new Promise((resolve) => sluice.once('exit', resolve));
    sluice.kill('SIGTERM');
    await exited;
  }
});
