// The gateway's HTTP API as the dashboard uses it. Every request carries the key in the X-API-Key
// header; answers are unwrapped from `{"success": true, "data": …}`, and failures become ApiError with
// the gateway's stable error code.

export class ApiError extends Error {
  /** `status` is the HTTP status (0 when the gateway could not be reached); `code` the error code. */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
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

  url(path) {
    return new URL(path.replace(/^\//, ''), this.root);
  }

  /** The Response of `method path`; ApiError unless it is a 2xx. */
  async request(method, path, { body, accept = 'application/json' } = {}) {
    const headers = { 'X-API-Key': this.#key, Accept: accept };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
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

  async json(method, path, body) {
    const response = await this.request(method, path, { body });
    const envelope = await response.json();
    return envelope.data;
  }

  async blob(path, accept) {
    return (await this.request('GET', path, { accept })).blob();
  }

  /** The URL of the live event socket, resuming after event `after` when given. This is the one place
   * that decides how the socket authenticates: browsers cannot set headers on a WebSocket, so the key
   * travels as `?apiKey=` (the gateway redacts it from its logs). */
  async websocketUrl(after = null) {
    const url = this.url('ws');
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('apiKey', this.#key);
    if (after !== null && after !== undefined) url.searchParams.set('after', String(after));
    return url.href;
  }
}

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = `The gateway answered ${response.status} ${response.statusText}.`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    }
  } catch {
    // not JSON (a proxy's error page): keep the status line
  }
  return new ApiError(response.status, code, message);
}
