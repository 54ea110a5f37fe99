// The gateway's HTTP API as the dashboard uses it. Every request carries the key in the X-API-Key
// header; answers are unwrapped from `{"success": true, "data": …}`, and failures become ApiError with
// the gateway's stable error code.

export class ApiError extends Error {
  /** `status` is the HTTP status (0 when the gateway could not be reached); `code` the error code;
   * `details` what the gateway added (the fields of a validation error, the reason of an invalid
   * phone number), or null. */
  constructor(status, code, message, details = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  get unauthorized() {
    return this.status === 401;
  }
}

/** The gateway's root URL, worked out from where the dashboard is served (`<root>/dashboard/`), so the
 * dashboard also works behind a reverse proxy that serves the gateway under a path prefix. */
export function gatewayRoot(location = window.location) {
  const url = new URL(location.href);
  const at = url.pathname.lastIndexOf('/dashboard/');
  url.pathname = at >= 0 ? url.pathname.slice(0, at + 1) : '/';
  url.search = '';
  url.hash = '';
  return url;
}

export class Api {
  #key;

  /** `onUnauthorized(error)` is called whenever the gateway refuses the key (401). */
  constructor(key, { root = gatewayRoot(), onUnauthorized = () => {} } = {}) {
    this.#key = key;
    this.root = root;
    this.onUnauthorized = onUnauthorized;
  }

  /** The URL of `path` (relative to the gateway's root), with the `query` entries that have a value. */
  url(path, query = {}) {
    const url = new URL(path.replace(/^\//, ''), this.root);
    for (const [name, value] of Object.entries(query)) {
      if (value !== null && value !== undefined && value !== '') url.searchParams.set(name, String(value));
    }
    return url;
  }

  /** The Response of `method path`; ApiError unless it is a 2xx. `body` goes as JSON, `form` (a
   * FormData) as multipart, with the boundary the browser picks. */
  async request(method, path, { body, form, query, accept = 'application/json' } = {}) {
    const headers = { 'X-API-Key': this.#key, Accept: accept };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(this.url(path, query), {
        method,
        headers,
        body: form ?? (body === undefined ? undefined : JSON.stringify(body)),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch (cause) {
      throw new ApiError(0, 'unreachable', `The gateway could not be reached (${cause.message}).`);
    }
    if (response.ok) return response;
    const error = await errorFrom(response);
    if (error.unauthorized) this.onUnauthorized(error);
    throw error;
  }

  /** The `data` of the answer to `method path`; `options` as for request(). */
  async json(method, path, options = {}) {
    const response = await this.request(method, path, options);
    const envelope = await response.json();
    return envelope.data;
  }

  async blob(path, accept, query) {
    return (await this.request('GET', path, { accept, query })).blob();
  }

  /** A file the gateway offers for download: `{blob, fileName}`, the name from its
   * Content-Disposition (`fallback` when it gives none). Fetched with the key in the header, so the
   * key never travels in a URL the browser could keep in its history or downloads list. */
  async download(path, { query, accept = '*/*', fallback = 'download' } = {}) {
    const response = await this.request('GET', path, { query, accept });
    const blob = await response.blob();
    return { blob, fileName: attachmentName(response.headers.get('Content-Disposition')) ?? fallback };
  }

  /** The URL of the live event socket, resuming after event `after` when given. This is the one place
   * that decides how the socket authenticates: browsers cannot set headers on a WebSocket, so the page
   * asks for a single-use ticket (valid 60 s, the key in the request's header) and only the ticket goes
   * in the URL. The key itself never sits in a URL. */
  async websocketUrl(after = null) {
    const { ticket } = await this.json('POST', 'api/session/websocket/ticket');
    const url = this.url('ws');
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', ticket);
    if (after !== null && after !== undefined) url.searchParams.set('after', String(after));
    return url.href;
  }
}

/** The file name of a `Content-Disposition: attachment; filename="…"` header, or null. */
export function attachmentName(header) {
  const match = /filename="([^"\\/]+)"/.exec(header ?? '');
  return match ? match[1] : null;
}

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = `The gateway answered ${response.status} ${response.statusText}.`;
  let details = null;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      details = body.error.details ?? null;
    }
  } catch {
    // not JSON (a proxy's error page): keep the status line
  }
  return new ApiError(response.status, code, message, details);
}
