// Headless Chromium over https://: a page served by Sluice's TLS listener opens three
// EventSources; they receive records over one HTTP/2 connection (ALPN h2).
//
// The test makes a certificate authority and a server certificate for 127.0.0.1 with the
// openssl command, and Chromium trusts that server key for this run only
// (--ignore-certificate-errors-spki-list with the key's SHA-256).
//
// Needs SLUICE_BIN, KAFKA_BOOTSTRAP_SERVERS, TANSU_BIN, openssl, and Debian's chromium at
// CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, launchChromium, waitFor } from './lib.mjs';

const SLUICE = process.env.SLUICE_BIN;
const KAFKA = process.env.KAFKA_BOOTSTRAP_SERVERS;
const TANSU = process.env.TANSU_BIN;

/** A CA and a server certificate for 127.0.0.1 signed by it, in `dir`. */
function makeCertificates(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Sluice browser test CA');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'key.pem', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial',
    '-out', 'cert.pem', '-days', '2', '-extfile', 'san.ext');
  const certificate = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const spki = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' });
  return {
    certificate: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
    ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    spkiHash: createHash('sha256').update(spki).digest('base64'),
  };
}

/** An https request that trusts `ca`; resolves to the status. */
function httpsStatus(url, ca, method = 'GET', body = '') {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('EventSource over https receives records, three streams on one h2 connection', async () => {
  assert.ok(SLUICE, 'SLUICE_BIN must name the sluice binary');
  assert.ok(KAFKA, 'KAFKA_BOOTSTRAP_SERVERS must name a broker');
  assert.ok(TANSU, 'TANSU_BIN must name the tansu binary');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-browser-'));
  const tls = makeCertificates(dir);
  const port = await freePort();
  const topic = `browser-tls-${Date.now()}`;
  const config = join(dir, 'sluice.yaml');
  writeFileSync(config, `
name: browser-tls
bindings:
  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: ${port} }, exit: tls }
  tls:
    type: tls
    kind: server
    options: { certificate: "${tls.certificate}", key: "${tls.key}", alpn: [ h2, http/1.1 ] }
    exit: http
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
  sse: { type: sse, kind: server, exit: sse_kafka }
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ { path: /events } ]
        exit: client
        with: { topic: ${topic}, start: live }
  mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ { method: PUT, path: "/items/{id}" } ]
        exit: client
        with: { capability: produce, topic: ${topic}, key: "\${params.id}" }
  client: { type: kafka, kind: client, options: { servers: [ "${KAFKA}" ] } }
`);
  execFileSync(TANSU, ['topic', 'create', '--broker', `tcp://${KAFKA}`, '--partitions', '1', topic]);
  const sluice = spawn(SLUICE, ['serve', '--config', config, '--data-dir', join(dir, 'data'), '--admin-listen', '127.0.0.1:0', '--kafka', KAFKA, '--shutdown-grace-ms', '1000'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  sluice.stderr.on('data', (d) => process.stderr.write(d));
  const base = `https://127.0.0.1:${port}`;
  const browser = await launchChromium([`--ignore-certificate-errors-spki-list=${tls.spkiHash}`]);
  try {
    await waitFor('sluice over https', async () => (await httpsStatus(`${base}/page`, tls.ca).catch(() => 0)) === 200);
    const page = await browser.newPage();
    const visit = await page.goto(`${base}/page`);
    assert.equal(visit.status(), 200);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    await page.evaluate(() => {
      window.received = [[], [], []];
      window.opened = 0;
      for (let i = 0; i < 3; i += 1) {
        const source = new EventSource('/events');
        source.onopen = () => { window.opened += 1; };
        source.onmessage = (event) => window.received[i].push(event.data);
      }
    });
    await page.waitForFunction(() => window.opened === 3, null, { timeout: 20000 });
    assert.equal(await httpsStatus(`${base}/items/1`, tls.ca, 'PUT', 'over tls'), 204);
    await page.waitForFunction(() => window.received.every((r) => r.length >= 1), null, { timeout: 20000 });
    const received = await page.evaluate(() => window.received);
    assert.deepEqual(received, [['over tls'], ['over tls'], ['over tls']]);
    const protocols = await page.evaluate(() => [
      performance.getEntriesByType('navigation')[0].nextHopProtocol,
      ...performance.getEntriesByType('resource').map((e) => e.nextHopProtocol),
    ]);
    assert.ok(protocols.length >= 1 && protocols.every((p) => p === 'h2'), `protocols: ${protocols}`);
  } finally {
    await browser.close();
    const exited = new Promise((resolve) => sluice.once('exit', resolve));
    sluice.kill('SIGTERM');
    await exited;
  }
});
