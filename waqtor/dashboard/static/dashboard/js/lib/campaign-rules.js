// The campaign rules the page needs (pure): which moves a status allows, how far a campaign has got,
// and how the new-campaign form becomes a definition. The gateway decides everything again; these
// only keep the page from offering what it would refuse.

export const RECIPIENT_STATUSES = Object.freeze(
  ['pending', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped', 'unknown']);

// The statuses each action moves a campaign from (docs/api-reference.md#campaigns).
export const MOVES = Object.freeze({
  start: ['draft'],
  pause: ['scheduled', 'running'],
  resume: ['paused'],
  cancel: ['draft', 'scheduled', 'running', 'paused'],
});

/** The actions offered for a campaign in `status`, in the order of the buttons: the moves its status
 * allows, and `delete` unless it is running. */
export function allowedActions(status) {
  const actions = Object.keys(MOVES).filter((action) => MOVES[action].includes(status));
  if (status !== 'running') actions.push('delete');
  return actions;
}

/** `{done, total, percent}`: recipients the gateway is done with (neither pending nor sending). */
export function progressOf(campaign) {
  const counts = campaign.counts ?? {};
  const total = campaign.total ?? 0;
  const done = Math.max(0, total - (counts.pending ?? 0) - (counts.sending ?? 0));
  const percent = typeof campaign.percent === 'number' ? campaign.percent : (total ? (100 * done) / total : 100);
  return { done, total, percent };
}

/** A pasted list as CSV text for the gateway's importer: `{csv, offset}`. A list whose first line has
 * no digit starts with its own header row and goes as it is; otherwise each line is `phone` or
 * `phone, name` and a `phone,name` header is put in front, so the report's row N is line N − offset. */
export function pastedCsv(text) {
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').replace(/^\n+|\n+$/g, '').split('\n');
  if (!/[0-9]/.test(lines[0])) return { csv: `${lines.join('\n')}\n`, offset: 0 };
  return { csv: `phone,name\n${lines.join('\n')}\n`, offset: 1 };
}

const number = (value) => (String(value ?? '').trim() === '' ? null : Number(value));

/** The campaign definition (JSON, without recipients) for the form's values, all strings except the
 * checkboxes and `media` (whether a file goes with it: then an empty text sends the file alone):
 * `{name, session, text, media, minDelay, maxDelay, perMinute, perHour, perDay, checkWhatsApp,
 * stopAfter, startAt (a datetime-local value, read in the browser's zone), windowStart, windowEnd,
 * timezone, days (the window's days, e.g. ['mon', 'tue']), start}`. An empty cap is no cap; no window
 * without both its times; a window on every day leaves `days` to the gateway's default. */
export function campaignDefinition(values) {
  const definition = {
    name: values.name.trim(),
    session: values.session,
    message: values.media && !values.text.trim() ? {} : { text: values.text },
    throttle: {
      minDelay: number(values.minDelay) ?? 0,
      maxDelay: number(values.maxDelay) ?? 0,
      perMinute: number(values.perMinute),
      perHour: number(values.perHour),
      perDay: number(values.perDay),
    },
    options: { checkWhatsApp: Boolean(values.checkWhatsApp), stopAfterFailures: number(values.stopAfter) },
    start: Boolean(values.start),
  };
  const schedule = {};
  if (values.startAt) schedule.startAt = new Date(values.startAt).toISOString();
  if (values.windowStart && values.windowEnd) {
    schedule.window = { start: values.windowStart, end: values.windowEnd, timezone: values.timezone.trim() || 'UTC' };
    if (values.days && values.days.length < 7) schedule.window.days = values.days;
  }
  if (Object.keys(schedule).length) definition.schedule = schedule;
  return definition;
}
