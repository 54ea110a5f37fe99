// What the dashboard knows, in one place. Views read it and listen for `change` (detail: the part that
// changed: 'sessions', 'qr', 'messages', 'connection', 'selected'); only the controller writes to it.

import { DEFAULT_SESSION } from './sessions.js';

export const MAX_MESSAGES = 500;

export class Store extends EventTarget {
  /** `clock` is the ServerClock that uptimes and QR expiries are measured against. */
  constructor(clock) {
    super();
    this.clock = clock;
    this.sessions = new Map();
    this.qr = new Map();
    this.messages = new Map();
    this.selected = DEFAULT_SESSION;
    this.connection = { state: 'stopped', retryAt: null, reason: '' };
  }

  /** Forget everything (sign-out), releasing the QR images. */
  reset() {
    for (const name of [...this.qr.keys()]) this.clearQr(name);
    this.sessions.clear();
    this.messages.clear();
    this.selected = DEFAULT_SESSION;
    this.#changed('sessions');
    this.#changed('messages');
  }

  /** Take a session's state object unless a newer one is already known (states from a fetch and from
   * events may cross on the way). `at` is the gateway time the state's `uptime` was measured at. */
  putSession(state, at = this.clock.now()) {
    const known = this.sessions.get(state.session);
    if (known && Date.parse(known.state.lastUpdate) > Date.parse(state.lastUpdate)) return false;
    const readySince = state.ready ? at - state.uptime * 1000 : null;
    this.sessions.set(state.session, { state, readySince });
    if (!state.hasQR) this.clearQr(state.session);
    this.#changed('sessions');
    return true;
  }

  session(name) {
    return this.sessions.get(name)?.state ?? null;
  }

  /** Seconds the session has been connected, counted live; null while it is not. */
  uptime(name) {
    const entry = this.sessions.get(name);
    if (!entry || entry.readySince === null) return null;
    return Math.max(0, Math.floor((this.clock.now() - entry.readySince) / 1000));
  }

  /** Show `url` (a blob: URL the store now owns) as the session's QR code, valid until `expiresAt`
   * (gateway time, ms). */
  setQr(name, url, expiresAt) {
    const old = this.qr.get(name);
    if (old?.url) URL.revokeObjectURL(old.url);
    this.qr.set(name, { url, expiresAt, error: null });
    this.#changed('qr');
  }

  setQrError(name, error) {
    const old = this.qr.get(name);
    this.qr.set(name, { url: old?.url ?? null, expiresAt: old?.expiresAt ?? null, error });
    this.#changed('qr');
  }

  clearQr(name) {
    const old = this.qr.get(name);
    if (!old) return;
    if (old.url) URL.revokeObjectURL(old.url);
    this.qr.delete(name);
    this.#changed('qr');
  }

  /** Seconds until the session's QR code expires (0 once it has); null when there is none. */
  qrRemaining(name) {
    const qr = this.qr.get(name);
    if (!qr || !Number.isFinite(qr.expiresAt)) return null;
    return Math.max(0, Math.ceil((qr.expiresAt - this.clock.now()) / 1000));
  }

  /** Add a message (or update the one with the same id); the oldest go beyond MAX_MESSAGES. */
  putMessage(message, session) {
    const known = this.messages.get(message.id);
    this.messages.set(message.id, { ...known, ...message, session: session ?? known?.session ?? null });
    while (this.messages.size > MAX_MESSAGES) this.messages.delete(this.messages.keys().next().value);
    this.#changed('messages');
  }

  setConnection(connection) {
    this.connection = connection;
    this.#changed('connection');
  }

  select(name) {
    if (this.selected === name) return;
    this.selected = name;
    this.#changed('selected');
  }

  #changed(part) {
    this.dispatchEvent(new CustomEvent('change', { detail: part }));
  }
}
