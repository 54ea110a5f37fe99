"""Webhooks: registration, the durable outbox, signed deliveries with retries (`service.Webhooks`).

model, filters, retry, signer   pure: values in, values out
guard                           refuses URLs that point at the gateway itself
outbox                          published events -> delivery rows (a bus publish hook)
sender                          delivery rows -> signed HTTP POSTs, under leases
service                         what the API and the lifespan use
"""
