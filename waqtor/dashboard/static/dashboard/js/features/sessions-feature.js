// Sessions: the status cards (with start, stop and restart), linking a phone by QR code or pairing
// code, and logout. Turns `session_update`, `session_deleted` and `qr_code` events and the sessions list
// into the store.

import { Sessions } from '../api/sessions-api.js';
import { $ } from '../lib/dom.js';
import { LinkingView } from '../views/linking-view.js';
import { PairingView } from '../views/pairing-view.js';
import { SessionsView } from '../views/sessions-view.js';

export class SessionsFeature {
  #qrRequests = new Map(); // session name → number of the latest QR request, so older answers lose
  #listing = null; // the sessions list on its way, so a burst of unknown sessions asks once

  constructor(api, store, { signal }) {
    this.store = store;
    this.sessions = new Sessions(api);
    this.views = [
      new SessionsView($('sessions'), store, { onAction: (name, action) => this.act(name, action), signal }),
      new LinkingView($('linking'), store, {
        onLogout: (name) => this.sessions.logout(name),
        onNewCode: (name) => this.loadQr(name),
        signal,
      }),
      new PairingView($('pairing'), store, { onPair: (name, phone) => this.sessions.pair(name, phone), signal }),
    ];
    this.handlers = {
      session_update: (frame) => this.#putStates([frame.data], frame.timestamp),
      session_deleted: (frame) => {
        const gone = frame.data?.session ?? frame.session;
        this.store.retainSessions([...this.store.sessions.keys()].filter((name) => name !== gone));
      },
      qr_code: (frame) => {
        const name = frame.session ?? frame.data?.session;
        if (frame.data?.hasQR && name) this.loadQr(name, frame.data.expiresAt);
      },
    };
  }

  /** Show the session objects fetched at sign-in. */
  start(list) {
    this.#putList(list);
  }

  /** Fetch every session again (after a reconnect that could not resume), and the QR codes on show. */
  async refresh() {
    this.#listing ??= this.sessions.list()
      .then((list) => this.#putList(list))
      .finally(() => { this.#listing = null; });
    return this.#listing;
  }

  /** Start, stop or restart a session; its card shows the answer. */
  async act(name, action) {
    this.store.putRecord(await this.sessions.act(name, action));
  }

  /** Fetch the session's QR image; `expiresAt` (ISO) comes with a `qr_code` event, else it is fetched. */
  async loadQr(name, expiresAt = null) {
    const request = (this.#qrRequests.get(name) ?? 0) + 1;
    this.#qrRequests.set(name, request);
    const latest = () => this.#qrRequests.get(name) === request;
    try {
      let expiry = expiresAt;
      if (!expiry) {
        const qr = await this.sessions.qr(name);
        if (!qr.hasQR) {
          if (latest()) this.store.clearQr(name);
          return;
        }
        expiry = qr.expiresAt;
      }
      const image = await this.sessions.qrImage(name);
      if (latest()) this.store.setQr(name, URL.createObjectURL(image), Date.parse(expiry));
    } catch (error) {
      if (!latest()) return;
      if (error.code === 'no_qr') this.store.clearQr(name);
      else this.store.setQrError(name, `Could not load the QR code: ${error.message}`);
    }
  }

  #putList(list) {
    for (const session of list) {
      this.store.putRecord(session);
      this.#needsQr(session.state);
    }
    this.store.retainSessions(list.map((session) => session.name));
  }

  #putStates(states, at) {
    for (const state of states) {
      const known = this.store.sessions.has(state.session);
      if (this.store.putSession(state, at)) this.#needsQr(state);
      // A session created elsewhere: its settings (engine, running) come with the list.
      if (!known) this.refresh().catch(() => {});
    }
  }

  #needsQr(state) {
    if (state.hasQR && !this.store.qr.has(state.session)) this.loadQr(state.session);
  }
}
