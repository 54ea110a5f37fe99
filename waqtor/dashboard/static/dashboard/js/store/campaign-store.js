// What the dashboard knows of campaigns: `store.campaigns` (see store.js). It tells the store of each
// change, with the part that changed: 'campaigns' (the campaigns themselves and the list's state),
// 'campaign-page' (what the panel shows) or 'recipients' (the table's page).
//
// Answers and events cross on the way. Every change of a campaign is followed by an event (the gateway
// coalesces progress, but the last event has the final counts), so a campaign's latest event is never
// older than what the page should show. An answer to a request sent before one of the campaign's
// events arrived may be older than that event: its status and counts then stay as the events left
// them. A recipient row keeps the newer of an event and an answer by the gateway's own times.

const EVENT_FIELDS = ['status', 'reason', 'total', 'counts', 'percent', 'etaSeconds'];

export class CampaignStore {
  #changed;
  #lastEvent = new Map(); // campaign id → the number of the latest event about it

  /** `changed(part)` is told of each change. */
  constructor(changed) {
    this.#changed = changed;
    this.reset();
  }

  /** Forget everything (sign-out). */
  reset() {
    this.byId = new Map(); // id → campaign, as the API answers it, moved on by its events
    this.list = { loaded: false, nextCursor: null, error: '' };
    this.page = { view: 'list', id: null, notice: '', error: '' }; // view: list, campaign or new
    this.recipients = { id: null, status: '', cursors: [null], page: 0, rows: [], nextCursor: null, loading: false, error: '' };
    this.events = 0; // campaign events taken so far: a request notes it to say when it was sent
    this.#lastEvent.clear();
  }

  get(id) {
    return this.byId.get(id) ?? null;
  }

  /** The campaigns known, newest first. */
  newestFirst() {
    return [...this.byId.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  /** Take a page of `GET /api/campaigns` asked for when `events` was `since`: the first page (what
   * is known is replaced) or, with `append`, the next one. */
  setList(campaigns, nextCursor, { append = false, since } = {}) {
    const fresh = campaigns.map((campaign) => this.#fresh(campaign, since));
    if (!append) this.byId.clear();
    for (const campaign of fresh) this.byId.set(campaign.id, campaign);
    this.list = { loaded: true, nextCursor, error: '' };
    this.#changed('campaigns');
  }

  setListError(error) {
    this.list = { ...this.list, error };
    this.#changed('campaigns');
  }

  /** Take a campaign the API answered to a request sent when `events` was `since`. */
  put(campaign, since) {
    this.byId.set(campaign.id, this.#fresh(campaign, since));
    this.#changed('campaigns');
  }

  remove(id) {
    this.byId.delete(id);
    this.#changed('campaigns');
  }

  /** Move a campaign on with the `data` of a `campaign` event (progress: its counts; started, paused…:
   * its status and reason); false when the page does not know it. */
  event(data) {
    this.events += 1;
    this.#lastEvent.set(data.campaignId, this.events);
    const known = this.byId.get(data.campaignId);
    if (!known) return false;
    if (data.kind === 'progress') {
      const { status, total, counts, percent, etaSeconds } = data;
      this.byId.set(known.id, { ...known, status, total, counts, percent, etaSeconds });
    } else {
      const reason = data.reason ? { ...data.reason, resumesByItself: data.reason.resumesByItself ?? false } : null;
      this.byId.set(known.id, { ...known, name: data.name ?? known.name, status: data.status, reason });
    }
    this.#changed('campaigns');
    return true;
  }

  /** Show the list, a campaign's page (`id`) or the new-campaign form, with an optional notice. */
  show(view, id = null, notice = '') {
    this.page = { view, id, notice, error: '' };
    this.#changed('campaign-page');
  }

  setPageError(error) {
    this.page = { ...this.page, error };
    this.#changed('campaign-page');
  }

  /** Change the table's state; new `rows` keep what `events` (recipient events that came while they
   * were on their way) say when that is newer. */
  setRecipients(patch, events = []) {
    this.recipients = { ...this.recipients, ...patch };
    for (const [data, at] of events) this.#moveRow(data, at);
    this.#changed('recipients');
  }

  /** Move a row of the table with a `recipient` event sent at `at` (gateway time, ms), unless the row
   * is newer; false when the table does not show it. */
  recipientEvent(data, at) {
    if (!this.#moveRow(data, at)) return false;
    this.#changed('recipients');
    return true;
  }

  #moveRow(data, at) {
    const { id, rows } = this.recipients;
    const index = data.campaignId === id ? rows.findIndex((row) => row.id === data.recipientId) : -1;
    if (index < 0) return false;
    const row = rows[index];
    if (row.updatedAt && Date.parse(row.updatedAt) > at) return false;
    const { status, reason, messageId } = data;
    rows[index] = { ...row, status, reason, messageId, updatedAt: new Date(at).toISOString() };
    return true;
  }

  #fresh(campaign, since) {
    const known = this.byId.get(campaign.id);
    if (since === undefined || !known || (this.#lastEvent.get(campaign.id) ?? 0) <= since) return campaign;
    return { ...campaign, ...Object.fromEntries(EVENT_FIELDS.map((field) => [field, known[field]])) };
  }
}
