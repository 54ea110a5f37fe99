// Linking by pairing code: for a phone that cannot scan, the user gives its number, the gateway asks
// WhatsApp for a code, and the page shows it to type on the phone (Linked devices → Link a device →
// Link with phone number instead). Offered while the selected session waits for a scan.

import { fill, h } from '../lib/dom.js';
import { errorText } from '../lib/format.js';

// The pairing route reads the number as the send routes do (spaces, dashes, 00 or +), and says why it
// refuses one; the hint tells how to write it.
const NUMBER_FORMAT = 'Enter the number in international format: + and the country code, then the number.';

export class PairingView {
  #codes = new Map(); // session name → {code, phone, message} of the code on show

  /** `onPair(name, phone)` resolves to `{code, phone, message}`. */
  constructor(root, store, { onPair, signal }) {
    this.root = root;
    this.store = store;
    this.onPair = onPair;
    this.phone = h('input', {
      id: 'pair-phone', type: 'tel', autocomplete: 'off', placeholder: '+49 151 12345678', required: true,
    });
    this.button = h('button', { type: 'submit', class: 'secondary' }, 'Get a pairing code');
    this.error = h('p', { id: 'pair-error', class: 'error', role: 'alert', hidden: true });
    this.result = h('div', { id: 'pair-result', class: 'pair-result', 'aria-live': 'polite' });
    this.form = h('form', { id: 'pair-form', class: 'pair-form', novalidate: true },
      h('h3', {}, 'Or link with a phone number'),
      h('p', { class: 'muted' }, 'For a phone that cannot scan: enter its number to get a code to type on it.'),
      h('label', { for: 'pair-phone' }, 'Phone number, international format'),
      h('div', { class: 'inline' }, this.phone, this.button),
      this.error);
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#submit();
    }, { signal });
    fill(root, this.form, this.result);
    store.addEventListener('change', (event) => {
      if (['sessions', 'selected'].includes(event.detail)) this.render();
    }, { signal });
  }

  render() {
    const name = this.store.selected;
    const state = this.store.session(name);
    const record = this.store.record(name);
    const offered = state?.status === 'qr' && state.engine !== 'cloud' && (!record || record.running);
    // A code links only while its session waits for a scan; once linked (or restarted) it is spent.
    for (const [session] of this.#codes) {
      if (this.store.session(session)?.status !== 'qr') this.#codes.delete(session);
    }
    this.root.hidden = !offered;
    const shown = this.#codes.get(name);
    fill(this.result, shown ? [
      h('p', { class: 'muted' }, `Code for +${shown.phone}:`),
      h('p', { id: 'pair-code', class: 'pair-code' }, shown.code),
      h('p', { class: 'hint' }, shown.message),
      shown.expiresAt ? h('p', { id: 'pair-expires', class: 'hint' },
        `Type it before ${new Date(shown.expiresAt).toLocaleTimeString()}; after that, ask for a new code.`) : null,
    ] : null);
  }

  async #submit() {
    const name = this.store.selected;
    const phone = this.phone.value.trim();
    this.error.hidden = true;
    if (!phone) {
      this.#fail('Enter the phone number of the phone to link.');
      return;
    }
    this.button.disabled = true;
    try {
      this.#codes.set(name, await this.onPair(name, phone));
      this.phone.removeAttribute('aria-invalid');
    } catch (error) {
      this.#fail(['invalid_phone', 'validation_error'].includes(error.code)
        ? `${errorText(error)}. ${NUMBER_FORMAT}` : errorText(error));
    } finally {
      this.button.disabled = false;
      this.render();
    }
  }

  #fail(message) {
    this.phone.setAttribute('aria-invalid', 'true');
    this.error.hidden = false;
    this.error.textContent = message;
  }
}
