// What the web UI reads from a configuration: pure functions, no DOM, tested with
// `node --test` (web-ui/test/).

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
        model: describeModel(topicModels(config, r.exit, withs.topic)?.value),
        method: sse ? 'GET' : (r.when ?? []).map((w) => w.method ?? 'any').join(', ') || 'any',
        path: (r.when ?? []).map((w) => w.path ?? '*').join(', ') || '*',
        topic: withs.topic ?? '',
        guard: Object.entries(r.guarded ?? {}).map(([g, roles]) => (roles.length ? `${g} (${roles.join(', ')})` : g)).join('; '),
      });
    });
  }
  return routes;
}

/**
 * The models of `topic` on the kafka chain that starts at binding `exit`: the first cache
 * binding on the way that lists the topic decides, as the gateway does.
 */
function topicModels(config, exit, topic) {
  const bindings = config.bindings ?? {};
  let current = exit;
  for (let hops = 0; current && hops <= Object.keys(bindings).length; hops++) {
    const binding = bindings[current];
    if (!binding || binding.type !== 'kafka' || binding.kind === 'client') return null;
    const found = (binding.options?.topics ?? []).find((t) => t.name === topic);
    if (found) return { key: found.key, value: found.value };
    current = binding.exit;
  }
  return null;
}

/** A model in a few words: `avro → json · my_catalog (strategy topic)`. */
function describeModel(model) {
  if (!model) return '';
  if (typeof model === 'string') return model;
  const view = model.view ? ` → ${model.view}` : '';
  const [catalog, refs] = Object.entries(model.catalog ?? {})[0] ?? [];
  if (!catalog) return `${model.model}${view}`;
  const ref = (refs ?? [])[0] ?? {};
  const pick = ref.subject ? `subject ${ref.subject}` : ref.id !== undefined ? `id ${ref.id}` : ref.strategy ? `strategy ${ref.strategy}` : '';
  return `${model.model}${view} · ${catalog}${pick ? ` (${pick})` : ''}`;
}

/** Every catalog: its type and where its schemas come from. */
function catalogs(config) {
  return Object.entries(config.catalogs ?? {}).map(([name, c]) => {
    const subjects = Object.keys(c.options?.subjects ?? {});
    const source = c.options?.url ?? (subjects.length ? `subjects: ${subjects.join(', ')}` : '');
    return { name, type: c.type, source };
  });
}

function listeners(config) {
  return Object.entries(config.bindings ?? {})
    .filter(([, b]) => b.type === 'tcp' && b.kind === 'server')
    .map(([name, b]) => ({ name, host: b.options?.host ?? '0.0.0.0', port: b.options?.port, exit: b.exit }));
}

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

export { allRoutes, catalogs, defaultExit, describeModel, fieldOf, listeners, pointerPart, topicModels };
