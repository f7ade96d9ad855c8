"""Durable state: one SQLite file (WAL) shared by the console, the agent and the CLI."""

from console.state.identity import operator_identity
from console.state.records import (
    AmbiguousIdError,
    AuditEntry,
    BackupRecord,
    ChecklistTick,
    DrillRecord,
    EventRecord,
    Intent,
    IntentKind,
    OutboxRow,
    SchemaTooNewError,
    StateError,
)
from console.state.store import ENGINE_LEASE, Store, open_store

__all__ = [
    "ENGINE_LEASE",
    "AmbiguousIdError",
    "AuditEntry",
    "BackupRecord",
    "ChecklistTick",
    "DrillRecord",
    "EventRecord",
    "Intent",
    "IntentKind",
    "OutboxRow",
    "SchemaTooNewError",
    "StateError",
    "Store",
    "open_store",
    "operator_identity",
]
