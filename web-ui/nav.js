// Navigation: the router is registered by app.js, which imports every view; views call
// route() to redraw without importing app.js back.
let router = () => {};
/** Registers the router. */
export function onNavigate(handler) { router = handler; }
/** Draws the view of the current location. */
export function route() { return router(); }
