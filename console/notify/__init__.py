"""Notifications: Slack messages delivered from the persisted outbox."""
