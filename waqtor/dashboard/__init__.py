"""The web pages the gateway serves: the dashboard at `/dashboard/` and the WebSocket test page."""
