// The campaigns list: each campaign with its status, a progress bar, its counts and the time left,
// moved on live. It also shows which of the panel's three parts is on show (the list, a campaign's
// page, the new-campaign form) and the panel's notice.

import { progressOf } from '../lib/campaign-rules.js';
import { $, fill, h } from '../lib/dom.js';
import { formatDuration, formatTime } from '../lib/format.js';

export const CAMPAIGN_LABELS = Object.freeze({
  draft: 'Draft', scheduled: 'Scheduled', running: 'Running', paused: 'Paused',
  completed: 'Completed', cancelled: 'Cancelled', failed: 'Failed',
});

export function campaignPill(status) {
  return h('span', { class: `pill campaign-${status}`, dataset: { role: 'status' } }, CAMPAIGN_LABELS[status] ?? status);
}

/** A progress bar with what it measures as text beside it; setProgress() moves it on. */
export function progressBar(campaign) {
  return setProgress(h('div', { class: 'progress' },
    h('progress', { max: '100', value: '0' }), h('span', { class: 'progress-text' })), campaign);
}

export function setProgress(el, campaign) {
  const { done, total, percent } = progressOf(campaign);
  const label = `${done} of ${total} done (${Math.floor(percent)}%)`;
  const bar = el.querySelector('progress');
  bar.value = percent;
  bar.dataset.percent = String(percent);
  bar.setAttribute('aria-label', label);
  el.querySelector('.progress-text').textContent = label;
  return el;
}

/** "≈ 2m 05s", or "—" when the gateway gives no estimate or the campaign is not sending (paused). */
export function timeLeft({ etaSeconds, status }) {
  if (etaSeconds === null || etaSeconds === undefined || status === 'paused') return '—';
  return `≈ ${formatDuration(etaSeconds)}`;
}

/** "12 sent · 1 failed · 2 skipped": what reached WhatsApp (sent, delivered or read) and what did not. */
export function outcome(counts = {}) {
  const sent = (counts.sent ?? 0) + (counts.delivered ?? 0) + (counts.read ?? 0);
  const parts = [`${sent} sent`];
  for (const status of ['failed', 'skipped', 'unknown']) if (counts[status]) parts.push(`${counts[status]} ${status}`);
  return parts.join(' · ');
}

export class CampaignListView {
  #rows = new Map(); // id → {key, tr}: a row is rebuilt when its key changes, else moved on in place

  /** `onOpen(id)` shows a campaign's page; `onMore()` loads the next page of the list. */
  constructor(root, store, { onOpen, onMore, signal }) {
    this.root = root;
    this.store = store;
    this.onOpen = onOpen;
    this.back = $('campaign-back');
    this.newButton = $('campaign-new');
    this.notice = $('campaigns-notice');
    // Progress events come up to twice a second: the parts stay and only their content changes, so a
    // click is never lost to a row being replaced under the pointer.
    this.error = h('p', { class: 'error', hidden: true });
    this.body = h('div');
    this.tbody = h('tbody');
    this.table = h('table', { class: 'data campaigns' },
      h('thead', {}, h('tr', {}, ['Campaign', 'Status', 'Progress', 'Outcome', 'Time left'].map((c) => h('th', { scope: 'col' }, c)))),
      this.tbody);
    this.more = h('button', { type: 'button', class: 'secondary more', hidden: true, onclick: () => onMore() },
      'Load older campaigns');
    fill(root, this.error, this.body, this.more);
    store.addEventListener('change', (event) => {
      if (event.detail === 'campaigns' || event.detail === 'campaign-page') this.render();
    }, { signal });
  }

  render() {
    const { view, notice } = this.store.campaigns.page;
    this.root.hidden = view !== 'list';
    this.back.hidden = view === 'list';
    this.newButton.hidden = view === 'new';
    this.notice.hidden = !notice;
    this.notice.textContent = notice;
    const { loaded, nextCursor, error } = this.store.campaigns.list;
    const list = this.store.campaigns.newestFirst();
    this.error.hidden = !error;
    this.error.textContent = error;
    this.more.hidden = !nextCursor;
    if (list.length) {
      this.#fillRows(list);
      if (this.body.firstChild !== this.table) fill(this.body, this.table);
    } else if (loaded) fill(this.body, h('p', { class: 'muted' }, 'No campaigns yet. Start one with New campaign.'));
    else fill(this.body, error ? null : h('p', { class: 'muted' }, 'Loading campaigns…'));
  }

  #fillRows(list) {
    const rows = list.map((campaign) => {
      const key = `${campaign.name}|${campaign.session}|${campaign.status}`;
      let entry = this.#rows.get(campaign.id);
      if (entry?.key === key) this.#update(entry.tr, campaign);
      else {
        entry = { key, tr: this.#row(campaign) };
        this.#rows.set(campaign.id, entry);
      }
      return entry.tr;
    });
    const shown = new Set(list.map((campaign) => campaign.id));
    for (const id of [...this.#rows.keys()]) if (!shown.has(id)) this.#rows.delete(id);
    const same = rows.length === this.tbody.children.length && rows.every((tr, i) => this.tbody.children[i] === tr);
    if (!same) this.tbody.replaceChildren(...rows);
  }

  #row(campaign) {
    return h('tr', { dataset: { campaign: campaign.id, status: campaign.status } },
      h('td', {},
        h('button', { type: 'button', class: 'link campaign-name', onclick: () => this.onOpen(campaign.id) }, campaign.name),
        h('span', { class: 'tag' }, campaign.session),
        h('div', { class: 'muted small' }, `Created ${formatTime(campaign.createdAt)}`)),
      h('td', {}, campaignPill(campaign.status)),
      h('td', { class: 'progress-cell' }, progressBar(campaign)),
      h('td', { dataset: { role: 'outcome' } }, outcome(campaign.counts)),
      h('td', { dataset: { role: 'eta' } }, timeLeft(campaign)));
  }

  #update(tr, campaign) {
    setProgress(tr.querySelector('.progress'), campaign);
    tr.querySelector('[data-role="outcome"]').textContent = outcome(campaign.counts);
    tr.querySelector('[data-role="eta"]').textContent = timeLeft(campaign);
  }
}
