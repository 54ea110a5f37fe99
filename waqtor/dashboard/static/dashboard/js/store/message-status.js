// A message's status as the page keeps it. Pure: values in, values out.
//
// An outgoing message only moves forward: queued → sent → delivered → read → played, or to failed
// from queued or sent. Answers and events may cross on the way (a page of history fetched while an
// acknowledgement arrives), so whatever is learnt last never moves a status back.

const ORDER = ['queued', 'sent', 'delivered', 'read', 'played', 'failed'];

// The time field of the message that each step fills in.
export const STEP_TIMES = Object.freeze({
  queued: 'queuedAt',
  sent: 'sentAt',
  delivered: 'deliveredAt',
  read: 'readAt',
  played: 'playedAt',
  failed: 'failedAt',
});

/** The further of two statuses (`received` and unknown ones rank below every step). */
export function laterStatus(known, incoming) {
  if (!known) return incoming ?? null;
  if (!incoming) return known;
  return ORDER.indexOf(incoming) > ORDER.indexOf(known) ? incoming : known;
}

/** `known` (a message as the page has it, or undefined) updated with `incoming` (the same message
 * from an answer or an event, or only some of its fields), never moving its status back and never
 * forgetting when a step happened. */
export function mergeMessage(known, incoming) {
  if (!known) return { ...incoming };
  const merged = { ...known, ...incoming };
  merged.status = laterStatus(known.status, incoming.status);
  for (const field of Object.values(STEP_TIMES)) merged[field] = incoming[field] ?? known[field] ?? null;
  merged.error = incoming.error ?? known.error ?? null;
  return merged;
}

/** The message after the `message_ack` event `ack` (`{status, timestamp, error}`). */
export function applyAck(message, ack) {
  const update = { status: ack.status, error: ack.error ?? null };
  if (STEP_TIMES[ack.status]) update[STEP_TIMES[ack.status]] = ack.timestamp;
  return mergeMessage(message, update);
}
