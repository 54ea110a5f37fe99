// How a webhook's deliveries are going, in the words the webhooks list shows.

/** How a webhook's deliveries are going: `{level: 'ok'|'warn'|'bad', text, title}`. Pure. */
export function webhookHealth(webhook) {
  if (!webhook.enabled) {
    return { level: 'bad', text: 'Disabled', title: webhook.disabledReason ?? 'Disabled through the API.' };
  }
  const failures = webhook.consecutiveFailures ?? 0;
  if (failures > 0) {
    const waiting = webhook.waiting ?? 0;
    const text = `${failures} ${failures === 1 ? 'delivery' : 'deliveries'} given up in a row`
      + (waiting ? `; ${waiting} waiting` : '');
    return { level: 'warn', text, title: 'See GET /api/webhooks/{id}/deliveries for the reasons.' };
  }
  const waiting = webhook.waiting ?? 0;
  const queued = waiting ? `; ${waiting} ${waiting === 1 ? 'delivery' : 'deliveries'} waiting` : '';
  return { level: 'ok', text: `Healthy${queued}`, title: 'No delivery given up since the last success.' };
}
