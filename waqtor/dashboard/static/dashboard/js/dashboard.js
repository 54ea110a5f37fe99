// The signed-in dashboard: owns the live socket, the store and the views, and turns what the gateway
// says (fetched state, live events) into the store's contents. `stop()` undoes everything `start()` did.

import { ServerClock } from './clock.js';
import { $ } from './dom.js';
import { LiveSocket } from './live.js';
import { Sessions } from './sessions.js';
import { Store } from './store.js';
import { FeedView } from './views/feed.js';
import { HealthView } from './views/health.js';
import { LinkingView } from './views/linking.js';
import { SessionsView } from './views/sessions.js';

const TICK_MS = 500;

export class Dashboard {
  #abort = new AbortController();
  #ticker = null;
  #qrRequests = new Map(); // session name → number of the latest QR request, so older answers lose

  /** `onRefused()` is called when the gateway refuses the key on the socket. */
  constructor(api, { onRefused }) {
    this.api = api;
    this.sessions = new Sessions(api);
    this.clock = new ServerClock();
    this.store = new Store(this.clock);
    this.live = new LiveSocket((after) => api.websocketUrl(after));
    const signal = this.#abort.signal;
    this.views = [
      new HealthView($('connection'), this.store, { onReconnect: () => this.live.reconnectNow(), signal }),
      new SessionsView($('sessions'), this.store, { signal }),
      new LinkingView($('linking'), this.store, {
        onLogout: (name) => this.logout(name),
        onNewCode: (name) => this.loadQr(name),
        signal,
      }),
      new FeedView({
        list: $('feed'), count: $('feed-count'), direction: $('feed-direction'), search: $('feed-search'),
      }, this.store, { signal }),
    ];
    this.live.addEventListener('state', (event) => this.#connection(event.detail), { signal });
    this.live.addEventListener('open', (event) => {
      // A fresh connection starts from now: what happened before it is fetched. A resumed one gets
      // the missed events replayed instead.
      if (!event.detail.resumed) this.refresh();
    }, { signal });
    this.live.addEventListener('event', (event) => this.#event(event.detail), { signal });
    this.live.addEventListener('frame', (event) => this.clock.observe(event.detail.timestamp), { signal });
    this.live.addEventListener('gap', () => this.refresh(), { signal });
    this.live.addEventListener('refused', () => onRefused(), { signal });
  }

  /** Show `states` (as fetched at sign-in) and go live. */
  start(states) {
    for (const view of this.views) view.render();
    this.#putStates(states);
    this.#ticker = setInterval(() => this.views.forEach((view) => view.tick?.()), TICK_MS);
    this.live.start();
  }

  stop() {
    this.live.stop();
    clearInterval(this.#ticker);
    this.#abort.abort();
    this.store.reset();
  }

  /** Fetch every session's state again, and the QR codes on show. */
  async refresh() {
    try {
      this.#putStates(await this.sessions.list());
    } catch (error) {
      if (!error.unauthorized) console.warn('could not refresh the session state:', error.message);
    }
  }

  async logout(name) {
    await this.sessions.logout(name);
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

  #putStates(states, at) {
    for (const state of states) {
      if (this.store.putSession(state, at) && state.hasQR && !this.store.qr.has(state.session)) {
        this.loadQr(state.session);
      }
    }
  }

  #connection(detail) {
    if (detail.state === 'open') this.clock.restart();
    this.store.setConnection(detail);
  }

  #event(frame) {
    this.clock.observe(frame.timestamp);
    const session = frame.session ?? frame.data?.session ?? null;
    switch (frame.type) {
      case 'session_update':
        this.#putStates([frame.data], frame.timestamp);
        break;
      case 'qr_code':
        if (frame.data?.hasQR && session) this.loadQr(session, frame.data.expiresAt);
        break;
      case 'message':
        if (frame.data?.id) this.store.putMessage(frame.data, session);
        break;
      default:
        break; // events the dashboard does not show
    }
  }
}
