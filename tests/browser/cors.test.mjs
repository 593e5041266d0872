// Headless Chromium does real cross-origin fetches with `credentials: 'include'` against
// Sluice: the preflight must carry access-control-allow-credentials (Zilla's does not), the
// response the exact origin, and a cookie holding a JWT reaches a guarded route.
//
// Needs SLUICE_BIN and Debian's chromium at CHROMIUM (default /usr/bin/chromium). No Kafka:
// the routes are echo routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey, createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, launchChromium, waitFor } from './lib.mjs';

const SLUICE = process.env.SLUICE_BIN;
const HERE = dirname(fileURLToPath(import.meta.url));
const PEM = readFileSync(join(HERE, '../../testdata/jwt/rsa1.pem'), 'utf8');


const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

function jwt(claims) {
  const head = b64({ alg: 'RS256', kid: 'k1', typ: 'JWT' });
  const body = b64(claims);
  const signer = createSign('RSA-SHA256');
  signer.update(`${head}.${body}`);
  return `${head}.${body}.${signer.sign(createPrivateKey(PEM)).toString('base64url')}`;
}

test('credentialed cross-origin fetches pass the preflight and carry a cookie to a guarded route', async () => {
  assert.ok(SLUICE, 'SLUICE_BIN must name the sluice binary');
  const [pagePort, withCredentials, withoutCredentials] = await Promise.all([freePort(), freePort(), freePort()]);
  const pageOrigin = `http://127.0.0.1:${pagePort}`;
  const jwk = { ...createPublicKey(PEM).export({ format: 'jwk' }), kid: 'k1', alg: 'RS256' };
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cors-'));
  const config = join(dir, 'sluice.yaml');
  writeFileSync(config, `
name: cors
guards:
  jwt:
    type: jwt
    options: { issuer: https://auth.test, audience: sluice, keys: [ ${JSON.stringify(jwk)} ] }
bindings:
  tcp_a: { type: tcp, kind: server, options: { host: 127.0.0.1, port: ${withCredentials} }, exit: http_a }
  tcp_b: { type: tcp, kind: server, options: { host: 127.0.0.1, port: ${withoutCredentials} }, exit: http_b }
  http_a:
    type: http
    kind: server
    options:
      access-control:
        policy: cross-origin
        allow: { origins: [ "${pageOrigin}" ], methods: [ POST ], headers: [ content-type, x-trace ], credentials: true }
        max-age: 60
        expose: { headers: [ x-trace-echo, date ] }
      authorization:
        jwt: { credentials: { cookies: { access_token: "{credentials}" } } }
    routes:
      - when: [ { headers: { ":path": /secure } } ]
        guarded: { jwt: [ "read:items" ] }
        exit: echo
      - when: [ { headers: { ":path": /open } } ]
        exit: echo
  http_b:
    type: http
    kind: server
    options:
      access-control:
        policy: cross-origin
        allow: { origins: [ "${pageOrigin}" ], methods: [ POST ], headers: [ content-type, x-trace ] }
    exit: echo
  echo: { type: echo, kind: server }
`);
  const sluice = spawn(SLUICE, ['serve', '--config', config, '--data-dir', join(dir, 'data'), '--admin-listen', '127.0.0.1:0', '--shutdown-grace-ms', '1000'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  sluice.stderr.on('data', (d) => process.stderr.write(d));
  const page = createHttpServer((_, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>app</title>');
  });
  await new Promise((resolve) => page.listen(pagePort, '127.0.0.1', resolve));
  const browser = await launchChromium();
  try {
    await waitFor('sluice', async () => (await fetch(`http://127.0.0.1:${withCredentials}/open`, { method: 'POST' }).catch(() => null))?.ok);
    const context = await browser.newContext();
    const token = jwt({ iss: 'https://auth.test', aud: 'sluice', sub: 'alice', scope: 'read:items', exp: Math.floor(Date.now() / 1000) + 300 });
    await context.addCookies([{ name: 'access_token', value: token, domain: '127.0.0.1', path: '/' }]);
    const tab = await context.newPage();
    await tab.goto(`${pageOrigin}/`);
    const call = (url) => tab.evaluate(async (url) => {
      try {
        // A JSON body and a custom header make the browser send a preflight first.
        const response = await fetch(url, {
          method: 'POST',
          credentials: 'include',
          headers: { 'content-type': 'application/json', 'x-trace': 't1' },
          body: '{"hello":"cors"}',
        });
        return { status: response.status, body: await response.text(), date: response.headers.get('date') };
      } catch (error) {
        return { error: String(error) };
      }
    }, url);

    const open = await call(`http://127.0.0.1:${withCredentials}/open`);
    assert.equal(open.status, 200, JSON.stringify(open));
    assert.equal(open.body, '{"hello":"cors"}');
    assert.ok(open.date, 'an exposed header is readable');

    const secure = await call(`http://127.0.0.1:${withCredentials}/secure`);
    assert.equal(secure.status, 200, `the cookie's token reached the guard: ${JSON.stringify(secure)}`);

    await context.clearCookies();
    const anonymous = await call(`http://127.0.0.1:${withCredentials}/secure`);
    assert.equal(anonymous.status, 401, 'without the cookie the guard answers 401, readable by the script');

    const refused = await call(`http://127.0.0.1:${withoutCredentials}/open`);
    assert.ok(refused.error, `a listener without allow.credentials fails a credentialed fetch: ${JSON.stringify(refused)}`);
  } finally {
    await browser.close();
    page.close();
    const exited = new Promise((resolve) => sluice.once('exit', resolve));
    sluice.kill('SIGTERM');
    await exited;
  }
});
