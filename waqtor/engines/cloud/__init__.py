"""The cloud engine: a number on the official WhatsApp Cloud API, through pywa."""
