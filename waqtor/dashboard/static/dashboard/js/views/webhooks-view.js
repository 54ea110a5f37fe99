// The webhooks list: each URL with the events and sessions it receives, and the health of its
// deliveries.

import { fill, h } from '../lib/dom.js';
import { webhookHealth } from './webhook-health.js';

const all = (names) => (!names?.length || names.includes('all') ? 'all' : names.join(', '));

export class WebhooksView {
  /** `onRefresh()` fetches the list again. */
  constructor(root, store, { onRefresh, signal }) {
    this.root = root;
    this.store = store;
    this.onRefresh = onRefresh;
    store.addEventListener('change', (event) => {
      if (event.detail === 'webhooks') this.render();
    }, { signal });
  }

  render() {
    const { list, error, restricted } = this.store.webhooks;
    const refresh = h('button', { type: 'button', class: 'link', id: 'webhooks-refresh' }, 'Refresh');
    refresh.addEventListener('click', () => this.onRefresh().catch(() => {}));
    let body = null;
    if (restricted) {
      fill(this.root, h('p', { class: 'muted', dataset: { role: 'restricted' } },
        'Webhooks are shown to keys with the admin scope; this key does not have it.'));
      return;
    }
    if (list === null) body = error ? null : h('p', { class: 'muted' }, 'Loading webhooks…');
    else if (!list.length) {
      body = h('p', { class: 'muted' }, 'No webhooks. Register one with ', h('code', {}, 'POST /api/webhooks'), '.');
    } else body = this.#table(list);
    fill(this.root, error ? h('p', { class: 'error' }, error) : null, body, h('p', { class: 'hint' }, refresh));
  }

  #table(list) {
    return h('table', { class: 'webhooks' },
      h('thead', {}, h('tr', {}, ['URL', 'Events', 'Sessions', 'Deliveries'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((webhook) => {
        const health = webhookHealth(webhook);
        return h('tr', { dataset: { webhook: webhook.id } },
          h('td', { class: 'url' }, webhook.url),
          h('td', {}, all(webhook.events)),
          h('td', {}, all(webhook.sessions)),
          h('td', {}, h('span', { class: `health ${health.level}`, title: health.title }, health.text)));
      })));
  }
}
