// Which URL does what for messages: the log (history, search, export) and sending. The one module
// that knows the API's layout for messages.

export const PAGE_SIZE = 50;

/** The log's query for what the feed's filter asks: `direction` (`all`, `in` or `out`) and `query`.
 * A query that starts with `+` is a phone number and filters by chat (the log's text search `q` only
 * looks at text and captions); anything else searches the text. Pure. */
export function logQuery({ direction = 'all', query = '' } = {}) {
  const params = {};
  if (direction === 'in' || direction === 'out') params.direction = direction;
  const text = query.trim();
  if (text.startsWith('+')) params.chat = text;
  else if (text) params.q = text.slice(0, 200);
  return params;
}

export class Messages {
  constructor(api) {
    this.api = api;
  }

  /** `{messages, nextCursor}`: one page of the log, newest first, for `params` (as logQuery makes). */
  async page(params = {}, cursor = null, limit = PAGE_SIZE) {
    return this.api.json('GET', 'api/messages', { query: { ...params, cursor, limit } });
  }

  /** Send `text` to `to` from `session`; resolves to the logged message. */
  async send({ session, to, text }) {
    return this.api.json('POST', 'api/messages/send', { body: { session, to, text } });
  }

  /** Upload `file` and send it to `to` from `session`, with `caption` when given. */
  async sendFile({ session, to, caption, file }) {
    const form = new FormData();
    form.set('session', session);
    form.set('to', to);
    if (caption) form.set('caption', caption);
    form.set('file', file, file.name);
    return this.api.json('POST', 'api/messages/send-media', { form });
  }

  /** `{blob, fileName}`: every message matching `params` as CSV, oldest first. */
  async exportCsv(params = {}) {
    return this.api.download('api/messages/export', {
      query: { ...params, format: 'csv' }, accept: 'text/csv', fallback: 'messages.csv',
    });
  }

  /** `{blob, fileName}` of a message's file (`media.id`). */
  async media(id, fileName) {
    return this.api.download(`api/media/${encodeURIComponent(id)}`, { fallback: fileName || 'file' });
  }
}
