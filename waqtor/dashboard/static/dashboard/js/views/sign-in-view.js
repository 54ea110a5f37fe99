// The sign-in form. It only collects the key and shows why a key was refused; checking the key with
// the gateway is the caller's job.

import { $ } from '../lib/dom.js';

export class SignInView {
  /** `onSubmit(key)` is called with the trimmed key when the form is sent. */
  constructor(onSubmit) {
    this.section = $('sign-in');
    this.form = $('sign-in-form');
    this.input = $('api-key');
    this.error = $('sign-in-error');
    this.button = this.form.querySelector('button[type="submit"]');
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      const key = this.input.value.trim();
      if (!key) {
        this.show('Enter the API key.');
        return;
      }
      onSubmit(key);
    });
  }

  /** Show the form, with `message` as the reason when given. */
  show(message = '') {
    this.section.hidden = false;
    this.busy(false);
    this.error.hidden = !message;
    this.error.textContent = message;
    if (message) this.input.select();
    this.input.focus();
  }

  hide() {
    this.section.hidden = true;
    this.input.value = '';
    this.error.hidden = true;
  }

  busy(on) {
    this.button.disabled = on;
    this.button.textContent = on ? 'Checking…' : 'Sign in';
  }
}
