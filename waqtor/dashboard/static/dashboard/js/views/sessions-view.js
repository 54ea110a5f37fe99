// The status cards: one per session, side by side, with its connection status, account, live uptime,
// counters, engine and last error, and buttons to start, stop or restart it. Clicking a card selects
// the session the linking panel and the send form work on.
//
// A card is built again only when what it shows beyond its counters changed (status, account, error,
// buttons); counters and the update time change in place. Sessions update many times a second while
// messages flow, and a card rebuilt under the pointer would swallow a click on its buttons.

import { fill, h } from '../lib/dom.js';
import { formatDuration, formatTime, sessionStatus, statusLabel } from '../lib/format.js';

function fact(term, ...value) {
  return h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, ...value));
}

export class SessionsView {
  #errors = new Map(); // session name → why its last action failed
  #busy = new Set(); // `${name} ${action}` while that action is on its way
  #cards = new Map(); // session name → {el, shape}: the card on show and what it was built from

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
    const shown = [...this.store.sessions.values()].filter((entry) => entry.state);
    const cards = shown.map(({ record, state }) => {
      const name = state.session;
      const shape = this.#shape(record, state);
      const kept = this.#cards.get(name);
      if (kept && kept.shape === shape) {
        this.#refresh(kept.el, state);
        return kept.el;
      }
      const el = this.#card(record, state);
      this.#cards.set(name, { el, shape });
      return el;
    });
    const names = new Set(shown.map(({ state }) => state.session));
    for (const name of this.#cards.keys()) if (!names.has(name)) this.#cards.delete(name);
    const current = [...this.root.children];
    if (current.length !== cards.length || current.some((el, i) => el !== cards[i])) {
      fill(this.root, cards.length ? cards : h('p', { class: 'muted' }, 'Loading sessions…'));
    }
  }

  /** What a card shows apart from its counters and update time: equal shapes, equal cards. */
  #shape(record, state) {
    const name = state.session;
    const info = state.info ?? {};
    return JSON.stringify([
      sessionStatus(record, state), info.pushname, info.phoneMasked, info.platform, state.engine, state.lastError,
      record ? record.running : null, name === this.store.selected && this.store.sessions.size > 1,
      this.#errors.get(name) ?? null, [...this.#busy].filter((key) => key.startsWith(`${name} `)),
    ]);
  }

  /** Counters and update time, changed in place. */
  #refresh(card, state) {
    const set = (el, text) => {
      if (el && el.textContent !== text) el.textContent = text;
    };
    set(card.querySelector('[data-stat="sent"]'), String(state.stats?.messagesSent ?? 0));
    set(card.querySelector('[data-stat="received"]'), String(state.stats?.messagesReceived ?? 0));
    const updated = card.querySelector('time[data-role="updated"]');
    if (updated && updated.getAttribute('datetime') !== state.lastUpdate) {
      updated.setAttribute('datetime', state.lastUpdate);
      updated.textContent = formatTime(state.lastUpdate);
    }
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
      fact('Updated', h('time', { datetime: state.lastUpdate, dataset: { role: 'updated' } }, formatTime(state.lastUpdate)))),
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
    const key = `${name} ${action}`;
    const button = h('button', { type: 'button', class: style, dataset: { action }, disabled: this.#busy.has(key) }, label);
    button.addEventListener('click', async (event) => {
      event.stopPropagation(); // acting on a card is not choosing it
      this.#busy.add(key);
      this.#errors.delete(name);
      this.render();
      try {
        await this.onAction(name, action);
      } catch (error) {
        this.#errors.set(name, `Could not ${action} the session: ${error.message}`);
      } finally {
        this.#busy.delete(key);
        this.render();
      }
    });
    return button;
  }
}
