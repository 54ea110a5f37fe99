// Campaigns: the list with a progress bar each, a campaign's page (counts, recipients by page, its
// actions, the CSV report) and the new-campaign form (preview, then create). Live from `campaign`
// events: progress and status move the list and the page, recipient changes move the table's rows.

import { $ } from '../dom.js';
import { Campaigns } from '../campaigns.js';
import { CampaignFormView } from '../views/campaign-form.js';
import { CampaignPageView } from '../views/campaign.js';
import { CampaignListView } from '../views/campaigns.js';

export class CampaignsFeature {
  #listing = null; // the list on its way, so a burst of events about unknown campaigns asks once
  #query = 0; // number of the latest recipients query, so older answers lose

  constructor(api, store, { signal }) {
    this.store = store;
    this.campaigns = new Campaigns(api);
    this.views = [
      new CampaignListView($('campaigns'), store, {
        onOpen: (id) => this.open(id),
        onMore: () => this.more(),
        signal,
      }),
      new CampaignPageView($('campaign'), store, {
        onAction: (id, action) => this.act(id, action),
        onFilter: (status) => this.loadRecipients({ status, page: 0 }),
        onPage: (page) => this.loadRecipients({ page }),
        onExport: (id, status) => this.campaigns.exportCsv(id, status || null),
        signal,
      }),
      new CampaignFormView($('campaign-form'), store, {
        onCheck: (definition, file, fileName) => this.campaigns.create(definition, file, fileName, { dryRun: true }),
        onCreate: (definition, file, fileName) => this.create(definition, file, fileName),
        signal,
      }),
    ];
    $('campaign-new').addEventListener('click', () => store.showCampaigns('new'), { signal });
    $('campaign-back').addEventListener('click', () => store.showCampaigns('list'), { signal });
    this.handlers = { campaign: (frame) => this.#event(frame) };
  }

  /** Fetch the list's first page again, and the campaign on show with its table's page. */
  async refresh() {
    const { view, id } = this.store.campaignPage;
    await Promise.all([this.#list(), view === 'campaign' ? this.#reload(id) : null]);
  }

  async more() {
    const { nextCursor } = this.store.campaignList;
    if (!nextCursor) return;
    try {
      const { campaigns, nextCursor: next } = await this.campaigns.list(nextCursor);
      this.store.setCampaigns(campaigns, next, { append: true });
    } catch (error) {
      this.store.setCampaignsError(`Could not load more campaigns: ${error.message}`);
    }
  }

  /** Show campaign `id`'s page, fetched afresh, with the first page of its recipients. */
  async open(id, notice = '') {
    this.store.showCampaigns('campaign', id, notice);
    this.store.setRecipients({ id, status: '', cursors: [null], page: 0, rows: [], nextCursor: null, error: '' });
    await this.#reload(id);
  }

  /** Start, pause, resume, cancel or delete a campaign. A refusal (a 409 when its status moved on
   * meanwhile, or a delete while it runs) is thrown for the page to show. */
  async act(id, action) {
    if (action === 'delete') {
      await this.campaigns.remove(id);
      this.store.removeCampaign(id);
      this.store.showCampaigns('list');
      return;
    }
    try {
      this.store.putCampaign(await this.campaigns.act(id, action));
    } catch (error) {
      // Refused because it moved on meanwhile (409): show it as it now is, with the refusal.
      if (error.status === 409) await this.#reload(id);
      throw error;
    }
  }

  /** Create the campaign and open its page; resolves to the answer (`{campaign, report, preview}`). */
  async create(definition, file, fileName) {
    const created = await this.campaigns.create(definition, file, fileName);
    const { campaign, report } = created;
    this.store.putCampaign(campaign);
    const left = report.rejected ? `; ${report.rejected} row${report.rejected === 1 ? '' : 's'} left out` : '';
    await this.open(campaign.id, `Created with ${campaign.total} recipient${campaign.total === 1 ? '' : 's'}${left}.`);
    return created;
  }

  /** Load a page of the table: `status` '' for every recipient; `page` counts from 0 and moves one at a
   * time (the API pages by cursor). A failure is shown above the table, not thrown. */
  async loadRecipients({ status = this.store.recipients.status, page }) {
    const current = this.store.recipients;
    const cursors = status === current.status ? current.cursors : [null];
    const cursor = page === cursors.length ? current.nextCursor : cursors[page];
    if (page > 0 && !cursor) return;
    const query = ++this.#query;
    this.store.setRecipients({ status, loading: true, error: '' });
    try {
      const { recipients, nextCursor } = await this.campaigns.recipients(current.id, { status: status || null, cursor });
      if (query !== this.#query) return;
      const kept = cursors.slice(0, page);
      kept[page] = cursor;
      this.store.setRecipients({ rows: recipients, nextCursor, page, cursors: kept, loading: false });
    } catch (error) {
      if (query === this.#query) this.store.setRecipients({ loading: false, error: `Could not load the recipients: ${error.message}` });
    }
  }

  #list() {
    this.#listing ??= this.campaigns.list()
      .then(({ campaigns, nextCursor }) => this.store.setCampaigns(campaigns, nextCursor))
      .catch((error) => {
        this.store.setCampaignsError(`Could not load the campaigns: ${error.message}`);
        throw error;
      })
      .finally(() => { this.#listing = null; });
    return this.#listing;
  }

  async #reload(id) {
    try {
      this.store.putCampaign(await this.campaigns.get(id));
    } catch (error) {
      if (error.code === 'campaign_not_found') {
        this.store.removeCampaign(id);
        this.store.showCampaigns('list', null, 'That campaign no longer exists: it was deleted.');
        return;
      }
      this.store.setCampaignPageError(`Could not load the campaign: ${error.message}`);
      return;
    }
    await this.loadRecipients({ page: this.store.recipients.page });
  }

  #event(frame) {
    const data = frame.data ?? {};
    if (data.kind === 'recipient') {
      this.store.recipientEvent(data, new Date(frame.timestamp).toISOString());
      return;
    }
    // A campaign the page has not seen (made elsewhere): the list brings it, with all it needs.
    if (!this.store.campaignEvent(data) && this.store.campaignList.loaded) this.#list().catch(() => {});
  }
}
