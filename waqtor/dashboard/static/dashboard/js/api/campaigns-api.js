// Which URL does what for campaigns. The one module that knows the API's layout for campaigns; the
// rules the page applies to them (which moves a status allows) are in lib/campaign-rules.js.

import { MOVES } from '../lib/campaign-rules.js';

export const RECIPIENTS_PAGE = 50;

export class Campaigns {
  constructor(api) {
    this.api = api;
  }

  /** `{campaigns, nextCursor}`: a page of campaigns, newest first, each with its counts. */
  async list(cursor = null) {
    return this.api.json('GET', 'api/campaigns', { query: { cursor } });
  }

  async get(id) {
    return this.api.json('GET', this.#path(id));
  }

  /** `{recipients, nextCursor}`: a page of the campaign's recipients in list order. */
  async recipients(id, { status = null, cursor = null, limit = RECIPIENTS_PAGE } = {}) {
    return this.api.json('GET', this.#path(id, 'recipients'), { query: { status, cursor, limit } });
  }

  /** `{blob, fileName}`: the campaign's recipients (those in `status`, or all) as the CSV report. */
  async exportCsv(id, status = null) {
    return this.api.download(this.#path(id, 'recipients'), {
      query: { status, format: 'csv' }, accept: 'text/csv', fallback: `${id}-recipients.csv`,
    });
  }

  /** `start`, `pause`, `resume` or `cancel`; resolves to the campaign as it now stands (ApiError
   * `illegal_transition`, 409, when its status does not allow it). */
  async act(id, action) {
    if (!MOVES[action]) throw new Error(`not a campaign action: ${action}`);
    return this.api.json('POST', this.#path(id, action));
  }

  async remove(id) {
    return this.api.json('DELETE', this.#path(id));
  }

  /** Check (`dryRun`) or create the campaign `definition` with the recipients of the CSV `file` (a
   * Blob) and, when given, the File `media` to send to each: `{campaign, report, preview, dryRun}`. */
  async create(definition, file, fileName, { dryRun = false, media = null } = {}) {
    const form = new FormData();
    form.set('campaign', JSON.stringify(definition));
    form.set('recipients', file, fileName);
    if (media) form.set('media', media, media.name);
    return this.api.json('POST', 'api/campaigns', { form, query: { dryRun: dryRun ? 'true' : null } });
  }

  #path(id, what = '') {
    return `api/campaigns/${encodeURIComponent(id)}${what ? `/${what}` : ''}`;
  }
}
