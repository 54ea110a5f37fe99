// Campaigns: the list with a progress bar each, a campaign's page (counts, recipients by page, its
// actions, the CSV report) and the new-campaign form (preview, then create). Live from `campaign`
// events: progress and status move the list and the page, recipient changes move the table's rows.
// Each request notes when it was sent (`state.events`), so its answer never undoes a newer event.
// What the panel shows is in the address (`#campaign/<id>`, `#campaigns/new`), so a campaign's page can
// be bookmarked, shared with a colleague who has a key, reloaded, and left with the Back button.

import { Campaigns } from '../api/campaigns-api.js';
import { $ } from '../lib/dom.js';
import { CampaignFormView } from '../views/campaign-form-view.js';
import { CampaignListView } from '../views/campaign-list-view.js';
import { CampaignPageView } from '../views/campaign-page-view.js';

const CAMPAIGN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** `{view, id}` for an address's `#…` part: a campaign's page, the new-campaign form, or the list. */
export function addressed(hash) {
  const [kind, rest = ''] = String(hash ?? '').replace(/^#/, '').split('/', 2);
  let id = '';
  try {
    id = decodeURIComponent(rest);
  } catch {
    id = ''; // a malformed escape: no campaign of ours
  }
  if (kind === 'campaign' && CAMPAIGN_ID.test(id)) return { view: 'campaign', id };
  if (kind === 'campaigns' && rest === 'new') return { view: 'new', id: null };
  return { view: 'list', id: null };
}

export class CampaignsFeature {
  #listing = null; // the list on its way, so a burst of events about unknown campaigns asks once…
  #listAgain = false; // …and once more after it, when one came while it was on its way
  #query = 0; // number of the latest recipients query, so older answers lose
  #heard = null; // recipient events that came while a page of the table was on its way

  constructor(api, store, { signal }) {
    this.state = store.campaigns;
    this.campaigns = new Campaigns(api);
    this.views = [
      new CampaignListView($('campaigns'), store, { onOpen: (id) => this.open(id), onMore: () => this.more(), signal }),
      new CampaignPageView($('campaign'), store, {
        onAction: (id, action) => this.act(id, action),
        onFilter: (status) => this.loadRecipients({ status, page: 0 }),
        onPage: (page) => this.loadRecipients({ page }),
        onExport: (id, status) => this.campaigns.exportCsv(id, status || null),
        signal,
      }),
      new CampaignFormView($('campaign-form'), store, {
        onCheck: (definition, file, fileName, media) => this.campaigns.create(definition, file, fileName,
          { dryRun: true, media }),
        onCreate: (definition, file, fileName, media) => this.create(definition, file, fileName, media),
        signal,
      }),
    ];
    $('campaign-new').addEventListener('click', () => this.state.show('new'), { signal });
    $('campaign-back').addEventListener('click', () => this.state.show('list'), { signal });
    this.handlers = { campaign: (frame) => this.#event(frame) };
    store.addEventListener('change', (event) => {
      if (event.detail === 'campaign-page') this.#writeAddress();
    }, { signal });
    window.addEventListener('hashchange', () => this.#readAddress(), { signal });
    this.#readAddress();
  }

  /** The panel as the address names it: a campaign's page, the form, or the list. */
  #readAddress() {
    const { view, id } = this.state.page;
    const wanted = addressed(window.location.hash);
    if (wanted.view === 'campaign') {
      if (view !== 'campaign' || id !== wanted.id) this.open(wanted.id);
    } else if (wanted.view !== view) {
      this.state.show(wanted.view);
    }
  }

  #writeAddress() {
    const { view, id } = this.state.page;
    const hash = view === 'campaign' ? `#campaign/${encodeURIComponent(id)}` : view === 'new' ? '#campaigns/new' : '';
    if (window.location.hash === hash || (!hash && !window.location.hash)) return;
    if (hash) window.location.hash = hash;
    else window.history.pushState(null, '', window.location.pathname + window.location.search);
  }

  /** Fetch the list's first page again, and the campaign on show with its table's page. */
  async refresh() {
    const { view, id } = this.state.page;
    await Promise.all([this.#list(), view === 'campaign' ? this.#reload(id) : null]);
  }

  async more() {
    const { nextCursor } = this.state.list;
    if (!nextCursor) return;
    const since = this.state.events;
    try {
      const { campaigns, nextCursor: next } = await this.campaigns.list(nextCursor);
      this.state.setList(campaigns, next, { append: true, since });
    } catch (error) {
      this.state.setListError(`Could not load more campaigns: ${error.message}`);
    }
  }

  /** Show campaign `id`'s page, fetched afresh, with the first page of its recipients. */
  async open(id, notice = '') {
    this.state.show('campaign', id, notice);
    this.state.setRecipients({ id, status: '', cursors: [null], page: 0, rows: [], nextCursor: null, error: '' });
    await this.#reload(id);
  }

  /** Start, pause, resume, cancel or delete a campaign. A refusal (a 409 when its status moved on
   * meanwhile, or a delete while it runs) is thrown for the page to show. */
  async act(id, action) {
    const since = this.state.events;
    try {
      if (action !== 'delete') {
        this.state.put(await this.campaigns.act(id, action), since);
        return;
      }
      await this.campaigns.remove(id);
      this.state.remove(id);
      this.state.show('list');
    } catch (error) {
      // Refused because it moved on meanwhile (409): show it as it now is, with the refusal.
      if (error.status === 409) await this.#reload(id);
      throw error;
    }
  }

  /** Create the campaign and open its page; resolves to the answer (`{campaign, report, preview}`). */
  async create(definition, file, fileName, media = null) {
    const since = this.state.events;
    const created = await this.campaigns.create(definition, file, fileName, { media });
    const { campaign, report } = created;
    this.state.put(campaign, since);
    const left = report.rejected ? `; ${report.rejected} row${report.rejected === 1 ? '' : 's'} left out` : '';
    await this.open(campaign.id, `Created with ${campaign.total} recipient${campaign.total === 1 ? '' : 's'}${left}.`);
    return created;
  }

  /** Load a page of the table: `status` '' for every recipient; `page` counts from 0 and moves one at a
   * time (the API pages by cursor). A failure is shown above the table, not thrown. */
  async loadRecipients({ status = this.state.recipients.status, page }) {
    const current = this.state.recipients;
    const cursors = status === current.status ? current.cursors : [null];
    const cursor = page === cursors.length ? current.nextCursor : cursors[page];
    if (page > 0 && !cursor) return;
    const query = ++this.#query;
    this.#heard = [];
    this.state.setRecipients({ status, loading: true, error: '' });
    try {
      const { recipients, nextCursor } = await this.campaigns.recipients(current.id, { status: status || null, cursor });
      if (query !== this.#query) return;
      const kept = cursors.slice(0, page);
      kept[page] = cursor;
      this.state.setRecipients({ rows: recipients, nextCursor, page, cursors: kept, loading: false }, this.#heard);
    } catch (error) {
      if (query === this.#query) this.state.setRecipients({ loading: false, error: `Could not load the recipients: ${error.message}` });
    } finally {
      if (query === this.#query) this.#heard = null;
    }
  }

  #list() {
    if (this.#listing) {
      this.#listAgain = true;
      return this.#listing;
    }
    const since = this.state.events;
    this.#listing = this.campaigns.list()
      .then(({ campaigns, nextCursor }) => this.state.setList(campaigns, nextCursor, { since }))
      .catch((error) => {
        this.state.setListError(`Could not load the campaigns: ${error.message}`);
        throw error;
      })
      .finally(() => {
        this.#listing = null;
        if (this.#listAgain) {
          this.#listAgain = false;
          this.#list().catch(() => {});
        }
      });
    return this.#listing;
  }

  async #reload(id) {
    const since = this.state.events;
    try {
      this.state.put(await this.campaigns.get(id), since);
    } catch (error) {
      if (error.code === 'campaign_not_found') {
        this.state.remove(id);
        this.state.show('list', null, 'That campaign no longer exists: it was deleted.');
        return;
      }
      this.state.setPageError(`Could not load the campaign: ${error.message}`);
      return;
    }
    await this.loadRecipients({ page: this.state.recipients.page });
  }

  #event(frame) {
    const data = frame.data ?? {};
    if (data.kind === 'recipient') {
      this.#heard?.push([data, frame.timestamp]);
      this.state.recipientEvent(data, frame.timestamp);
      return;
    }
    // A campaign the page has not seen (made elsewhere): the list brings it, with all it needs.
    if (!this.state.event(data)) this.#list().catch(() => {});
  }
}
