// A campaign's page: its status (and why it is paused), progress, counts per recipient status, what it
// sends and at what pace, the buttons for the moves its status allows, and the recipients table with a
// status filter, paging and the CSV report.

import { allowedActions, RECIPIENT_STATUSES } from '../lib/campaign-rules.js';
import { $, fill, h, saveBlob } from '../lib/dom.js';
import { formatBytes, formatTime } from '../lib/format.js';
import { campaignPill, progressBar, setProgress, timeLeft } from './campaign-list-view.js';

const ACTIONS = {
  start: ['Start', ''],
  pause: ['Pause', 'secondary'],
  resume: ['Resume', ''],
  cancel: ['Cancel campaign', 'danger'],
  delete: ['Delete', 'danger'],
};
const CONFIRM = {
  cancel: 'Cancel this campaign? Its pending recipients are skipped; this cannot be undone.',
  delete: 'Delete this campaign and its recipients? Their messages stay in the message log.',
};

function fact(term, ...value) {
  return h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, ...value));
}

function pace(throttle = {}) {
  const { minDelay, maxDelay, perMinute, perHour, perDay } = throttle;
  const delay = minDelay === maxDelay ? `${minDelay} s apart` : `${minDelay}–${maxDelay} s apart`;
  const caps = [[perMinute, 'minute'], [perHour, 'hour'], [perDay, 'day']]
    .filter(([cap]) => cap !== null && cap !== undefined).map(([cap, per]) => `${cap} a ${per}`);
  return caps.length ? `${delay}, at most ${caps.join(', ')}` : `${delay}, no caps`;
}

function schedule({ startAt, window } = {}) {
  const parts = [startAt ? `from ${formatTime(startAt)}` : 'at once'];
  if (window) parts.push(`${window.start}–${window.end} ${window.timezone}${window.days?.length < 7 ? ` (${window.days.join(', ')})` : ''}`);
  return parts.join(', ');
}

export class CampaignPageView {
  #error = ''; // why the last action failed
  #key = ''; // what the page was last built from

