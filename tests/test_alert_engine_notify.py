"""Who the engine notifies, and when: group_wait, severity, flapping, acks, deadlines,
repeats, and restarts. Silences and dependencies are in test_alert_engine_mute.py."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from console.alerts.engine import AlertEngine, AlertError
from console.alerts.model import EventKind, NotificationKind
from console.clock import FakeClock
from console.config.model import AlertsConfig, Duration
from tests.test_alert_engine import (
    BUILTIN,
    Recorder,
    kinds,
    make,
    notes,
    pg_result,
    result,
    rule,
    silence,
)

# -- group_wait and severity ----------------------------------------------------------------


def test_group_wait_delays_the_first_fire(clock: FakeClock) -> None:
    engine = make([rule(severity="P1")], clock)
    assert notes(engine.observe(result(x=11))) == []
    clock.advance(9)
    assert engine.tick() == []
    clock.advance(1)
    events = engine.tick()
    assert kinds(events) == [EventKind.NOTIFIED]
    assert notes(events) == ["occ1:fire"]
    assert events[0].occurrence.notified
    assert events[0].notifications[0].occurrence.notified


def test_an_alert_resolving_inside_group_wait_never_notifies(clock: FakeClock) -> None:
    engine = make([rule(severity="P1")], clock)
    engine.observe(result(x=11))
    clock.advance(5)
    resolved = engine.observe(result(x=1))
    assert kinds(resolved) == [EventKind.RESOLVED]
    assert notes(resolved) == []
    clock.advance(60)
    assert engine.tick() == []


@pytest.mark.parametrize(
    ("minimum", "paged"),
    [("P0", {"p0"}), ("P1", {"p0", "p1"}), ("P2", {"p0", "p1", "p2"}), (None, set())],
)
def test_severity_below_the_minimum_never_notifies(
    clock: FakeClock, minimum: str | None, paged: set[str]
) -> None:
    rules = [rule(f"p{i}", severity=f"P{i}") for i in range(3)]
    engine = make(rules, clock, min_severity=minimum)  # type: ignore[arg-type]
    recorder = Recorder()
    recorder.take(engine.observe(result(x=11)))
    clock.advance(86400 * 2)  # past every deadline and repeat
    recorder.take(engine.tick())
    recorder.take(engine.observe(result(x=1)))
    fires = {n.occurrence.rule for n in recorder.sent(NotificationKind.FIRE)}
    resolves = {n.occurrence.rule for n in recorder.sent(NotificationKind.RESOLVE)}
    assert fires == resolves == paged
    assert len(recorder.open()) == 0


# -- flapping ------------------------------------------------------------------------------


def test_database_down_flapping_never_pages(clock: FakeClock) -> None:
    """failures = 2: alternating results never fire."""
    engine = make(BUILTIN, clock, probes={"db": "postgres"})
    recorder = Recorder()
    for up in itertools.islice(itertools.cycle([False, True]), 40):
        recorder.take(engine.observe(pg_result(up)))
        clock.advance(10)
        recorder.take(engine.tick())
    assert recorder.outbox == {}


def test_flapping_after_firing_sends_one_fire_and_one_resolve(clock: FakeClock) -> None:
    engine = make(BUILTIN, clock, probes={"db": "postgres"})
    recorder = Recorder()
    pattern = [False, False] + [True, False] * 20 + [True, True]
    for up in pattern:
        recorder.take(engine.observe(pg_result(up)))
        clock.advance(10)
        recorder.take(engine.tick())
    assert [n.kind for n in recorder.outbox.values()] == [
        NotificationKind.FIRE,
        NotificationKind.ESCALATE,  # nobody acknowledged within 5 minutes
        NotificationKind.RESOLVE,
    ]
    assert len({e.occurrence.id for e in recorder.events}) == 1


def test_clear_after_absorbs_flapping(clock: FakeClock) -> None:
    engine = make([rule(clear_after="5m", severity="P1")], clock)
    recorder = Recorder()
    for i in range(60):
        recorder.take(engine.observe(result(x=11 if i % 3 else 1)))
        clock.advance(7)
        recorder.take(engine.tick())
    assert list(recorder.outbox) == ["occ1:fire"]


# -- acknowledgement ------------------------------------------------------------------------


def test_acknowledge_owns_it_and_stops_repeats(clock: FakeClock) -> None:
    alerts = AlertsConfig(repeat_interval=Duration(600))
    engine = make([rule()], clock, alerts=alerts)
    occ = engine.observe(result(x=11))[0].occurrence
    clock.advance(30)
    event = engine.acknowledge(occ.id, "ana", "on it")
    assert (event.kind, event.actor, event.note) == (EventKind.ACKNOWLEDGED, "ana", "on it")
    assert event.occurrence.ack is not None
    assert (event.occurrence.ack.by, event.occurrence.ack.at) == ("ana", clock.now())
    assert event.occurrence.deadline is None
    assert notes([event]) == [f"occ1:acknowledge:ana:{int(clock.now() * 1000)}"]
    clock.advance(3600)
    assert engine.tick() == []  # no repeat, no escalation
    assert notes(engine.observe(result(x=1))) == ["occ1:resolve"]


def test_acknowledge_refusals(clock: FakeClock) -> None:
    engine = make([rule()], clock)
    occ = engine.observe(result(x=11))[0].occurrence
    with pytest.raises(AlertError, match="no open alert"):
        engine.acknowledge("nope", "ana")
    with pytest.raises(AlertError, match="not acknowledged"):
        engine.unacknowledge(occ.id, "ana")
    engine.acknowledge(occ.id, "ana")
    with pytest.raises(AlertError, match="already acknowledged by ana"):
        engine.acknowledge(occ.id, "bo")
    engine.observe(result(x=1))
    with pytest.raises(AlertError, match="no open alert"):
        engine.acknowledge(occ.id, "ana")
    assert issubclass(AlertError, ValueError)


def test_a_refire_after_an_acknowledged_resolve_is_unacknowledged(clock: FakeClock) -> None:
    engine = make([rule()], clock)
    first = engine.observe(result(x=11))[0].occurrence
    engine.acknowledge(first.id, "ana")
    engine.observe(result(x=1))
    clock.advance(60)
    refired = engine.observe(result(x=11))
    occ = refired[0].occurrence
    assert occ.id != first.id
    assert occ.ack is None
    assert occ.deadline == clock.now() + 300
    assert notes(refired) == [f"{occ.id}:fire"]


def test_no_acknowledge_notification_when_off_or_never_paged(clock: FakeClock) -> None:
    quiet = make([rule()], clock, notify_acknowledged=False)
    occ = quiet.observe(result(x=11))[0].occurrence
    assert quiet.acknowledge(occ.id, "ana").notifications == ()
    waiting = make([rule(severity="P1")], clock)
    occ = waiting.observe(result(x=11))[0].occurrence
    assert waiting.acknowledge(occ.id, "ana").notifications == ()  # inside group_wait
    clock.advance(60)
    assert waiting.tick() == []  # owned before anyone was paged: no FIRE
    assert notes(waiting.observe(result(x=1))) == []  # and so no RESOLVE


def test_unacknowledge_restores_the_deadline_and_escalates_if_past(clock: FakeClock) -> None:
    engine = make([rule()], clock, escalation_mentions={"P0": "@oncall-lead"})
    occ = engine.observe(result(x=11))[0].occurrence
    engine.acknowledge(occ.id, "ana")
    clock.advance(100)
    back = engine.unacknowledge(occ.id, "ana")
    assert (back.kind, back.actor) == (EventKind.UNACKNOWLEDGED, "ana")
    assert occ.fired_at is not None
    assert back.occurrence.deadline == occ.fired_at + 300
    assert back.occurrence.ack is None
    engine.acknowledge(occ.id, "ana")
    clock.advance(400)
    engine.unacknowledge(occ.id, "ana")  # the deadline is now in the past
    escalated = engine.tick()
    assert kinds(escalated) == [EventKind.ESCALATED]
    assert escalated[0].notifications[0].mentions == "@oncall-lead"


# -- deadlines and repeats ------------------------------------------------------------------


def test_deadline_escalates_once(clock: FakeClock) -> None:
    engine = make(
        [rule()],
        clock,
        channel_mentions={"P0": "@here"},
        escalation_mentions={"P0": "@lead"},
    )
    fired = engine.observe(result(x=11))
    assert fired[0].notifications[0].mentions == "@here"
    clock.advance(299)
    assert engine.tick() == []
    clock.advance(1)
    escalated = engine.tick()
    assert kinds(escalated) == [EventKind.ESCALATED]
    assert notes(escalated) == ["occ1:escalate"]
    assert escalated[0].notifications[0].mentions == "@lead"
    assert escalated[0].occurrence.escalated_at == clock.now()
    clock.advance(3000)
    assert EventKind.ESCALATED not in kinds(engine.tick())


def test_repeats_for_firing_unacknowledged_alerts(clock: FakeClock) -> None:
    alerts = AlertsConfig(ack_deadline={"P2": Duration(10**9)}, repeat_interval=Duration(3600))
    engine = make([rule(severity="P2")], clock, alerts=alerts, channel_mentions={"P2": "@p2"})
    engine.observe(result(x=11))
    clock.advance(10)
    assert notes(engine.tick()) == ["occ1:fire"]
    keys = []
    for _ in range(3):
        clock.advance(3600)
        events = engine.tick()
        assert kinds(events) == [EventKind.REPEATED]
        assert events[0].notifications[0].mentions == "@p2"
        keys += notes(events)
    assert keys == ["occ1:repeat:1", "occ1:repeat:2", "occ1:repeat:3"]


def test_a_partial_alerts_table_keeps_the_plans_deadlines(clock: FakeClock) -> None:
    engine = make(
        [rule(severity="P1")], clock, alerts=AlertsConfig(ack_deadline={"P0": Duration(60)})
    )
    fired = engine.observe(result(x=11))
    assert fired[0].occurrence.deadline == clock.now() + 7200  # P1: within 2 hours
    assert notes(fired) == []  # P1 still waits its default group_wait


# -- restarts -------------------------------------------------------------------------------


def _restart(
    recorder: Recorder, clock: FakeClock, engine: AlertEngine, **options: object
) -> AlertEngine:
    fresh = make([rule(), rule("slow", severity="P1")], clock, **options)  # type: ignore[arg-type]
    fresh.restore(recorder.open(), engine.silences())
    return fresh


def test_restore_keeps_ack_deadline_and_notified(clock: FakeClock) -> None:
    engine = make([rule(), rule("slow", severity="P1")], clock)
    recorder = Recorder()
    recorder.take(engine.observe(result(x=11)))
    acked = next(o for o in recorder.open() if o.rule == "high")
    recorder.take([engine.acknowledge(acked.id, "ana")])
    clock.advance(5)
    engine = _restart(recorder, clock, engine)
    assert recorder.take(engine.tick()) == []
    restored = engine.occurrence(acked.id)
    assert restored is not None and restored.ack is not None and restored.notified
    clock.advance(5)  # "slow" was inside its group_wait at the crash: it pages once now
    assert notes(recorder.take(engine.tick())) == ["occ2:fire"]
    clock.advance(1)
    engine = _restart(recorder, clock, engine)
    clock.advance(7200)  # the P1 deadline, counted from before the restarts
    assert notes(recorder.take(engine.tick())) == ["occ2:escalate"]
    recorder.take(engine.observe(result(x=1)))
    assert sorted(n.key for n in recorder.sent(NotificationKind.RESOLVE)) == [
        "occ1:resolve",
        "occ2:resolve",
    ]
    assert recorder.refused == []
    assert len(recorder.sent(NotificationKind.FIRE)) == 2


def test_a_lost_write_is_caught_by_the_outbox_key(clock: FakeClock) -> None:
    """A crash after enqueueing FIRE but before the occurrence row was saved: the
    restored engine decides the same FIRE again and the outbox refuses it by key."""
    engine = make([rule(severity="P1")], clock)
    recorder = Recorder()
    recorder.take(engine.observe(result(x=11)))
    stale = recorder.open()
    clock.advance(10)
    recorder.take(engine.tick())
    engine = make([rule(severity="P1")], clock)
    engine.restore(stale, [])
    recorder.take(engine.tick())
    assert recorder.refused == ["occ1:fire"]
    assert len(recorder.sent(NotificationKind.FIRE)) == 1


def test_restore_brings_silences_back(clock: FakeClock) -> None:
    engine = make([rule()], clock)
    now = clock.now()
    lifted = replace(silence("old", now - 60, now + 60), lifted_at=now)
    engine.restore([], [silence("s1", now, now + 60), lifted, silence("over", now - 60, now)])
    assert [s.id for s in engine.silences()] == ["s1"]
    assert notes(engine.observe(result(x=11))) == []


def test_restored_orphans_resolve_at_the_next_tick(clock: FakeClock) -> None:
    old = make([rule(), rule("gone")], clock)
    recorder = Recorder()
    recorder.take(old.observe(result(x=11)))
    engine = make([rule()], clock)
    engine.restore(recorder.open(), [])
    assert len(engine.open_occurrences()) == 2
    events = engine.tick()
    assert [(e.kind, e.occurrence.rule) for e in events] == [(EventKind.RESOLVED, "gone")]
    assert events[0].note
    assert notes(events) == ["occ2:resolve"]
