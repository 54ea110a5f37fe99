// The status cards: one per session, side by side, with its connection status, account, live uptime,
// counters, engine and last error, and buttons to start, stop or restart it. Clicking a card selects
// the session the linking panel and the send form work on.

import { fill, h } from '../dom.js';
import { formatDuration, formatTime, sessionStatus, statusLabel } from '../format.js';

function fact(term, ...value) {
  return h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, ...value));
}

export class SessionsView {
  #errors = new Map(); // session name → why its last action failed

  /** `onAction(name, action)` starts, stops or restarts a session (a promise). */
  constructor(root, store, { onAction, signal }) {
    this.root = root;
    this.store = store;
    this.onAction = onAction;
    store.addEventListener('change', (event) => {
      if (event.detail === 'sessions' || event.detail === 'selected') this.render();
    }, { signal });
  }

  render() {
    const cards = [...this.store.sessions.values()]
      .filter((entry) => entry.state)
      .map(({ record, state }) => this.#card(record, state));
    fill(this.root, cards.length ? cards : h('p', { class: 'muted' }, 'Loading sessions…'));
  }

  /** Called every half second: the uptimes count on without waiting for the gateway. */
  tick() {
    for (const el of this.root.querySelectorAll('[data-uptime]')) {
      const text = this.#uptime(el.dataset.uptime);
      if (el.textContent !== text) el.textContent = text;
    }
  }

  #uptime(name) {
    const seconds = this.store.uptime(name);
    return seconds === null ? '—' : formatDuration(seconds);
  }

  #card(record, state) {
    const name = state.session;
    const selected = name === this.store.selected && this.store.sessions.size > 1;
    const status = sessionStatus(record, state);
    const info = state.info ?? {};
    return h('article', {
      class: `session-card${selected ? ' selected' : ''}`,
      dataset: { session: name, status },
      'aria-label': `Session ${name}`,
      'aria-current': selected ? 'true' : null,
      onclick: () => this.store.select(name),
    },
    h('header', { class: 'card-head' },
      h('h3', {}, h('button', { type: 'button', class: 'link card-name', 'aria-pressed': String(selected) }, name)),
      h('span', { class: `pill status-${status}`, dataset: { role: 'status' } }, statusLabel(status))),
    h('dl', { class: 'facts' },
      fact('Account', info.pushname ?? '—'),
      fact('Phone', info.phoneMasked ?? '—'),
      fact('Platform', info.platform ?? '—'),
      fact('Uptime', h('span', { dataset: { uptime: name } }, this.#uptime(name))),
      fact('Sent', h('span', { dataset: { stat: 'sent' } }, String(state.stats?.messagesSent ?? 0))),
      fact('Received', h('span', { dataset: { stat: 'received' } }, String(state.stats?.messagesReceived ?? 0))),
      fact('Engine', state.engine, state.engine === 'sandbox' ? h('span', { class: 'tag' }, 'simulated') : null),
      fact('Updated', h('time', { datetime: state.lastUpdate }, formatTime(state.lastUpdate)))),
    this.#lastError(state.lastError),
    record ? this.#actions(name, record) : null);
  }

  #lastError(error) {
    if (!error) return h('p', { class: 'last-error none', dataset: { role: 'last-error' } }, 'No error reported');
    return h('p', { class: 'last-error', dataset: { role: 'last-error' } },
      h('strong', {}, 'Last error: '), `${error.message} `,
      h('span', { class: 'muted' }, `(${error.code}, ${formatTime(error.at)})`));
  }

  #actions(name, record) {
    const buttons = record.running
      ? [this.#button(name, 'restart', 'Restart', 'secondary'), this.#button(name, 'stop', 'Stop', 'danger')]
      : [this.#button(name, 'start', 'Start', '')];
    const error = this.#errors.get(name);
    return h('div', { class: 'card-actions' }, buttons,
      error ? h('p', { class: 'error', dataset: { role: 'action-error' } }, error) : null);
  }

  #button(name, action, label, style) {
    const button = h('button', { type: 'button', class: style, dataset: { action } }, label);
    button.addEventListener('click', async (event) => {
      event.stopPropagation(); // acting on a card is not choosing it
      button.disabled = true;
      this.#errors.delete(name);
      try {
        await this.onAction(name, action);
      } catch (error) {
        this.#errors.set(name, `Could not ${action} the session: ${error.message}`);
        this.render();
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }
}
