// The gateway's clock as seen from the browser. QR expiry and uptime are in the gateway's time; the
// browser's clock may be minutes off, so we keep an estimate of the offset between the two.

export class ServerClock {
  #offset = null;
  #stale = false;

  /** Learn from a server timestamp (ms since the epoch) that was just received. A frame can only be
   * older than it looks (it spent time in transit or in a replay), never newer, so the largest offset
   * seen is the best estimate. */
  observe(serverMs) {
    if (!Number.isFinite(serverMs)) return;
    const offset = serverMs - Date.now();
    if (this.#offset === null || this.#stale || offset > this.#offset) this.#offset = offset;
    this.#stale = false;
  }

  /** After a reconnect the gateway may be another process, with another clock: the next sample
   * replaces the estimate instead of refining it (until then the old one is the best there is). */
  restart() {
    this.#stale = true;
  }

  /** The gateway's time now, in ms since the epoch (the browser's own until a frame arrived). */
  now() {
    return Date.now() + (this.#offset ?? 0);
  }
}
