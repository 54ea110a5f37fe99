// Pure formatting and filtering: values in, strings or booleans out. No DOM, no clock of their own.

export const STATUS_LABELS = Object.freeze({
  connected: 'Connected',
  authenticated: 'Authenticated',
  qr: 'Waiting for scan',
  connecting: 'Connecting',
  disconnected: 'Disconnected',
  stopped: 'Stopped',
});

export function statusLabel(status) {
  return STATUS_LABELS[status] ?? String(status ?? 'unknown');
}

/** What a session card shows as its status: `stopped` when the session does not run (its state then
 * only says `disconnected`), else the state's status. */
export function sessionStatus(record, state) {
  if (record && !record.running) return 'stopped';
  return state?.status ?? 'unknown';
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
 * matched, case-insensitively, against the text, the peer's number and name, and the chat. A query
 * that starts with `+` is a number, matched whatever spaces, dashes or brackets it is written with. */
export function messageMatches(message, { direction = 'all', query = '' } = {}) {
  if (direction !== 'all' && message.direction !== direction) return false;
  let needle = query.trim().toLowerCase();
  if (needle.startsWith('+')) needle = needle.replace(/[\s().-]/g, '');
  if (!needle) return true;
  const haystack = [message.body, message.pushName, peer(message.from), peer(message.to), peer(message.chat)]
    .filter(Boolean)
    .join('\n')
    .toLowerCase();
  return haystack.includes(needle);
}

/** `48213` → `47.1 KB`. */
export function formatBytes(bytes) {
  const n = Math.max(0, Number(bytes) || 0);
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A refusal of the gateway (an ApiError) as one sentence for people: each field of a validation
 * error with its problem, else the gateway's own message. */
export function errorText(error) {
  if (error?.code === 'validation_error' && Array.isArray(error.details) && error.details.length) {
    return error.details.map(({ field, message }) => `${field}: ${message}`).join('; ');
  }
  return error?.message ?? String(error);
}

/** The form fields an error is about: the fields of a validation error, or the field named by a
 * code that is about one value (`invalid_phone` is about the recipient). */
export function errorFields(error, codeFields = {}) {
  if (error?.code === 'validation_error' && Array.isArray(error.details)) {
    return error.details.map(({ field }) => String(field).split('.').at(-1));
  }
  return codeFields[error?.code] ? [codeFields[error.code]] : [];
}
