// The dashboard's WebSocket to the gateway: reconnects by itself, resumes where it left off, and says at
// every moment whether it is up.
//
// Events it dispatches (all CustomEvents, the payload in `detail`):
//   state    {state: 'connecting'|'open'|'down'|'stopped', attempt, retryAt, reason}
//   open     {resumed}   resumed is true when the connection asked to resume after an event id
//   event    the frame of a gateway event (it has an `id`), each delivered once, in order
//   frame    any other frame (pong, resumed, session_state, error)
//   gap      the gateway no longer holds the events missed since the last one seen: state must be
//            fetched again
//   refused  the gateway refused the key (close code 1008); no further attempt is made

const CLOSE_POLICY = 1008;

export const BACKOFF = Object.freeze({ first: 500, factor: 2, max: 15_000 });

/** The pause before reconnect attempt `attempt` (0-based): growing, capped, with jitter so that many
 * browsers do not all come back at the same instant after a restart. `random` is in [0, 1). */
export function backoffDelay(attempt, random = Math.random(), { first, factor, max } = BACKOFF) {
  const ceiling = Math.min(max, first * factor ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

export class LiveSocket extends EventTarget {
  #urlFor;
  #heartbeat;
  #ws = null;
  #timer = null;
  #pinger = null;
  #lastFrameAt = 0;
  #attempt = 0;
  #state = 'stopped';

  /** `urlFor(after)` resolves to the socket URL, resuming after event id `after` (null: from now). */
  constructor(urlFor, { heartbeatMs = 25_000 } = {}) {
    super();
    this.#urlFor = urlFor;
    this.#heartbeat = heartbeatMs;
    this.lastId = null;
  }

  get state() {
    return this.#state;
  }

  start() {
    if (this.#state !== 'stopped') return;
    window.addEventListener('online', this.#onOnline);
    this.#connect();
  }

  stop() {
    this.#setState('stopped');
    window.removeEventListener('online', this.#onOnline);
    clearTimeout(this.#timer);
    this.#drop();
  }

  /** Try at once instead of waiting for the next attempt. */
  reconnectNow() {
    if (this.#state !== 'down') return;
    clearTimeout(this.#timer);
    this.#connect();
  }

  send(command) {
    if (this.#ws && this.#ws.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(command));
  }

  #onOnline = () => this.reconnectNow();

  async #connect() {
    this.#setState('connecting');
    const resumed = this.lastId !== null;
    let url;
    try {
      url = await this.#urlFor(this.lastId);
    } catch (error) {
      this.#retry(error.message);
      return;
    }
    if (this.#state !== 'connecting') return; // stopped meanwhile
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.onopen = () => {
      this.#attempt = 0;
      this.#lastFrameAt = Date.now();
      this.#pinger = setInterval(() => this.#checkHeartbeat(), this.#heartbeat);
      this.#setState('open');
      this.#emit('open', { resumed });
      this.send({ type: 'ping' }); // its pong carries the gateway's time for the clock estimate
    };
    ws.onmessage = (message) => this.#receive(message.data);
    ws.onclose = (close) => this.#closed(ws, close);
  }

  #receive(text) {
    this.#lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // the gateway only sends JSON; anything else is not ours to interpret
    }
    if (typeof frame.id === 'number') {
      // The gateway never repeats an event on one connection; this guards the seam between two.
      if (this.lastId !== null && frame.id <= this.lastId) return;
      this.lastId = frame.id;
      this.#emit('event', frame);
      return;
    }
    if (frame.type === 'error' && frame.error?.code === 'replay_gap') this.#emit('gap', frame.error);
    this.#emit('frame', frame);
  }

  #closed(ws, close) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    clearInterval(this.#pinger);
    if (this.#state === 'stopped') return;
    if (close.code === CLOSE_POLICY) {
      this.stop();
      this.#emit('refused', { reason: close.reason });
      return;
    }
    this.#retry(close.reason || `connection closed (${close.code})`);
  }

  #retry(reason) {
    const delay = backoffDelay(this.#attempt);
    this.#attempt += 1;
    this.#setState('down', { reason, retryAt: Date.now() + delay });
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  // The gateway pings at the protocol level, which a page cannot see; so the page pings too, and a
  // connection that stays silent for two rounds is taken for dead (a laptop that slept, a dropped
  // network) rather than waiting minutes for the browser to notice.
  #checkHeartbeat() {
    if (Date.now() - this.#lastFrameAt > 2 * this.#heartbeat) {
      const ws = this.#ws;
      this.#drop();
      if (ws) this.#retry('no answer from the gateway');
      return;
    }
    this.send({ type: 'ping' });
  }

  #drop() {
    clearInterval(this.#pinger);
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      ws.close();
    }
  }

  #setState(state, extra = {}) {
    this.#state = state;
    this.#emit('state', { state, attempt: this.#attempt, retryAt: null, reason: '', ...extra });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
