"""Turning what the monitor knows into the read-only views the UI renders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from console.clock import Clock
from console.snapshot import EventLine, ProbeView
from console.state.records import AuditEntry, EventRecord
from probes.result import Probe, ProbeResult

MAX_EVENTS = 60


class RunState(Protocol):
    def running(self, name: str) -> bool: ...


@dataclass
class _Seen:
    last: ProbeResult | None = None
    received_at: float | None = None
    last_ok_at: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None


class ProbeTracker:
    """Per-probe last result, last success and last error, timed by the monitor's clock."""

    def __init__(self, probes: Sequence[Probe], clock: Clock) -> None:
        self._probes = list(probes)
        self._clock = clock
        self._started = clock.now()
        self._seen = {p.name: _Seen() for p in probes}

    def record(self, result: ProbeResult) -> None:
        seen = self._seen.setdefault(result.name, _Seen())
        now = self._clock.now()
        seen.last, seen.received_at = result, now
        if result.status.evaluable:
            seen.last_ok_at = now
        if result.error:
            seen.last_error, seen.last_error_at = result.error, now

    def latest(self) -> dict[str, ProbeResult | None]:
        return {name: seen.last for name, seen in self._seen.items()}

    def views(self, runs: RunState) -> tuple[ProbeView, ...]:
        now = self._clock.now()
        views = []
        for probe in self._probes:
            seen = self._seen[probe.name]
            since = seen.received_at if seen.received_at is not None else self._started
            age = None if seen.received_at is None else now - seen.received_at
            views.append(
                ProbeView(
                    name=probe.name,
                    kind=probe.kind,
                    interval=probe.interval,
                    last=seen.last,
                    last_ok_at=seen.last_ok_at,
                    last_error=seen.last_error,
                    last_error_at=seen.last_error_at,
                    running=runs.running(probe.name),
                    overdue=now - since > probe.interval * 2 + probe.timeout,
                    age=age,
                )
            )
        return tuple(views)


def event_lines(
    events: Sequence[EventRecord], audit: Sequence[AuditEntry]
) -> tuple[EventLine, ...]:
    """Alert lifecycle events and audited operator actions, newest first."""
    lines = [
        EventLine(
            at=e.at,
            kind=e.kind,
            text=f"{e.rule} on {e.probe}" + (f": {e.note}" if e.note else ""),
            severity=e.severity,
            actor=e.actor,
        )
        for e in events
    ]
    lines += [
        EventLine(at=a.at, kind=a.action, text=f"{a.target}: {a.outcome}", actor=a.actor)
        for a in audit
    ]
    lines.sort(key=lambda line: line.at, reverse=True)
    return tuple(lines[:MAX_EVENTS])
