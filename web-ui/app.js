// The Sluice web UI, a client of the admin API (no private endpoints). Every string from
// the configuration reaches the page as text (text nodes, `value`), never as markup.
// This module routes: one view per location hash.
import { ApiError, state } from './api.js';
import { h, showNow, view } from './dom.js';
import { guardEditor, guardsView } from './guards.js';
import { historyView } from './history.js';
import { onNavigate } from './nav.js';
import { routeEditor } from './route-editor.js';
import { routesView } from './routes.js';
import { signIn, signOut } from './signin.js';
import { statusView } from './status.js';
import { trafficView } from './traffic.js';

let renders = 0;

async function route() {
  if (!state.token) { signIn(); return; }
  // A view still loading when the next navigation starts must not draw over it.
  const ticket = ++renders;
  const show = (...children) => { if (ticket === renders) showNow(...children); };
  document.querySelector('header.top').hidden = false;
  const [section, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === (section === 'route' || section === 'new-route' ? 'routes' : section === 'guard' ? 'guards' : section)) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  try {
    switch (section) {
      case 'route': await routeEditor(show, decodeURIComponent(rest[0]), Number(rest[1])); break;
      case 'new-route': await routeEditor(show, null, null); break;
      case 'guards': await guardsView(show); break;
      case 'guard': await guardEditor(show, decodeURIComponent(rest[0])); break;
      case 'history': await historyView(show, rest[0] ? Number(rest[0]) : null); break;
      case 'status': await statusView(show); break;
      case 'traffic': await trafficView(show); break;
      default: await routesView(show);
    }
    view.focus({ preventScroll: true });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    show(h('div', { class: 'errors', role: 'alert' }, `The admin API failed: ${error.message}`));
  }
}

document.getElementById('sign-out').addEventListener('click', () => signOut());
onNavigate(route);
window.addEventListener('hashchange', route);
route();

