// Webhooks, read only: where the gateway delivers events and how those deliveries are going. The list
// is fetched after every (re)connect, when a webhook is disabled (`webhook_disabled`), and on demand.

import { Webhooks } from '../api/webhooks-api.js';
import { $ } from '../lib/dom.js';
import { WebhooksView } from '../views/webhooks-view.js';

export class WebhooksFeature {
  constructor(api, store, { signal }) {
    this.store = store;
    this.webhooks = new Webhooks(api);
    this.views = [new WebhooksView($('webhooks'), store, { onRefresh: () => this.refresh(), signal })];
    this.handlers = { webhook_disabled: () => this.refresh().catch(() => {}) };
  }

  async refresh() {
    try {
      this.store.setWebhooks(await this.webhooks.list());
    } catch (error) {
      if (error.code === 'insufficient_scope') {
        // Webhooks are the admin's business: a key without that scope is not a failure to report.
        this.store.setWebhooks(null, '', { restricted: true });
        return;
      }
      this.store.setWebhooks(null, `Could not load the webhooks: ${error.message}`);
      throw error;
    }
  }
}
