// Which URL lists the webhooks. The dashboard only reads them: registering and changing webhooks is
// done through the API (`/api/webhooks`).

export class Webhooks {
  constructor(api) {
    this.api = api;
  }

  /** Every webhook (`{id, url, events, sessions, enabled, consecutiveFailures, disabledReason, …}`),
   * oldest first, without secrets. */
  async list() {
    return this.api.json('GET', 'api/webhooks');
  }
}