  /** `onAction(id, action)` moves or deletes the campaign; `onFilter(status)` and `onPage(page)` load
   * the table; `onExport(id, status)` resolves to the CSV report `{blob, fileName}`. */
  constructor(root, store, { onAction, onFilter, onPage, onExport, signal }) {
    this.root = root;
    this.store = store;
    this.onAction = onAction;
    this.onFilter = onFilter;
    this.el = {
      summary: $('campaign-summary'), filter: $('recipient-status'), exportButton: $('recipients-export'),
      status: $('recipients-status'), table: $('recipients'), prev: $('recipients-prev'),
      next: $('recipients-next'), page: $('recipients-page'),
    };
    this.problem = '';
    store.addEventListener('change', (event) => {
      if (event.detail === 'campaign-page') {
        this.#error = '';
        this.problem = '';
      }
      if (event.detail === 'campaigns' || event.detail === 'campaign-page') this.render();
      if (event.detail === 'recipients') this.#renderTable();
    }, { signal });
    this.el.filter.addEventListener('change', () => onFilter(this.el.filter.value), { signal });
    this.el.prev.addEventListener('click', () => onPage(this.store.campaigns.recipients.page - 1), { signal });
    this.el.next.addEventListener('click', () => onPage(this.store.campaigns.recipients.page + 1), { signal });
    this.el.exportButton.addEventListener('click', () => this.#export(onExport), { signal });
  }

  render() {
    const { view, id, error } = this.store.campaigns.page;
    this.root.hidden = view !== 'campaign';
    if (view !== 'campaign') return;
    const campaign = this.store.campaigns.get(id);
    // Progress events come up to twice a second: they move the numbers in place, and the page is
    // rebuilt only when what it offers changes, so a click is never lost to a button being replaced.
    const key = JSON.stringify([id, Boolean(campaign), campaign?.name, campaign?.status, campaign?.reason,
      campaign?.startedAt, campaign?.finishedAt, error, this.#error]);
    if (key === this.#key && campaign) {
      this.#update(campaign);
      return;
    }
    this.#key = key;
    if (!campaign) {
      fill(this.el.summary, error ? h('p', { class: 'error' }, error) : h('p', { class: 'muted' }, 'Loading the campaign…'));
      return;
    }
    fill(this.el.summary,
      error ? h('p', { class: 'error' }, error) : null,
      h('header', { class: 'card-head' },
        h('h3', { id: 'campaign-name' }, campaign.name, h('span', { class: 'tag' }, campaign.session)),
        campaignPill(campaign.status)),
      this.#reason(campaign),
      progressBar(campaign),
      h('dl', { class: 'counts' }, RECIPIENT_STATUSES.map((status) => h('div', { class: `count r-${status}` },
        h('dt', {}, status),
        h('dd', {}, h('button', {
          type: 'button', class: 'link', dataset: { count: status }, title: `Show the ${status} recipients`,
          onclick: () => this.onFilter(status),
        }, String(campaign.counts?.[status] ?? 0)))))),
      h('dl', { class: 'facts' },
        fact('Created', formatTime(campaign.createdAt)),
        fact('Started', campaign.startedAt ? formatTime(campaign.startedAt) : '—'),
        campaign.finishedAt ? fact('Finished', formatTime(campaign.finishedAt))
          : fact('Time left', h('span', { dataset: { role: 'eta' } }, timeLeft(campaign))),
        fact('Sends', schedule(campaign.schedule)),
        fact('Pace', pace(campaign.throttle))),
      campaign.message?.text ? h('blockquote', { class: 'template' }, campaign.message.text) : null,
      campaign.message?.media ? h('p', { class: 'hint', dataset: { role: 'media' } }, `With the ${campaign.message.type} `,
        h('strong', {}, campaign.message.media.fileName ?? 'file'), ` (${formatBytes(campaign.message.media.size)})`) : null,
      this.#actions(campaign));
  }

  #update(campaign) {
    setProgress(this.el.summary.querySelector('.progress'), campaign);
    for (const status of RECIPIENT_STATUSES) {
      this.el.summary.querySelector(`[data-count="${status}"]`).textContent = String(campaign.counts?.[status] ?? 0);
    }
    const eta = this.el.summary.querySelector('[data-role="eta"]');
    if (eta) eta.textContent = timeLeft(campaign);
  }

  #reason({ status, reason }) {
    if (!reason) return null;
    const by = reason.resumesByItself ? ' It continues by itself once the session is connected.' : '';
    return h('p', { class: `reason ${status}`, dataset: { role: 'reason' } },
      h('strong', {}, status === 'failed' ? 'Failed: ' : 'Paused: '), reason.message,
      h('span', { class: 'code' }, reason.code), by);
  }

  #actions(campaign) {
    const buttons = allowedActions(campaign.status).map((action) => {
      const [label, style] = ACTIONS[action];
      const button = h('button', { type: 'button', class: style, dataset: { action } }, label);
      button.addEventListener('click', () => this.#act(button, campaign.id, action));
      return button;
    });
    return h('div', { class: 'card-actions' }, buttons,
      this.#error ? h('p', { class: 'error', id: 'campaign-action-error', role: 'alert' }, this.#error) : null);
  }

  async #act(button, id, action) {
    if (CONFIRM[action] && !window.confirm(CONFIRM[action])) return;
    button.disabled = true;
    this.#error = '';
    try {
      await this.onAction(id, action);
    } catch (error) {
      this.#error = `Could not ${action} the campaign: ${error.message}`;
    } finally {
      button.disabled = false;
    }
    this.render();
  }

  #renderTable() {
    const { rows, page, nextCursor, loading, error, status } = this.store.campaigns.recipients;
    if (this.el.filter.value !== status) this.el.filter.value = status;
    const text = this.problem || error || (loading ? 'Loading recipients…' : '');
    this.el.status.hidden = !text;
    this.el.status.textContent = text;
    this.el.status.className = this.problem || error ? 'error' : 'muted';
    this.el.prev.disabled = page === 0 || loading;
    this.el.next.disabled = !nextCursor || loading;
    this.el.page.textContent = `Page ${page + 1}`;
    if (!rows.length) {
      fill(this.el.table, loading ? null : h('p', { class: 'muted' }, status ? `No recipient is ${status}.` : 'No recipients.'));
      return;
    }
    fill(this.el.table, h('table', { class: 'data recipients' },
      h('thead', {}, h('tr', {}, ['Row', 'Phone', 'Name', 'Status', 'Reason', 'Message', 'Updated'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((row) => h('tr', { dataset: { recipient: row.id, status: row.status } },
        h('td', {}, String(row.row)),
        h('td', { class: 'phone' }, row.phone),
        h('td', {}, row.name ?? ''),
        h('td', {}, h('span', { class: `rstatus r-${row.status}` }, row.status)),
        h('td', { class: 'reason-cell' }, row.reason ?? ''),
        h('td', {}, row.messageId ? `#${row.messageId}` : ''),
        h('td', {}, row.updatedAt ? formatTime(row.updatedAt) : ''))))));
  }

  async #export(onExport) {
    const { id } = this.store.campaigns.page;
    this.el.exportButton.disabled = true;
    this.problem = '';
    try {
      const { blob, fileName } = await onExport(id, this.store.campaigns.recipients.status);
      saveBlob(blob, fileName);
    } catch (error) {
      this.problem = `Could not download the report: ${error.message}`;
    } finally {
      this.el.exportButton.disabled = false;
      this.#renderTable();
    }
  }
}
