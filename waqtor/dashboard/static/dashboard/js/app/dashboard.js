// The signed-in dashboard: owns the live socket, the store and the features, and hands them what the
// gateway says (fetched state, live events). `stop()` undoes everything `start()` did.
//
// A feature is one part of the dashboard (features/*-feature.js): it makes its views from its section
// of index.html, and has
//   handlers   {eventType: (frame) => …} for the live events it shows,
//   refresh()  what it fetches after a (re)connect that could not resume (the page then missed events),
//   views      each with render() and, for what counts down or up, tick().
// Another part is one more module there, one more section in index.html, and one more entry in
// `features` below.

import { LiveSocket } from '../api/live-socket.js';
import { CampaignsFeature } from '../features/campaigns-feature.js';
import { MessagesFeature } from '../features/messages-feature.js';
import { SessionsFeature } from '../features/sessions-feature.js';
import { WebhooksFeature } from '../features/webhooks-feature.js';
import { $ } from '../lib/dom.js';
import { ServerClock } from '../store/server-clock.js';
import { Store } from '../store/store.js';
import { HealthView } from '../views/health-view.js';

const TICK_MS = 500;

export class Dashboard {
  #abort = new AbortController();
  #ticker = null;

  /** `onRefused()` is called when the gateway refuses the key on the socket. */
  constructor(api, { onRefused }) {
    this.api = api;
    this.clock = new ServerClock();
    this.store = new Store(this.clock);
    this.live = new LiveSocket((after) => api.websocketUrl(after));
    const signal = this.#abort.signal;
    this.sessions = new SessionsFeature(api, this.store, { signal });
    this.messages = new MessagesFeature(api, this.store, { signal });
    this.features = [
      this.sessions,
      this.messages,
      new CampaignsFeature(api, this.store, { signal }),
      new WebhooksFeature(api, this.store, { signal }),
    ];
    this.views = [
      new HealthView($('connection'), this.store, { onReconnect: () => this.live.reconnectNow(), signal }),
      ...this.features.flatMap((feature) => feature.views),
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

  /** Show `sessions` (the session objects fetched at sign-in) and go live. */
  start(sessions) {
    for (const view of this.views) view.render();
    this.sessions.start(sessions);
    this.#ticker = setInterval(() => this.views.forEach((view) => view.tick?.()), TICK_MS);
    this.live.start();
  }

  stop() {
    this.live.stop();
    clearInterval(this.#ticker);
    this.#abort.abort();
    this.store.reset();
  }

  /** Fetch again what every feature shows. */
  async refresh() {
    await Promise.all(this.features.map(async (feature) => {
      try {
        await feature.refresh();
      } catch (error) {
        if (!error.unauthorized) console.warn('could not refresh the dashboard:', error.message);
      }
    }));
  }

  #connection(detail) {
    if (detail.state === 'open') this.clock.restart();
    this.store.setConnection(detail);
  }

  #event(frame) {
    this.clock.observe(frame.timestamp);
    for (const feature of this.features) feature.handlers[frame.type]?.(frame);
  }
}
