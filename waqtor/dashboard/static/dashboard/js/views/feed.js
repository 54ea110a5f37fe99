// The live message feed: newest first, each with its direction, peer, time and text; filtered by
// direction and searched over what the page holds.

import { fill, h } from '../dom.js';
import { DIRECTIONS, formatTime, messageMatches, peer } from '../format.js';

export class FeedView {
  /** `elements`: {list, count, direction (a <select>), search (an <input>)}. */
  constructor(elements, store, { signal }) {
    this.el = elements;
    this.store = store;
    store.addEventListener('change', (event) => {
      if (event.detail === 'messages' || event.detail === 'sessions') this.render();
    }, { signal });
    elements.direction.addEventListener('change', () => this.render(), { signal });
    elements.search.addEventListener('input', () => this.render(), { signal });
  }

  get filter() {
    return { direction: this.el.direction.value, query: this.el.search.value };
  }

  render() {
    const all = [...this.store.messages.values()].reverse();
    const filter = this.filter;
    const shown = all.filter((message) => messageMatches(message, filter));
    const manySessions = this.store.sessions.size > 1;
    this.el.count.textContent = shown.length === all.length
      ? `${all.length} message${all.length === 1 ? '' : 's'}`
      : `Showing ${shown.length} of ${all.length} messages`;
    if (!all.length) {
      fill(this.el.list, h('li', { class: 'empty' }, 'No messages yet. They appear here as they arrive.'));
      return;
    }
    if (!shown.length) {
      fill(this.el.list, h('li', { class: 'empty' }, 'No message matches the filter.'));
      return;
    }
    fill(this.el.list, shown.map((message) => this.#item(message, manySessions)));
  }

  #item(message, manySessions) {
    const direction = message.direction === 'out' ? 'out' : 'in';
    const who = direction === 'out' ? (message.to ?? message.chat) : message.from;
    return h('li', { class: `message ${direction}`, dataset: { direction, id: message.id } },
      h('div', { class: 'message-head' },
        h('span', { class: `direction ${direction}` }, direction === 'out' ? '↑ ' : '↓ ', DIRECTIONS[direction]),
        h('strong', { class: 'peer' }, peer(who) || 'unknown'),
        message.pushName ? h('span', { class: 'push-name' }, message.pushName) : null,
        manySessions && message.session ? h('span', { class: 'tag' }, message.session) : null,
        h('time', { datetime: message.timestamp }, formatTime(message.timestamp))),
      h('p', { class: 'body' }, message.body ?? `[${message.type ?? 'message'}]`));
  }
}
