// The status cards: one per session, with its connection status, account, live uptime, counters,
// engine and last error.

import { fill, h } from '../dom.js';
import { formatDuration, formatTime, statusLabel } from '../format.js';

function fact(term, ...value) {
  return h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, ...value));
}

export class SessionsView {
  constructor(root, store, { signal }) {
    this.root = root;
    this.store = store;
    store.addEventListener('change', (event) => {
      if (event.detail === 'sessions' || event.detail === 'selected') this.render();
    }, { signal });
  }

  render() {
    const cards = [...this.store.sessions.values()].map(({ state }) => this.#card(state));
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

  #card(state) {
    const name = state.session;
    const selected = name === this.store.selected && this.store.sessions.size > 1;
    const info = state.info ?? {};
    const error = state.lastError;
    return h('article', {
      class: `session-card${selected ? ' selected' : ''}`,
      dataset: { session: name, status: state.status },
      'aria-label': `Session ${name}`,
      onclick: () => this.store.select(name),
    },
    h('header', { class: 'card-head' },
      h('h3', {}, name),
      h('span', { class: `pill status-${state.status}`, dataset: { role: 'status' } }, statusLabel(state.status))),
    h('dl', { class: 'facts' },
      fact('Account', info.pushname ?? '—'),
      fact('Phone', info.phoneMasked ?? '—'),
      fact('Platform', info.platform ?? '—'),
      fact('Uptime', h('span', { dataset: { uptime: name } }, this.#uptime(name))),
      fact('Sent', h('span', { dataset: { stat: 'sent' } }, String(state.stats?.messagesSent ?? 0))),
      fact('Received', h('span', { dataset: { stat: 'received' } }, String(state.stats?.messagesReceived ?? 0))),
      fact('Engine', state.engine, state.engine === 'sandbox' ? h('span', { class: 'tag' }, 'simulated') : null),
      fact('Updated', h('time', { datetime: state.lastUpdate }, formatTime(state.lastUpdate)))),
    error
      ? h('p', { class: 'last-error', dataset: { role: 'last-error' } },
        h('strong', {}, 'Last error: '), `${error.message} `,
        h('span', { class: 'muted' }, `(${error.code}, ${formatTime(error.at)})`))
      : h('p', { class: 'last-error none', dataset: { role: 'last-error' } }, 'No error reported'));
  }
}
