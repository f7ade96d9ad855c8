"""Operator actions that change the world: backup, restore drill. Blocking; run in threads."""
