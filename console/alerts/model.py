"""Alert state as data: what the engine produces, the store persists and the UI shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from console.config.model import Severity
from probes.result import MetricValue


class AlertState(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    RESOLVED = "resolved"
    DISCARDED = "discarded"  # pending that cleared before firing: never notified
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    SILENCED = "silenced"
    UNSILENCED = "unsilenced"
    ESCALATED = "escalated"
    REPEATED = "repeated"  # repeat_interval re-notification
    # Added with the engine:
    DEGRADED = "degraded"  # warn_when true, when false: shown, never pages
    NOTIFIED = "notified"  # a FIRE sent after the fact (group_wait, silence, dependency, ack)
    SUPPRESSED = "suppressed"  # the rule's depends_on parent is firing: no notifications
    UNSUPPRESSED = "unsuppressed"


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    by: str
    at: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One episode of a rule being bad for one probe: pending -> firing -> resolved.

    An alert that resolves and fires again is a new occurrence with a new id.
    """

    id: str
    rule: str
    probe: str
    severity: Severity
    state: AlertState
    summary: str
    started_at: float  # condition first true (pending since)
    fired_at: float | None = None
    resolved_at: float | None = None
    value: MetricValue = None
    threshold: MetricValue = None
    degraded: bool = False  # warn_when true, when not (shown, never pages)
    ack: Acknowledgement | None = None
    deadline: float | None = None  # acknowledge by (wall clock); None once acknowledged
    escalated_at: float | None = None
    notified: bool = False  # a fire notification was sent (so resolve must be too)
    last_notified_at: float | None = None
    silenced_by: str | None = None  # silence id
    suppressed_by: str | None = None  # parent rule firing (dependency)

    @property
    def open(self) -> bool:
        return self.state is not AlertState.RESOLVED


@dataclass(frozen=True, slots=True)
class Matcher:
    """Silence matcher: exact value or `*`; empty field matches anything."""

    rule: str = "*"
    probe: str = "*"
    severity: str = "*"

    def matches(self, occurrence: Occurrence) -> bool:
        return all(
            want in ("*", "", have)
            for want, have in (
                (self.rule, occurrence.rule),
                (self.probe, occurrence.probe),
                (self.severity, occurrence.severity),
            )
        )


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matcher: Matcher
    starts_at: float
    ends_at: float
    author: str
    comment: str
    lifted_at: float | None = None

    def active(self, now: float) -> bool:
        return self.lifted_at is None and self.starts_at <= now < self.ends_at


class NotificationKind(StrEnum):
    FIRE = "fire"
    RESOLVE = "resolve"
    ACKNOWLEDGE = "acknowledge"
    ESCALATE = "escalate"
    REPEAT = "repeat"


@dataclass(frozen=True, slots=True)
class Notification:
    """An intent to notify, decided by the engine, delivered through the outbox.

    `key` is unique per (occurrence, kind, sequence): the outbox refuses a second
    row with the same key, which is what makes "never sent twice" hold across
    restarts and between a console and an agent sharing one state file.
    """

    key: str
    kind: NotificationKind
    occurrence: Occurrence
    created_at: float
    mentions: str = ""


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: EventKind
    occurrence: Occurrence
    at: float
    actor: str | None = None  # operator for acks/silences, None for the engine
    note: str = ""
    notifications: tuple[Notification, ...] = field(default=())
