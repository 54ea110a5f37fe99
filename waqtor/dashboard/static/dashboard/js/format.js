// Pure formatting and filtering: values in, strings or booleans out. No DOM, no clock of their own.

export const STATUS_LABELS = Object.freeze({
  connected: 'Connected',
  authenticated: 'Authenticated',
  qr: 'Waiting for scan',
  connecting: 'Connecting',
  disconnected: 'Disconnected',
});

export function statusLabel(status) {
  return STATUS_LABELS[status] ?? String(status ?? 'unknown');
}

const pad = (n) => String(n).padStart(2, '0');

/** `3725` → `1h 02m 05s`; days show as `2d 03h 04m`. Negative or missing counts as 0. */
export function formatDuration(totalSeconds) {
  const s = Math.max(0, Math.floor(Number(totalSeconds) || 0));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  if (days) return `${days}d ${pad(hours)}h ${pad(minutes)}m`;
  if (hours) return `${hours}h ${pad(minutes)}m ${pad(seconds)}s`;
  if (minutes) return `${minutes}m ${pad(seconds)}s`;
  return `${seconds}s`;
}

/** A time as `HH:MM:SS` in the browser's zone, with the date in front when it is not `now`'s day. */
export function formatTime(value, now = new Date()) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  if (date.toDateString() === now.toDateString()) return time;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

const PHONE_SERVERS = new Set(['s.whatsapp.net', 'c.us']);

/** Who a WhatsApp id names: a person's id reads as their number (`4915112345678@s.whatsapp.net` →
 * `+4915112345678`, a device suffix `:12` dropped); any other id (a group, a broadcast) as its user part. */
export function peer(jid) {
  if (!jid) return '';
  const [user, server = ''] = String(jid).split('@');
  const id = user.split(':')[0];
  return PHONE_SERVERS.has(server) && /^[0-9]+$/.test(id) ? `+${id}` : id;
}

export const DIRECTIONS = Object.freeze({ in: 'Received', out: 'Sent' });

/** Whether `message` passes the feed's filter: `direction` is `all`, `in` or `out`; `query` is
 * matched, case-insensitively, against the text, the peer's number and name, and the chat. */
export function messageMatches(message, { direction = 'all', query = '' } = {}) {
  if (direction !== 'all' && message.direction !== direction) return false;
  const needle = query.trim().toLowerCase();
  if (!needle) return true;
  const haystack = [message.body, message.pushName, peer(message.from), peer(message.to), peer(message.chat)]
    .filter(Boolean)
    .join('\n')
    .toLowerCase();
  return haystack.includes(needle);
}
