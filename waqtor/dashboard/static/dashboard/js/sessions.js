// Which URL does what for a session. The one module that knows the API's layout for sessions, so the
// dashboard's views only ever speak of a session by name.
//
// This gateway runs one session, `default`, reached through the spec's `/api/session/*` and
// `/api/status/*` routes.

export const DEFAULT_SESSION = 'default';

export class Sessions {
  constructor(api) {
    this.api = api;
  }

  /** The state object (as `GET /api/session/state`) of every session. */
  async list() {
    return [await this.api.json('GET', 'api/session/state')];
  }

  /** `{hasQR, qr, expiresAt}` of the session's current QR code. */
  async qr(name) {
    return this.api.json('GET', this.#path(name, 'api/session/qr'));
  }

  /** The session's current QR code drawn as an SVG image; ApiError `no_qr` when there is none. */
  async qrImage(name) {
    return this.api.blob(`${this.#path(name, 'api/session/qr')}?format=svg`, 'image/svg+xml');
  }

  /** Unlink the session's phone; the session then shows a new QR code to link one again. */
  async logout(name) {
    return this.api.json('POST', this.#path(name, 'api/status/logout'));
  }

  #path(name, path) {
    if (name !== DEFAULT_SESSION) {
      throw new Error(`this gateway runs only the "${DEFAULT_SESSION}" session, not "${name}"`);
    }
    return path;
  }
}
