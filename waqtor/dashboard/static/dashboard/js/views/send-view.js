// The send form: a text, or a file with an optional caption, to a number, from the chosen session.
// The gateway checks everything; what it refuses is shown with its reason, on the field it is about.

import { $, fill, h } from '../lib/dom.js';
import { errorFields, errorText, peer, sessionStatus, statusLabel } from '../lib/format.js';

// Errors about one value of the form, by their code.
const CODE_FIELDS = { invalid_phone: 'to', not_on_whatsapp: 'to', missing_variables: 'text' };

export class SendView {
  /** `onSend({session, to, text, file})` resolves to the logged message. */
  constructor(form, store, { onSend, signal }) {
    this.form = form;
    this.store = store;
    this.onSend = onSend;
    this.session = $('send-session');
    this.fields = { to: $('send-to'), text: $('send-text'), file: $('send-file') };
    this.fields.caption = this.fields.text; // a file's caption is the text
    this.hint = $('send-hint');
    this.result = $('send-result');
    this.error = $('send-error');
    this.button = form.querySelector('button[type="submit"]');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#submit();
    }, { signal });
    this.session.addEventListener('change', () => this.#renderHint(), { signal });
    store.addEventListener('change', (event) => {
      if (event.detail === 'sessions') this.render();
      if (event.detail === 'selected') {
        this.session.value = store.selected;
        this.#renderHint();
      }
    }, { signal });
  }

  render() {
    const names = [...this.store.sessions.keys()];
    const current = this.session.value || this.store.selected;
    const options = [...this.session.options].map((option) => option.value);
    if (options.join('\n') !== names.join('\n')) {
      fill(this.session, names.map((name) => h('option', { value: name }, name)));
    }
    this.session.value = names.includes(current) ? current : names[0] ?? '';
    this.session.closest('.field').hidden = names.length < 2;
    this.#renderHint();
  }

  #renderHint() {
    const name = this.session.value;
    const status = sessionStatus(this.store.record(name), this.store.session(name));
    const ready = status === 'connected';
    this.hint.hidden = ready || status === 'unknown';
    this.hint.textContent = ready ? '' : `Session ${name} is ${statusLabel(status).toLowerCase()}: it can send once connected.`;
  }

  async #submit() {
    const draft = {
      session: this.session.value,
      to: this.fields.to.value.trim(),
      text: this.fields.text.value,
      file: this.fields.file.files[0] ?? null,
    };
    this.#clear();
    if (!draft.to) {
      this.#fail('Enter the number to send to.', ['to']);
      return;
    }
    if (!draft.file && !draft.text.trim()) {
      this.#fail('Write a message or choose a file.', ['text']);
      return;
    }
    this.button.disabled = true;
    this.button.textContent = 'Sending…';
    try {
      const message = await this.onSend(draft);
      this.fields.text.value = '';
      this.fields.file.value = '';
      this.result.hidden = false;
      this.result.textContent = `Sent to ${peer(message.chat) || draft.to}; its ticks move in the feed.`;
    } catch (error) {
      const code = [error.code, error.details?.reason].filter(Boolean).join(' · ');
      this.#fail(errorText(error), errorFields(error, CODE_FIELDS), code);
    } finally {
      this.button.disabled = false;
      this.button.textContent = 'Send';
    }
  }

  #clear() {
    this.result.hidden = true;
    this.error.hidden = true;
    for (const field of Object.values(this.fields)) field.removeAttribute('aria-invalid');
  }

  #fail(message, fields = [], code = null) {
    this.error.hidden = false;
    fill(this.error, h('strong', {}, 'Not sent: '), message, code ? h('span', { class: 'code' }, code) : null);
    for (const name of fields) this.fields[name]?.setAttribute('aria-invalid', 'true');
    const first = fields.map((name) => this.fields[name]).find(Boolean);
    first?.focus();
  }
}
