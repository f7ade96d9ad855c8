"""What the UI renders: an immutable snapshot of the monitor's state.

The Monitor builds one per refresh; widgets read it and never do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from console.actions.progress import Progress
from console.alerts.model import Occurrence, Silence
from probes.result import ProbeResult, Status

Overall = Literal["OK", "DEGRADED", "CRITICAL"]


@dataclass(frozen=True, slots=True)
class ProbeView:
    name: str
    kind: str
    interval: float
    last: ProbeResult | None = None
    last_ok_at: float | None = None  # wall time of the last result that reached its target
    last_error: str | None = None
    last_error_at: float | None = None
    running: bool = False
    overdue: bool = False  # no result for longer than interval*2 + timeout: data is stale
    age: float | None = None  # seconds since the last result

    @property
    def status(self) -> Status:
        return Status.UNKNOWN if self.last is None else self.last.status

    @property
    def stale(self) -> bool:
        return self.overdue or self.last is None


@dataclass(frozen=True, slots=True)
class EventLine:
    """One line of the event log: alert lifecycle events and audited operator actions."""

    at: float
    kind: str  # fired, resolved, acknowledged, ..., or an audit action (backup, drill, ...)
    text: str
    severity: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class ActionView:
    action: Literal["backup", "drill"]
    running: bool
    progress: Progress | None = None
    last_outcome: str | None = None  # one line: "verified 12.3 MB in 4.1s" / "failed: ..."
    last_ok: bool | None = None


@dataclass(frozen=True, slots=True)
class MonitorSnapshot:
    at: float  # clock.now() when taken
    environment: str
    operator: str
    read_only: bool
    probes: tuple[ProbeView, ...] = ()
    alerts: tuple[Occurrence, ...] = ()  # open occurrences, P0 first, then oldest first
    silences: tuple[Silence, ...] = ()
    events: tuple[EventLine, ...] = ()  # newest first
    notifications: str | None = None  # "notifications failing: 403 invalid_token" or None
    pending_notifications: int = 0
    actions: tuple[ActionView, ...] = ()
    leader: bool = True  # whether this process runs the alert engine and notifier
    checklist: dict[str, tuple[int, int]] = field(default_factory=dict)  # phase -> (done, total)

    @property
    def overall(self) -> Overall:
        firing = [a for a in self.alerts if a.state.value == "firing" and not a.degraded]
        if any(a.severity == "P0" for a in firing) or any(
            p.status is Status.DOWN for p in self.probes
        ):
            return "CRITICAL"
        if (
            firing
            or any(a.degraded for a in self.alerts)
            or any(p.status in (Status.WARNING, Status.CRITICAL) or p.overdue for p in self.probes)
        ):
            return "DEGRADED"
        return "OK"

    def probe(self, name: str) -> ProbeView | None:
        return next((p for p in self.probes if p.name == name), None)
