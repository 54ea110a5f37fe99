// The connection indicator: live, connecting, or down with the time to the next attempt and a button
// to try at once. While the socket is down the page marks what it shows as possibly out of date.

import { fill, h } from '../lib/dom.js';

export class HealthView {
  constructor(root, store, { onReconnect, signal }) {
    this.root = root;
    this.store = store;
    this.onReconnect = onReconnect;
    store.addEventListener('change', (event) => {
      if (event.detail === 'connection') this.render();
    }, { signal });
  }

  render() {
    const { state, reason } = this.store.connection;
    document.body.dataset.connection = state;
    this.root.hidden = state === 'stopped';
    this.root.dataset.state = state;
    if (state === 'open') {
      fill(this.root, h('span', { class: 'dot' }), 'Live');
    } else if (state === 'connecting') {
      fill(this.root, h('span', { class: 'dot' }), 'Connecting…');
    } else if (state === 'down') {
      const retry = h('button', { type: 'button', class: 'link', id: 'reconnect' }, 'Reconnect now');
      retry.addEventListener('click', () => this.onReconnect());
      fill(this.root, h('span', { class: 'dot' }),
        h('span', { class: 'label' }, 'Disconnected'),
        h('span', { class: 'retry', id: 'retry-in', title: reason }),
        retry);
    }
    this.tick();
  }

  tick() {
    const retryIn = this.root.querySelector('#retry-in');
    const { retryAt } = this.store.connection;
    if (!retryIn || !retryAt) return;
    const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    retryIn.textContent = seconds ? `retrying in ${seconds} s` : 'retrying…';
  }
}
