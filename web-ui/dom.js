// DOM building: elements from data (text nodes, never markup), fields, toasts, diffs.
import { diffLines, withContext } from './diff.js';

const view = document.getElementById('view');

/** An element: `attrs` are properties/attributes (`on*` are listeners); children are nodes or text. */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (name === 'value') element.value = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let fieldIds = 0;
/** A labelled input (or select / textarea): { wrap, input, error }. */
function field(label, control, hint) {
  const id = `f${++fieldIds}`;
  control.id = id;
  const error = h('div', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  control.setAttribute('aria-describedby', `${id}-error`);
  const wrap = h('div', {}, h('label', { for: id }, label), control, hint ? h('div', { class: 'muted' }, hint) : null, error);
  return { wrap, input: control, error };
}

function select(options, value) {
  return h('select', {}, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

function toast(message) {
  const box = document.getElementById('toast');
  const note = h('div', {}, message);
  box.append(note);
  setTimeout(() => note.remove(), 5000);
}

function showNow(...children) {
  view.replaceChildren();
  append(view, children);
}

function diffView(before, after) {
  const lines = withContext(diffLines(before, after));
  if (!lines.some((l) => l.kind === '+' || l.kind === '-')) {
    return h('p', { class: 'muted' }, 'No differences.');
  }
  return h('div', { class: 'diff', role: 'region', 'aria-label': 'Differences' },
    lines.map((l) => h('div', { class: l.kind === '+' ? 'add' : l.kind === '-' ? 'del' : l.kind === '…' ? 'gap' : '' },
      l.kind === '…' ? l.text : `${l.kind} ${l.text}`)));
}

const pretty = (value) => JSON.stringify(value, null, 2);
const when = (ms) => (ms ? new Date(ms).toLocaleString() : '—');

export { diffView, field, h, pretty, select, showNow, toast, view, when };
