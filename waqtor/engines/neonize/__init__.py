"""The neonize engine: a WhatsApp Web multi-device session through neonize (whatsmeow)."""
