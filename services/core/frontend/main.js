// Buildify's browser app: starts the shell. The pieces live in shell/ (plain ES modules, no build step);
// the gateway's CSP allows scripts and styles from 'self' only: no inline code, no style attributes.

import { Shell } from './shell/shell.js';
import { errorMessage } from './shell/api.js';

export { h } from '/ui/kit.js';
export { ApiError, errorMessage } from './shell/api.js';
export { ModuleLoader } from './shell/loader.js';

const shell = new Shell(document.getElementById('app'));
window.addEventListener('unhandledrejection', (event) => {
  shell.notify(errorMessage(event.reason));
});
shell.start();
