"""Waqtor: a self-hosted WhatsApp gateway driven over HTTP and WebSocket."""

__version__ = "0.1.0"
