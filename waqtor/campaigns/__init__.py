"""Campaigns: durable, throttled, scheduled bulk sending (see documentation/CAMPAIGN_GUIDE.md)."""
