"""What the store hands back: plain frozen records, one per table row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

IntentKind = Literal["ack", "unack", "silence", "lift"]
INTENT_KINDS: tuple[IntentKind, ...] = ("ack", "unack", "silence", "lift")


class StateError(Exception):
    """The state file cannot be used; `str()` is one line for the operator."""


class SchemaTooNewError(StateError):
    pass


class AmbiguousIdError(StateError):
    """An id prefix matches more than one occurrence."""


@dataclass(frozen=True, slots=True)
class Intent:
    """An operator's request, durable before it is applied by the engine-lease holder."""

    id: int
    kind: IntentKind
    target: str  # occurrence id (ack/unack), silence id (silence/lift)
    author: str
    note: str
    payload: Mapping[str, object]
    created_at: float


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    at: float
    kind: str
    occurrence_id: str
    rule: str
    probe: str
    severity: str
    actor: str | None
    note: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    action: str
    target: str
    outcome: str
    detail: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    key: str
    kind: str
    occurrence_id: str
    severity: str
    payload: Mapping[str, object]
    created_at: float
    attempts: int  # including the attempt this claim is for
    next_attempt_at: float
    last_error: str | None


@dataclass(frozen=True, slots=True)
class BackupRecord:
    key: str
    database: str
    outcome: str
    size: int | None
    sha256: str | None
    started_at: float
    finished_at: float
    error: str | None


@dataclass(frozen=True, slots=True)
class DrillRecord:
    id: int
    backup_key: str
    database: str
    ok: bool
    rto: float | None
    phases: Mapping[str, float]
    error: str | None
    started_at: float
    finished_at: float


@dataclass(frozen=True, slots=True)
class ChecklistTick:
    item_id: str
    ticked: bool
    by: str
    at: float
