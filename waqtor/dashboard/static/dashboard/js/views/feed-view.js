// The live message feed: newest first, each with its direction, peer, time, text or file, and for a
// sent message its ticks (○ queued, ✓ sent, ✓✓ delivered, blue ✓✓ read, ✗ failed with the error on
// hover). Filtered by direction and searched; older messages load a page at a time; the filter's
// matches export as CSV.

import { fill, h, saveBlob } from '../lib/dom.js';
import { DIRECTIONS, formatBytes, formatTime, messageMatches, peer } from '../lib/format.js';
import { ticks } from './message-ticks.js';

export class FeedView {
  /** `el`: {list, count, direction (a <select>), search (an <input>), more, exportButton, status}.
   * `onFilter(filter)` is told each change of the filter; `onMore()` loads older messages;
   * `onExport()` and `onMedia(media)` resolve to `{blob, fileName}` to save. */
  constructor(el, store, { onFilter, onMore, onExport, onMedia, signal }) {
    this.el = el;
    this.store = store;
    this.onMedia = onMedia;
    this.problem = '';
    store.addEventListener('change', (event) => {
      if (event.detail === 'messages' || event.detail === 'sessions') this.render();
      if (event.detail === 'feed') this.#renderStatus();
    }, { signal });
    const changed = () => {
      this.render();
      onFilter(this.filter);
    };
    el.direction.addEventListener('change', changed, { signal });
    el.search.addEventListener('input', changed, { signal });
    el.more.addEventListener('click', () => onMore(), { signal });
    el.exportButton.addEventListener('click', () => this.#save(el.exportButton, onExport), { signal });
  }

  get filter() {
    return { direction: this.el.direction.value, query: this.el.search.value };
  }

  render() {
    const all = this.store.messagesNewestFirst();
    const filter = this.filter;
    const shown = all.filter((message) => messageMatches(message, filter));
    const manySessions = this.store.sessions.size > 1;
    this.el.count.textContent = shown.length === all.length
      ? `${all.length} message${all.length === 1 ? '' : 's'}`
      : `Showing ${shown.length} of ${all.length} messages`;
    this.#renderStatus();
    if (!all.length) {
      fill(this.el.list, h('li', { class: 'empty' }, 'No messages yet. They appear here as they arrive.'));
    } else if (!shown.length) {
      fill(this.el.list, h('li', { class: 'empty' }, 'No message matches the filter.'));
    } else {
      fill(this.el.list, shown.map((message) => this.#item(message, manySessions)));
    }
  }

  #renderStatus() {
    const { nextCursor, loading, error, note, full } = this.store.feed;
    this.el.more.hidden = !nextCursor || full;
    this.el.more.disabled = loading;
    const text = this.problem || error || note || (loading ? 'Loading messages…' : '')
      || (full ? 'The page holds the newest messages it can; export CSV for all of them.' : '');
    this.el.status.textContent = text;
    this.el.status.className = this.problem || error ? 'error' : 'muted';
    this.el.status.hidden = !text;
  }

  async #save(button, fetchFile) {
    button.disabled = true;
    this.problem = '';
    try {
      const { blob, fileName } = await fetchFile();
      saveBlob(blob, fileName);
    } catch (error) {
      this.problem = `Could not download: ${error.message}`;
    } finally {
      button.disabled = false;
      this.#renderStatus();
    }
  }

  #item(message, manySessions) {
    const direction = message.direction === 'out' ? 'out' : 'in';
    const who = direction === 'out' ? message.chat : message.from ?? message.chat;
    return h('li', { class: `message ${direction}`, dataset: { direction, id: message.id, status: message.status } },
      h('div', { class: 'message-head' },
        h('span', { class: `direction ${direction}` }, direction === 'out' ? '↑ ' : '↓ ', DIRECTIONS[direction]),
        h('strong', { class: 'peer' }, peer(who) || 'unknown'),
        message.pushName ? h('span', { class: 'push-name' }, message.pushName) : null,
        manySessions && message.session ? h('span', { class: 'tag' }, message.session) : null,
        h('time', { datetime: message.timestamp }, formatTime(message.timestamp)),
        direction === 'out' ? this.#ticks(message) : null),
      message.media ? this.#media(message.media) : null,
      message.body || !message.media ? h('p', { class: 'body' }, message.body ?? `[${message.type ?? 'message'}]`) : null);
  }

  #ticks(message) {
    const look = ticks(message);
    if (!look) return null;
    return h('span', {
      class: `ticks status-${message.status}`, dataset: { status: message.status }, title: look.title,
      'aria-label': look.title,
    }, look.symbol);
  }

  #media(media) {
    const name = media.fileName || media.kind;
    const label = `${name} · ${formatBytes(media.size)}`;
    if (!media.available) return h('p', { class: 'media muted' }, `${label} (removed by retention)`);
    const button = h('button', { type: 'button', class: 'link', dataset: { media: media.id } }, 'Download');
    button.addEventListener('click', () => this.#save(button, () => this.onMedia(media)));
    return h('p', { class: 'media' }, h('span', { class: 'tag' }, media.kind), ` ${label} `, button);
  }
}
