// Pure functions of the web UI, without a browser: `node --test web-ui/test/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allRoutes, catalogs, defaultExit, describeModel, fieldOf, listeners, pointerPart, topicModels } from '../model.js';
import { diffLines, withContext } from '../diff.js';

const config = {
  bindings: {
    tcp: { type: 'tcp', kind: 'server', options: { host: '127.0.0.1', port: 7114 }, exit: 'http' },
    http: { type: 'http', kind: 'server', exit: 'items' },
    items: {
      type: 'http-kafka',
      kind: 'proxy',
      routes: [
        { when: [{ method: 'POST', path: '/items' }], exit: 'kafka', with: { capability: 'produce', topic: 'items' } },
        { when: [{ method: 'GET', path: '/items/{id}' }], exit: 'kafka', with: { capability: 'fetch', topic: 'items' }, guarded: { jwt: ['read:items'] } },
        { when: [{ method: 'PUT', path: '/orders' }], exit: 'kafka', with: { capability: 'produce', topic: 'orders', 'reply-to': 'replies' } },
      ],
    },
    events: { type: 'sse-kafka', kind: 'proxy', routes: [{ when: [{ path: '/events' }], exit: 'kafka', with: { topic: 'items' } }] },
    kafka: { type: 'kafka', kind: 'cache_client', exit: 'client' },
    client: { type: 'kafka', kind: 'client', options: { servers: ['localhost:9092'] } },
  },
};

test('every http-kafka and sse-kafka route is listed with its kind', () => {
  const routes = allRoutes(config);
  assert.deepEqual(routes.map((r) => [r.binding, r.index, r.kind, r.method, r.path]), [
    ['items', 0, 'produce', 'POST', '/items'],
    ['items', 1, 'fetch', 'GET', '/items/{id}'],
    ['items', 2, 'request-response', 'PUT', '/orders'],
    ['events', 0, 'sse', 'GET', '/events'],
  ]);
  assert.equal(routes[1].guard, 'jwt (read:items)');
  assert.equal(routes[0].guard, '');
});

test('tcp servers are the listeners', () => {
  assert.deepEqual(listeners(config), [{ name: 'tcp', host: '127.0.0.1', port: 7114, exit: 'http' }]);
  assert.deepEqual(listeners({}), []);
});

test('a new route exits where its siblings do, else to a kafka cache client', () => {
  assert.equal(defaultExit(config, config.bindings.items), 'kafka');
  assert.equal(defaultExit(config, { routes: [] }), 'kafka');
  assert.equal(defaultExit({ bindings: {} }, { routes: [] }), undefined);
});

test('a validation error points at the form field it is about', () => {
  const at = '/bindings/items/routes/1';
  assert.equal(fieldOf(`${at}/when/0/method`, at), 'method');
  assert.equal(fieldOf(`${at}/when/0/path`, at), 'path');
  assert.equal(fieldOf(`${at}/with/topic`, at), 'topic');
  assert.equal(fieldOf(`${at}/with/reply-to`, at), 'reply');
  assert.equal(fieldOf(`${at}/guarded/jwt`, at), 'guard');
  assert.equal(fieldOf('/bindings/other/routes/0/with/topic', at), null);
});

test('binding names are escaped as JSON pointer parts', () => {
  assert.equal(pointerPart('a/b~c'), 'a~1b~0c');
});

test('the diff shows added and removed lines with context', () => {
  const lines = diffLines('a\nb\nc', 'a\nB\nc');
  assert.deepEqual(lines.filter((l) => l.kind !== ' ').map((l) => `${l.kind}${l.text}`), ['-b', '+B']);
  const shown = withContext(diffLines('1\n2\n3\n4\n5\n6\n7\n8\n9\n10', '1\n2\n3\n4\n5\n6\n7\n8\n9\nten'));
  assert.ok(shown.some((l) => l.kind === '…'), 'far unchanged lines are folded');
});

test('a route shows the value model its kafka chain declares for its topic', () => {
  const withModels = structuredClone(config);
  withModels.catalogs = {
    reg: { type: 'schema-registry', options: { url: 'http://registry:8081' } },
    local: { type: 'inline', options: { subjects: { item: { schema: '{}' } } } },
  };
  withModels.bindings.kafka.options = { topics: [{ name: 'items', value: { model: 'avro', view: 'json', catalog: { reg: [{ strategy: 'topic' }] } } }] };
  withModels.bindings.kafka.exit = 'server';
  withModels.bindings.server = { type: 'kafka', kind: 'cache_server', options: { topics: [{ name: 'orders', key: 'int32', value: { model: 'json', catalog: { local: [{ subject: 'item' }] } } }] }, exit: 'client' };
  const routes = allRoutes(withModels);
  assert.equal(routes[0].model, 'avro → json · reg (strategy topic)');
  assert.equal(routes[2].model, 'json · local (subject item)');
  assert.equal(routes[3].model, 'avro → json · reg (strategy topic)');
  assert.equal(topicModels(withModels, 'kafka', 'orders').key, 'int32');
  assert.equal(topicModels(withModels, 'kafka', 'nothing'), null);
  assert.equal(describeModel(undefined), '');
  assert.deepEqual(catalogs(withModels), [
    { name: 'reg', type: 'schema-registry', source: 'http://registry:8081' },
    { name: 'local', type: 'inline', source: 'subjects: item' },
  ]);
  assert.equal(allRoutes(config)[0].model, '');
});

test('plots: a path per series on the time axis, broken where a value is missing', async () => {
  const { lines, latest } = await import('../chart.js');
  const { paths, max } = lines([0, 1000, 2000, 3000], [[0, 10, null, 5], [1, 1, 1, 1]], 300, 110);
  assert.equal(max, 10);
  assert.equal(paths[0], 'M0,110 L100,10 M300,60');
  assert.equal(paths[1], 'M0,100 L100,100 L200,100 L300,100');
  assert.equal(lines([], [[]], 10, 10).paths[0], '');
  assert.equal(latest([1, 2.345, null]), '2.35');
  assert.equal(latest([null]), '—');
});
