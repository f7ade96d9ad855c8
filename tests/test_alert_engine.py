"""The alert engine's lifecycle on a fake clock: pending, firing, resolved, degraded.

Notification timing, acks and restarts are in test_alert_engine_notify.py, silences and
dependencies in test_alert_engine_mute.py, random sequences in test_alert_engine_props.py;
they all use the helpers defined here.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from console.alerts.defaults import DEFAULT_RULES
from console.alerts.engine import AlertEngine
from console.alerts.model import (
    AlertEvent,
    AlertState,
    EventKind,
    Matcher,
    Notification,
    NotificationKind,
    Occurrence,
    Silence,
)
from console.alerts.summary import render_summary
from console.clock import FakeClock
from console.config.build import build
from console.config.model import AlertsConfig, RuleConfig, Severity
from probes.result import MetricValue, ProbeResult, Status

# -- helpers (imported by the other engine test files) ------------------------------------


def rule(
    name: str = "high", when: str = "x > 10", severity: str = "P0", **fields: Any
) -> RuleConfig:
    """A rule as config.toml would give it (`for` and durations as strings work too)."""
    table = {"name": name, "when": when, "severity": severity, "kind": "t"}
    table |= {"summary": "{probe} x is {value}"} | fields
    given = {key: value for key, value in table.items() if value is not None}  # None: unset
    return build(RuleConfig, given, ("rules", name))


def builtin(name: str) -> RuleConfig:
    table = next(t for t in DEFAULT_RULES if t["name"] == name)
    return build(RuleConfig, table, ("defaults", name))


BUILTIN = tuple(builtin(t["name"]) for t in DEFAULT_RULES)


def result(
    probe: str = "db",
    *,
    status: Status = Status.OK,
    error: str | None = None,
    **metrics: MetricValue,
) -> ProbeResult:
    return ProbeResult(probe, "t", status, 0.0, 0.01, metrics, error=error)


def make(
    rules: Iterable[RuleConfig],
    clock: FakeClock,
    *,
    probes: Mapping[str, str] | None = None,
    min_severity: Severity | None = "P2",
    alerts: AlertsConfig | None = None,
    first_id: int = 1,
    **options: Any,
) -> AlertEngine:
    """An engine with readable ids: occ1, occ2, ... (from `first_id`)."""
    ids = iter(range(first_id, 1_000_000))
    return AlertEngine(
        tuple(rules),
        alerts or AlertsConfig(),
        clock,
        probes=probes or {"db": "t", "api": "t"},
        notify_min_severity=min_severity,
        new_id=lambda: f"occ{next(ids)}",
        **options,
    )


def kinds(events: Iterable[AlertEvent]) -> list[EventKind]:
    return [event.kind for event in events]


def notes(events: Iterable[AlertEvent]) -> list[str]:
    """Notification keys, in order."""
    return [n.key for event in events for n in event.notifications]


@dataclass
class Recorder:
    """What the caller does with events: persist occurrences, enqueue into an outbox
    that refuses a duplicate key (and counts the refusals)."""

    occurrences: dict[str, Occurrence] = field(default_factory=dict)
    outbox: dict[str, Notification] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    events: list[AlertEvent] = field(default_factory=list)

    def take(self, events: Iterable[AlertEvent]) -> list[AlertEvent]:
        taken = list(events)
        for event in taken:
            self.events.append(event)
            self.occurrences[event.occurrence.id] = event.occurrence
            for notification in event.notifications:
                if notification.key in self.outbox:
                    self.refused.append(notification.key)
                else:
                    self.outbox[notification.key] = notification
        return taken

    def open(self) -> list[Occurrence]:
        return [o for o in self.occurrences.values() if o.open]

    def sent(self, kind: NotificationKind) -> list[Notification]:
        return [n for n in self.outbox.values() if n.kind is kind]


def silence(sid: str, start: float, end: float, **match: str) -> Silence:
    return Silence(sid, Matcher(**match), start, end, "ana", "maintenance")


def pg_result(up: bool) -> ProbeResult:
    if up:
        metrics: dict[str, MetricValue] = {"up": True, "connections_used_ratio": 0.2}
        return ProbeResult("db", "postgres", Status.OK, 0.0, 0.01, metrics)
    return ProbeResult(
        "db", "postgres", Status.DOWN, 0.0, 5.0, {"up": False}, error="connection refused"
    )


def http_result(name: str, up: bool) -> ProbeResult:
    metrics: dict[str, MetricValue] = {
        "up": up,
        "status_ok": up,
        "status_code": 200 if up else 500,
        "latency_p95": 0.1,
        "availability": 1.0 if up else 0.4,
        "availability_target": 0.995,
    }
    status = Status.OK if up else Status.CRITICAL
    return ProbeResult(name, "http", status, 0.0, 0.1, metrics, error=None if up else "HTTP 500")


# -- isolation ----------------------------------------------------------------------------


def test_engine_imports_without_textual() -> None:
    code = "import sys, console.alerts.engine; assert 'textual' not in sys.modules, 'textual'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the basic lifecycle --------------------------------------------------------------------


def test_fires_at_once_without_for_and_resolves_on_a_good_result(clock: FakeClock) -> None:
    engine = make([rule()], clock)
    fired = engine.observe(result(x=11))
    assert kinds(fired) == [EventKind.FIRED]
    occ = fired[0].occurrence
    assert (occ.state, occ.fired_at, occ.started_at) == (
        AlertState.FIRING,
        clock.now(),
        clock.now(),
    )
    assert occ.deadline == clock.now() + 300  # P0 acknowledge deadline
    assert notes(fired) == ["occ1:fire"]  # P0 has no group_wait
    clock.advance(5)
    resolved = engine.observe(result(x=3))
    assert kinds(resolved) == [EventKind.RESOLVED]
    assert resolved[0].occurrence.resolved_at == clock.now()
    assert resolved[0].occurrence.deadline is None
    assert notes(resolved) == ["occ1:resolve"]
    assert engine.open_occurrences() == []


def test_for_keeps_it_pending_until_elapsed_on_results_or_ticks(clock: FakeClock) -> None:
    engine = make([rule(**{"for": "1m"})], clock)
    assert kinds(engine.observe(result(x=11))) == [EventKind.PENDING]
    clock.advance(30)
    assert engine.observe(result(x=12)) == []
    assert engine.tick() == []
    clock.advance(30)
    fired = engine.tick()
    assert kinds(fired) == [EventKind.FIRED]
    assert fired[0].occurrence.started_at == clock.now() - 60
    assert fired[0].occurrence.id == "occ1"


def test_one_good_result_discards_a_pending_alert_without_notifying(clock: FakeClock) -> None:
    engine = make([rule(**{"for": "1m"})], clock)
    engine.observe(result(x=11))
    discarded = engine.observe(result(x=1))
    assert kinds(discarded) == [EventKind.DISCARDED]
    assert discarded[0].occurrence.state is AlertState.RESOLVED
    assert discarded[0].occurrence.fired_at is None
    assert notes(discarded) == []
    clock.advance(120)
    assert engine.tick() == []
    assert engine.observe(result(x=11))[0].occurrence.id == "occ2"


def test_failures_need_consecutive_bad_results(clock: FakeClock) -> None:
    engine = make([rule(failures=3)], clock)
    assert kinds(engine.observe(result(x=11))) == [EventKind.PENDING]
    assert engine.observe(result()) == []  # unknown: neither advances nor resets
    assert engine.observe(result(x=11)) == []
    assert kinds(engine.observe(result(x=11))) == [EventKind.FIRED]


def test_a_good_result_resets_failures(clock: FakeClock) -> None:
    engine = make([rule(failures=2)], clock)
    for _ in range(5):
        assert kinds(engine.observe(result(x=11))) == [EventKind.PENDING]
        assert kinds(engine.observe(result(x=1))) == [EventKind.DISCARDED]


def test_successes_give_hysteresis(clock: FakeClock) -> None:
    engine = make([rule(successes=2)], clock)
    engine.observe(result(x=11))
    assert engine.observe(result(x=1)) == []
    assert engine.observe(result(x=11)) == []  # bad again: the count restarts
    assert engine.observe(result(x=1)) == []
    assert engine.observe(result()) == []  # unknown in between changes nothing
    assert kinds(engine.observe(result(x=1))) == [EventKind.RESOLVED]


def test_clear_after_resolves_on_the_clock(clock: FakeClock) -> None:
    engine = make([rule(clear_after="10m", severity="P2")], clock)
    engine.observe(result(x=11))
    clock.advance(60)
    assert kinds(engine.tick()) == [EventKind.NOTIFIED]  # after the P2 group_wait
    assert engine.observe(result(x=1)) == []
    clock.advance(300)
    assert engine.observe(result(x=11)) == []  # bad again: the clear timer restarts
    clock.advance(60)
    assert engine.observe(result(x=1)) == []
    clock.advance(599)
    assert engine.tick() == []
    clock.advance(1)
    assert kinds(engine.tick()) == [EventKind.RESOLVED]


def test_clear_after_and_successes_both_hold(clock: FakeClock) -> None:
    engine = make([rule(clear_after="1m", successes=3)], clock)
    engine.observe(result(x=11))
    engine.observe(result(x=1))
    clock.advance(120)
    assert engine.tick() == []  # time passed, but only one good result
    assert engine.observe(result(x=1)) == []
    assert kinds(engine.observe(result(x=1))) == [EventKind.RESOLVED]


def test_a_refire_is_a_new_occurrence(clock: FakeClock) -> None:
    engine = make([rule()], clock)
    first = engine.observe(result(x=11))[0].occurrence
    engine.observe(result(x=1))
    second = engine.observe(result(x=11))[0].occurrence
    assert first.id != second.id
    assert [o.id for o in engine.open_occurrences()] == [second.id]


def test_missing_metrics_change_nothing(clock: FakeClock) -> None:
    engine = make([rule(**{"for": "1m"})], clock)
    engine.observe(result(x=11))
    assert engine.observe(result(y=1)) == []  # pending survives an unknown
    clock.advance(60)
    assert kinds(engine.observe(result(x=None))) == [EventKind.FIRED]
    assert engine.observe(result()) == []  # firing survives an unknown
    assert engine.open_occurrences()[0].state is AlertState.FIRING


def test_down_results_can_fire_known_conditions_but_never_clear(clock: FakeClock) -> None:
    engine = make([rule("down", "not up"), rule("x", "x > 10")], clock)
    down = result(status=Status.DOWN, error="connection refused", up=False)
    fired = engine.observe(down)
    assert [e.occurrence.rule for e in fired] == ["down"]  # x > 10 is unknown there
    engine.observe(result(x=11))
    # A down result that happens to carry a false condition proves nothing.
    assert engine.observe(result(status=Status.UNKNOWN, up=True, x=0)) == []
    assert len(engine.open_occurrences()) == 2
    assert [e.occurrence.rule for e in engine.observe(result(up=True, x=0))] == ["down", "x"]


def test_rules_apply_by_kind_and_probe_and_disabled_rules_never_run(clock: FakeClock) -> None:
    rules = [
        rule("any-t"),
        rule("only-api", probe="api", kind=None),
        rule("other-kind", kind="http"),
        rule("off", enabled=False),
    ]
    engine = make(rules, clock, probes={"db": "t", "api": "t"})
    assert [e.occurrence.rule for e in engine.observe(result("db", x=11))] == ["any-t"]
    api = engine.observe(result("api", x=11))
    assert sorted(e.occurrence.rule for e in api) == ["any-t", "only-api"]
    assert engine.observe(result("unconfigured", x=11)) == []


def test_summary_value_and_threshold_come_from_the_reading(clock: FakeClock) -> None:
    lag = rule("lag", "replication_lag_seconds > 5m", summary="Lag on {probe} is {value}")
    avail = rule("avail", "availability < availability_target", summary="{probe}: {value}")
    down = rule("down", "not up", summary="{probe} unreachable: {error}")
    engine = make([lag, avail, down], clock)
    reading = result(
        status=Status.CRITICAL,
        error="boom",
        replication_lag_seconds=400,
        availability=0.9,
        availability_target=0.995,
        up=False,
    )
    events = engine.observe(reading)
    by_rule = {e.occurrence.rule: e.occurrence for e in events}
    assert by_rule["lag"].value == 400.0
    assert by_rule["lag"].threshold == 300.0
    assert by_rule["lag"].summary == render_summary(
        lag.summary, probe="db", value=400.0, error="boom", metric="replication_lag_seconds"
    )
    assert by_rule["avail"].threshold == 0.995  # a threshold taken from the metrics
    assert by_rule["down"].summary == render_summary(
        down.summary, probe="db", value=False, error="boom", metric="up"
    )
    engine.observe(result(replication_lag_seconds=900, up=False))
    assert next(o for o in engine.open_occurrences() if o.rule == "lag").value == 900.0


def test_open_occurrences_sort_by_severity_then_age(clock: FakeClock) -> None:
    engine = make([rule("p2", severity="P2"), rule("p1", severity="P1")], clock)
    engine.observe(result("db", x=11))
    clock.advance(1)
    engine.observe(result("api", x=11))
    order = [(o.severity, o.probe) for o in engine.open_occurrences()]
    assert order == [("P1", "db"), ("P1", "api"), ("P2", "db"), ("P2", "api")]
    assert engine.occurrence("occ1") is not None
    assert engine.occurrence("nope") is None


# -- warn_when: degraded ------------------------------------------------------------------


@pytest.fixture
def warned(clock: FakeClock) -> AlertEngine:
    return make([rule(warn_when="x > 5", **{"for": "1m"})], clock)


def test_warn_level_is_degraded_and_never_pages(clock: FakeClock, warned: AlertEngine) -> None:
    events = warned.observe(result(x=7))
    assert kinds(events) == [EventKind.DEGRADED]
    occ = events[0].occurrence
    assert (occ.state, occ.degraded, occ.deadline, occ.threshold) == (
        AlertState.PENDING,
        True,
        None,
        5.0,
    )
    clock.advance(86400)
    assert warned.tick() == []
    assert warned.observe(result(x=8)) == []
    assert kinds(warned.observe(result(x=1))) == [EventKind.DISCARDED]


def test_degraded_becomes_pending_then_fires(clock: FakeClock, warned: AlertEngine) -> None:
    warned.observe(result(x=7))
    clock.advance(600)
    pending = warned.observe(result(x=11))
    assert kinds(pending) == [EventKind.PENDING]
    occ = pending[0].occurrence
    assert (occ.id, occ.degraded, occ.started_at) == ("occ1", False, clock.now())
    clock.advance(59)
    assert warned.tick() == []  # `for` counts from the bad result, not the warning
    clock.advance(1)
    fired = warned.tick()
    assert kinds(fired) == [EventKind.FIRED]
    assert notes(fired) == ["occ1:fire"]


def test_pending_falls_back_to_degraded(clock: FakeClock, warned: AlertEngine) -> None:
    warned.observe(result(x=11))
    back = warned.observe(result(x=7))
    assert kinds(back) == [EventKind.DEGRADED]
    clock.advance(120)
    assert warned.tick() == []


def test_firing_at_warn_level_resolves_and_reopens_degraded(
    clock: FakeClock, warned: AlertEngine
) -> None:
    warned.observe(result(x=11))
    clock.advance(60)
    warned.tick()
    events = warned.observe(result(x=7))
    assert kinds(events) == [EventKind.RESOLVED, EventKind.DEGRADED]
    assert notes(events) == ["occ1:resolve"]
    assert events[1].occurrence.id == "occ2"
    assert events[1].occurrence.degraded
