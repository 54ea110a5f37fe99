// Linking a phone to the selected session: the QR code as an image with a countdown to its expiry
// while the session waits for a scan, and a one-click logout (which brings a new QR code) once linked.
// The pairing-code form sits beside it (pairing-view.js).

import { $, fill, h } from '../lib/dom.js';
import { statusLabel } from '../lib/format.js';

const STEPS = [
  'Open WhatsApp on the phone.',
  'Go to Settings → Linked devices → Link a device.',
  'Point the phone at this code.',
];

export class LinkingView {
  // The QR code on screen: its image URL, the seconds it had left when it appeared, and its <img>, kept
  // while the code is the same, so a render for another reason (the sessions fetched again after the
  // socket opens) does not swap the image under the reader's eyes.
  #shown = null;
  #total = 0;
  #image = null;

  /** `onLogout(name)` and `onNewCode(name)` return promises; their errors are shown here. */
  constructor(root, store, { onLogout, onNewCode, signal }) {
    this.root = root;
    this.title = $('linking-session');
    this.store = store;
    this.onLogout = onLogout;
    this.onNewCode = onNewCode;
    store.addEventListener('change', (event) => {
      if (['sessions', 'qr', 'selected'].includes(event.detail)) this.render();
    }, { signal });
  }

  render() {
    const name = this.store.selected;
    const state = this.store.session(name);
    const record = this.store.record(name);
    this.title.textContent = this.store.sessions.size > 1 ? `: ${name}` : '';
    if (!state) {
      fill(this.root, h('p', { class: 'muted' }, 'Loading…'));
      return;
    }
    this.root.dataset.status = state.status;
    if (record && !record.running) {
      fill(this.root, h('p', { class: 'waiting' }, `Session ${name} is stopped. Start it to link a phone.`));
    } else if (state.engine === 'cloud') {
      fill(this.root, h('p', { class: 'waiting' },
        'This session uses the WhatsApp Cloud API: its number is registered in Meta\'s WhatsApp Manager, '
        + 'not linked from a phone.'));
    } else if (state.status === 'qr') {
      fill(this.root, this.#qr(name));
    } else if (state.status === 'connected' || state.status === 'authenticated') {
      fill(this.root, this.#linked(name, state));
    } else {
      fill(this.root, h('p', { class: 'waiting' },
        `The session is ${statusLabel(state.status).toLowerCase()}. A QR code appears here as soon as it is `
        + 'ready to link a phone.'));
    }
    this.tick();
  }

  tick() {
    const countdown = this.root.querySelector('#qr-countdown');
    if (!countdown) return;
    const remaining = this.store.qrRemaining(this.store.selected);
    const expired = remaining === 0;
    countdown.textContent = remaining === null ? '' : expired
      ? 'This code has expired; a new one is on its way.' : `Expires in ${remaining} s`;
    const bar = this.root.querySelector('#qr-progress');
    if (bar && remaining !== null) bar.value = remaining;
    this.root.querySelector('#qr-new')?.toggleAttribute('hidden', !expired);
    this.root.querySelector('.qr-frame')?.classList.toggle('expired', expired);
  }

  #qr(name) {
    const qr = this.store.qr.get(name);
    if (!qr?.url) {
      return h('p', { class: qr?.error ? 'error' : 'muted' }, qr?.error ?? 'Fetching the QR code…');
    }
    if (this.#shown !== qr.url) {
      this.#shown = qr.url;
      this.#total = Math.max(1, this.store.qrRemaining(name) ?? 1);
      this.#image = h('img', { id: 'qr-image', src: qr.url, alt: `QR code to link a phone to session ${name}`, width: 240, height: 240 });
    }
    const newCode = h('button', { id: 'qr-new', type: 'button', class: 'secondary', hidden: true }, 'Get a new code');
    newCode.addEventListener('click', () => this.#act(newCode, () => this.onNewCode(name)));
    return [
      h('div', { class: 'qr-frame' }, this.#image),
      h('p', { class: 'countdown' }, h('span', { id: 'qr-countdown', role: 'timer' })),
      h('progress', { id: 'qr-progress', max: String(this.#total), value: String(this.#total) }),
      newCode,
      qr.error ? h('p', { class: 'error' }, qr.error) : null,
      h('ol', { class: 'steps' }, STEPS.map((step) => h('li', {}, step))),
    ];
  }

  #linked(name, state) {
    const info = state.info ?? {};
    const who = [info.pushname, info.phoneMasked].filter(Boolean).join(' · ') || 'a phone';
    const logout = h('button', { id: 'logout', type: 'button', class: 'danger' }, 'Log out and link again');
    logout.addEventListener('click', () => this.#act(logout, () => this.onLogout(name)));
    return [
      h('p', { class: 'linked' }, 'Linked to ', h('strong', {}, who), '.'),
      h('p', { class: 'muted' },
        'Logging out unlinks this phone; a new QR code then appears here to link it, or another one, again.'),
      logout,
      h('p', { class: 'error', id: 'linking-error', hidden: true }),
    ];
  }

  async #act(button, action) {
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      const place = this.root.querySelector('#linking-error') ?? this.root.appendChild(h('p', { class: 'error' }));
      place.hidden = false;
      place.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }
}
