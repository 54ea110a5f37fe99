// Messages: the feed (history from the log, live `message` and `message_ack` events, filter, search,
// export) and the send form.
//
// The page holds the messages it has seen, by id. The feed shows those that match its filter; the same
// filter also goes to the log (`GET /api/messages`) so that matching history the page has not seen yet
// comes in, a page at a time.

import { logQuery, Messages, PAGE_SIZE } from '../api/messages-api.js';
import { $ } from '../lib/dom.js';
import { FeedView } from '../views/feed-view.js';
import { SendView } from '../views/send-view.js';

const SEARCH_DELAY_MS = 300; // typing pauses this long before the log is searched
const CATCH_UP_PAGES = 10; // after a reconnect, at most this many pages are read to find the gap's end

export class MessagesFeature {
  #params = {}; // the log query of the feed's filter
  #query = 0; // number of the latest log query, so older answers lose
  #timer = null;
  #loaded = false;

  /** `catchUpPages`: how many pages a catch-up reads before it starts again from the newest. */
  constructor(api, store, { signal, catchUpPages = CATCH_UP_PAGES }) {
    this.store = store;
    this.catchUpPages = catchUpPages;
    this.messages = new Messages(api);
    this.feed = new FeedView({
      list: $('feed'),
      count: $('feed-count'),
      direction: $('feed-direction'),
      search: $('feed-search'),
      more: $('feed-more'),
      exportButton: $('feed-export'),
      status: $('feed-status'),
    }, store, {
      onFilter: (filter) => this.#filterChanged(filter),
      onMore: () => this.more(),
      onExport: () => this.exportCsv(),
      onMedia: (media) => this.messages.media(media.id, media.fileName),
      signal,
    });
    this.views = [this.feed, new SendView($('send-form'), store, { onSend: (draft) => this.send(draft), signal })];
    this.handlers = {
      message: (frame) => this.store.putMessage(frame.data),
      message_ack: (frame) => this.store.putAck(frame.data),
    };
    signal.addEventListener('abort', () => clearTimeout(this.#timer));
  }

  /** After a (re)connect that did not resume: the first time, load the newest page of the feed's
   * query; later, read the log back from now to the newest message the page holds, so nothing logged
   * while the page was away is missing. After a longer absence than `catchUpPages` pages, it starts
   * again from the newest page rather than show a feed with a hole in it. */
  async refresh() {
    const newest = this.store.newestMessageId();
    if (!this.#loaded || newest === null) {
      await this.#load();
      return;
    }
    let cursor = null;
    for (let page = 0; page < this.catchUpPages; page += 1) {
      const { messages, nextCursor } = await this.messages.page({}, cursor, PAGE_SIZE);
      this.store.putMessages(messages);
      if (!nextCursor || messages.some((message) => message.id <= newest)) return;
      cursor = nextCursor;
    }
    this.store.clearMessages();
    await this.#load();
  }

  /** The next older page of the feed's query. */
  async more() {
    const cursor = this.store.feed.nextCursor;
    if (!cursor || this.store.feed.loading) return;
    await this.#load(cursor);
  }

  /** Every message matching the feed's filter as it is now (typing may not have paused yet), as a
   * CSV file from the export API. */
  async exportCsv() {
    return this.messages.exportCsv(logQuery(this.feed.filter));
  }

  /** Send the form's draft: `{session, to, text, file}`; resolves to the logged message. */
  async send({ session, to, text, file }) {
    const message = file
      ? await this.messages.sendFile({ session, to, caption: text, file })
      : await this.messages.send({ session, to, text });
    this.store.putMessage(message);
    return message;
  }

  #filterChanged(filter) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#params = logQuery(filter);
      this.#load();
    }, SEARCH_DELAY_MS);
  }

  /** Load a page of the feed's query: the newest (a new query) or the one after `cursor`. A failure
   * is shown in the feed, not thrown. */
  async #load(cursor = null) {
    const query = ++this.#query;
    const latest = () => query === this.#query;
    this.store.setFeed({ loading: true, error: '', note: '' });
    try {
      const { messages, nextCursor } = await this.messages.page(this.#params, cursor);
      if (!latest()) return;
      this.#loaded = true;
      this.store.putMessages(messages);
      this.store.setFeed({ loading: false, nextCursor });
    } catch (error) {
      if (!latest()) return;
      if (error.code === 'invalid_phone') {
        // A number still being typed: what the page holds is filtered, the log is asked once it is whole.
        this.store.setFeed({ loading: false, nextCursor: null, note: 'Type the whole number to search older messages.' });
      } else {
        this.store.setFeed({ loading: false, error: `Could not load messages: ${error.message}` });
      }
    }
  }
}
