// The ticks of a sent message in the feed: how its status is drawn. Pure: values in, values out.

// What each status looks like in the feed: the ticks and the word for screen readers and tooltips.
const TICKS = Object.freeze({
  queued: { symbol: '○', label: 'Queued' },
  sent: { symbol: '✓', label: 'Sent' },
  delivered: { symbol: '✓✓', label: 'Delivered' },
  read: { symbol: '✓✓', label: 'Read' },
  played: { symbol: '✓✓', label: 'Played' },
  failed: { symbol: '✗', label: 'Failed' },
});

/** `{symbol, label, title}` of an outgoing message's status; null for a received message. The title
 * of a failed message is its error. */
export function ticks(message) {
  const look = TICKS[message.status];
  if (!look) return null;
  const title = message.status === 'failed' && message.error
    ? `Failed: ${message.error}`
    : look.label;
  return { ...look, title };
}
