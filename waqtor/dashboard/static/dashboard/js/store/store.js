// What the dashboard knows, in one place. Views read it and listen for `change` (detail: the part that
// changed: 'sessions', 'qr', 'messages', 'feed', 'webhooks', 'campaigns', 'campaign-page', 'recipients',
// 'connection', 'selected'); only the features write to it. What it knows of campaigns is in
// `store.campaigns` (campaign-store.js).

import { DEFAULT_SESSION } from '../api/sessions-api.js';
import { CampaignStore } from './campaign-store.js';
import { applyAck, mergeMessage } from './message-status.js';

/** The most messages the page holds; beyond it the oldest (lowest id) go. */
export const MAX_MESSAGES = 1000;

export class Store extends EventTarget {
  /** `clock` is the ServerClock that uptimes and QR expiries are measured against. */
  constructor(clock) {
    super();
    this.clock = clock;
    this.sessions = new Map(); // name → {record, state, readySince}
    this.qr = new Map();
    this.messages = new Map(); // id → message
    this.selected = DEFAULT_SESSION;
    this.connection = { state: 'stopped', retryAt: null, reason: '' };
    // The feed's place in the log: the cursor of the next older page of its query, whether a page is
    // on its way, why the last one failed, and whether the page holds all it may (MAX_MESSAGES).
    this.feed = { nextCursor: null, loading: false, error: '', note: '', full: false };
    this.webhooks = { list: null, error: '', restricted: false }; // list null until fetched
    this.campaigns = new CampaignStore((part) => this.#changed(part));
  }

  /** Forget everything (sign-out), releasing the QR images. */
  reset() {
    for (const name of [...this.qr.keys()]) this.clearQr(name);
    this.sessions.clear();
    this.messages.clear();
    this.selected = DEFAULT_SESSION;
    this.feed = { nextCursor: null, loading: false, error: '', note: '', full: false };
    this.webhooks = { list: null, error: '', restricted: false };
    this.campaigns.reset();
    this.#changed('sessions');
    this.#changed('messages');
    this.#changed('feed');
    this.#changed('webhooks');
    this.#changed('campaigns');
  }

  // ---- sessions ------------------------------------------------------------------------------------

  /** Take a session object of `GET /api/sessions` (its settings, whether it runs, and its state). */
  putRecord(session, at = this.clock.now()) {
    const { state, ...record } = session;
    const known = this.sessions.get(record.name);
    if (known) known.record = record;
    else this.sessions.set(record.name, { record, state: null, readySince: null });
    if (!this.putSession(state, at)) this.#changed('sessions');
  }

  /** Take a session's state object unless a newer one is already known (states from a fetch and from
   * events may cross on the way). `at` is the gateway time the state's `uptime` was measured at.
   * True when it was taken. */
  putSession(state, at = this.clock.now()) {
    const known = this.sessions.get(state.session);
    if (known?.state && Date.parse(known.state.lastUpdate) > Date.parse(state.lastUpdate)) return false;
    const readySince = state.ready ? at - state.uptime * 1000 : null;
    this.sessions.set(state.session, { record: known?.record ?? null, state, readySince });
    if (!state.hasQR) this.clearQr(state.session);
    this.#changed('sessions');
    return true;
  }

  /** Keep only the sessions named in `names` (the others were deleted). */
  retainSessions(names) {
    const keep = new Set(names);
    let removed = false;
    for (const name of [...this.sessions.keys()]) {
      if (keep.has(name)) continue;
      this.sessions.delete(name);
      this.clearQr(name);
      removed = true;
    }
    if (!removed) return;
    this.#changed('sessions');
    if (!this.sessions.has(this.selected)) this.select(DEFAULT_SESSION);
  }

  /** The session's state object, or null. */
  session(name) {
    return this.sessions.get(name)?.state ?? null;
  }

  /** The session's settings (`{name, engine, desired, running, …}`), or null before they are known. */
  record(name) {
    return this.sessions.get(name)?.record ?? null;
  }

  /** Seconds the session has been connected, counted live; null while it is not. */
  uptime(name) {
    const entry = this.sessions.get(name);
    if (!entry || entry.readySince === null) return null;
    return Math.max(0, Math.floor((this.clock.now() - entry.readySince) / 1000));
  }

  // ---- QR codes ------------------------------------------------------------------------------------

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

  // ---- messages ------------------------------------------------------------------------------------

  /** Add messages, or update those with the same id (their status only ever moves forward). */
  putMessages(messages) {
    for (const message of messages) {
      if (typeof message?.id !== 'number') continue;
      this.messages.set(message.id, mergeMessage(this.messages.get(message.id), message));
    }
    this.#trim();
    this.#changed('messages');
  }

  putMessage(message) {
    this.putMessages([message]);
  }

  /** Forget every message (the feed starts again from the log). */
  clearMessages() {
    this.messages.clear();
    this.feed = { ...this.feed, nextCursor: null, full: false };
    this.#changed('messages');
    this.#changed('feed');
  }

  /** Move a message on with its `message_ack` event; false when the page does not hold it. */
  putAck(ack) {
    const known = this.messages.get(ack.id);
    if (!known) return false;
    this.messages.set(ack.id, applyAck(known, ack));
    this.#changed('messages');
    return true;
  }

  /** The messages, newest first (ids grow in the order the gateway logs messages). */
  messagesNewestFirst() {
    return [...this.messages.values()].sort((a, b) => b.id - a.id);
  }

  /** The id of the newest message held, or null. */
  newestMessageId() {
    let newest = null;
    for (const id of this.messages.keys()) if (newest === null || id > newest) newest = id;
    return newest;
  }

  setFeed(patch) {
    this.feed = { ...this.feed, ...patch };
    this.#changed('feed');
  }

  #trim() {
    if (this.messages.size <= MAX_MESSAGES) return;
    const ids = [...this.messages.keys()].sort((a, b) => a - b);
    for (const id of ids.slice(0, ids.length - MAX_MESSAGES)) this.messages.delete(id);
    this.feed = { ...this.feed, full: true };
    this.#changed('feed');
  }

  // ---- webhooks -----------------------------------------------------------------------------------

  /** The webhooks list, or null with why it could not be fetched (the last list stays shown);
   * `restricted`: the key may not see webhooks (no admin scope). */
  setWebhooks(list, error = '', { restricted = false } = {}) {
    this.webhooks = { list: restricted ? null : list ?? this.webhooks.list, error, restricted };
    this.#changed('webhooks');
  }

  // ---- the page ------------------------------------------------------------------------------------

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
