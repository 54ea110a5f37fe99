// Which URL does what for a session. The one module that knows the API's layout for sessions, so the
// dashboard's views only ever speak of a session by name. Every session, `default` included, is
// reached through `/api/sessions/{name}/…`.

export const DEFAULT_SESSION = 'default';

const ACTIONS = new Set(['start', 'stop', 'restart']);

export class Sessions {
  constructor(api) {
    this.api = api;
  }

  /** Every session object (`{name, engine, desired, running, createdAt, config, state}`). */
  async list() {
    return this.api.json('GET', 'api/sessions');
  }

  /** `{hasQR, qr, expiresAt}` of the session's current QR code. */
  async qr(name) {
    return this.api.json('GET', this.#path(name, 'qr'));
  }

  /** The session's current QR code drawn as an SVG image; ApiError `no_qr` when there is none. */
  async qrImage(name) {
    return this.api.blob(this.#path(name, 'qr'), 'image/svg+xml', { format: 'svg' });
  }

  /** Unlink the session's phone; the session then shows a new QR code to link one again. */
  async logout(name) {
    return this.api.json('POST', this.#path(name, 'logout'));
  }

  /** `{code, phone, message}`: a code to type on the phone `phone` to link it without a scan. */
  async pair(name, phone) {
    return this.api.json('POST', this.#path(name, 'pair'), { body: { phone } });
  }

  /** `start`, `stop` or `restart` the session; resolves to its session object afterwards. */
  async act(name, action) {
    if (!ACTIONS.has(action)) throw new Error(`not a session action: ${action}`);
    return this.api.json('POST', this.#path(name, action));
  }

  #path(name, what) {
    return `api/sessions/${encodeURIComponent(name)}/${what}`;
  }
}
