"""The WebSocket side of the gateway: the bridge from the bus to every client (`bridge`), one client's
subscriptions and outgoing frames (`client`), and the protocol's commands, parsed without a socket
(`protocol`). The `/ws` route itself is in `waqtor.api.routes.websocket`."""
