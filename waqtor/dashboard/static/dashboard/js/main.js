// Entry point: sign in (with the key this tab remembers, or one typed in), then run the dashboard until
// sign-out or until the gateway stops accepting the key.

import { Api } from './api/http-client.js';
import { clearKey, loadKey, saveKey } from './api/key-storage.js';
import { Sessions } from './api/sessions-api.js';
import { Dashboard } from './app/dashboard.js';
import { $ } from './lib/dom.js';
import { SignInView } from './views/sign-in-view.js';

const KEY_REFUSED = 'That API key was refused. Check it and try again.';
const KEY_NO_LONGER_VALID = 'The gateway no longer accepts this key. Sign in again.';

let dashboard = null;
const signIn = new SignInView((key) => start(key));
const app = $('app');
const signOutButton = $('sign-out');

function reason(error) {
  if (error.unauthorized) return KEY_REFUSED;
  if (error.status === 0) return `${error.message} Is it running?`;
  return `The gateway answered: ${error.message}`;
}

async function start(key, { remembered = false } = {}) {
  signIn.busy(true);
  const api = new Api(key);
  let states;
  try {
    states = await new Sessions(api).list();
  } catch (error) {
    if (remembered && error.unauthorized) clearKey();
    signIn.show(remembered && error.unauthorized ? KEY_NO_LONGER_VALID : reason(error));
    document.body.dataset.view = 'sign-in';
    return;
  }
  saveKey(key);
  api.onUnauthorized = () => signOut(KEY_NO_LONGER_VALID);
  signIn.hide();
  app.hidden = false;
  signOutButton.hidden = false;
  document.body.dataset.view = 'dashboard';
  dashboard = new Dashboard(api, { onRefused: () => signOut(KEY_NO_LONGER_VALID) });
  dashboard.start(states);
}

function signOut(message = '') {
  dashboard?.stop();
  dashboard = null;
  clearKey();
  app.hidden = true;
  signOutButton.hidden = true;
  document.body.dataset.view = 'sign-in';
  signIn.show(message);
}

signOutButton.addEventListener('click', () => signOut());

const remembered = loadKey();
if (remembered) start(remembered, { remembered: true });
else {
  document.body.dataset.view = 'sign-in';
  signIn.show();
}
