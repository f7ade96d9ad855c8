"""Notifications held back on purpose: silences and dependency suppression."""

from __future__ import annotations

import pytest

from console.alerts.engine import AlertError
from console.alerts.model import AlertState, EventKind, Matcher, NotificationKind, Silence
from console.clock import FakeClock
from tests.test_alert_engine import (
    BUILTIN,
    Recorder,
    http_result,
    kinds,
    make,
    notes,
    pg_result,
    result,
    rule,
    silence,
)

# -- silences -------------------------------------------------------------------------------


def test_silence_hides_notifications_until_it_expires(clock: FakeClock) -> None:
    engine = make([rule()], clock)
    now = clock.now()
    assert engine.add_silence(silence("s1", now, now + 600, rule="high")) == []
    fired = engine.observe(result(x=11))
    assert kinds(fired) == [EventKind.FIRED]
    assert fired[0].occurrence.silenced_by == "s1"
    assert notes(fired) == []
    clock.advance(599)
    assert engine.tick() == []  # past the deadline, but silenced: no escalation
    assert [s.id for s in engine.silences()] == ["s1"]
    clock.advance(1)
    events = engine.tick()
    assert kinds(events) == [EventKind.UNSILENCED, EventKind.NOTIFIED, EventKind.ESCALATED]
    assert notes(events) == ["occ1:fire", "occ1:escalate"]
    assert engine.silences() == []


def test_silencing_an_open_alert_and_lifting_it(clock: FakeClock) -> None:
    engine = make([rule(severity="P1")], clock)
    engine.observe(result("db", x=11))
    engine.observe(result("api", x=11))
    now = clock.now()
    silenced = engine.add_silence(silence("s1", now, now + 3600, probe="db", severity="P1"))
    assert [(e.kind, e.occurrence.probe, e.actor) for e in silenced] == [
        (EventKind.SILENCED, "db", "ana")
    ]
    clock.advance(10)
    assert [n.occurrence.probe for e in engine.tick() for n in e.notifications] == ["api"]
    clock.advance(50)
    lifted = engine.lift_silence("s1", "bo")
    assert [(e.kind, e.actor) for e in lifted] == [
        (EventKind.UNSILENCED, "bo"),
        (EventKind.NOTIFIED, None),
    ]
    assert engine.silences() == []
    with pytest.raises(AlertError):
        engine.lift_silence("s1", "bo")


def test_a_future_silence_starts_on_time(clock: FakeClock) -> None:
    engine = make([rule(severity="P2")], clock)
    engine.observe(result(x=11))
    now = clock.now()
    assert engine.add_silence(silence("s1", now + 5, now + 60)) == []
    assert [s.id for s in engine.silences()] == ["s1"]
    clock.advance(5)
    assert kinds(engine.tick()) == [EventKind.SILENCED]  # before the P2 group_wait ends
    clock.advance(10)
    assert engine.tick() == []


def test_a_silenced_alert_that_paged_still_resolves_loudly(clock: FakeClock) -> None:
    engine = make([rule()], clock)
    engine.observe(result(x=11))
    now = clock.now()
    engine.add_silence(silence("s1", now, now + 600))
    resolved = engine.observe(result(x=1))
    assert notes(resolved) == ["occ1:resolve"]


def test_overlapping_silences_hand_over(clock: FakeClock) -> None:
    engine = make([rule(severity="P2")], clock)
    engine.observe(result(x=11))
    now = clock.now()
    engine.add_silence(silence("short", now, now + 60))
    engine.add_silence(silence("long", now, now + 600))
    assert engine.open_occurrences()[0].silenced_by == "short"  # the first one keeps it
    clock.advance(60)
    handed = engine.tick()
    assert [(e.kind, e.occurrence.silenced_by) for e in handed] == [(EventKind.SILENCED, "long")]


def test_silences_must_end_in_the_future(clock: FakeClock) -> None:
    engine = make([rule()], clock)
    now = clock.now()
    with pytest.raises(AlertError):
        engine.add_silence(Silence("s", Matcher(), now - 10, now, "me", "over"))
    engine.add_silence(Silence("s", Matcher(), now, now + 60, "me", "ok"))
    with pytest.raises(AlertError):
        engine.add_silence(Silence("s", Matcher(), now, now + 60, "me", "again"))
    with pytest.raises(AlertError):
        engine.lift_silence("unknown", "me")


# -- dependencies ---------------------------------------------------------------------------


def test_a_firing_parent_suppresses_its_children(clock: FakeClock) -> None:
    parent = rule("parent", "not up")
    child = rule("child", severity="P1", depends_on="parent")
    engine = make([child, parent], clock)
    events = engine.observe(result(up=False, x=11))
    assert [e.occurrence.rule for e in events] == ["parent", "child"]  # parents first
    assert events[1].occurrence.suppressed_by == "parent"
    clock.advance(600)
    assert EventKind.NOTIFIED not in kinds(engine.tick())
    recovered = engine.observe(result(up=True, x=11))
    assert kinds(recovered) == [EventKind.RESOLVED, EventKind.UNSUPPRESSED]
    clock.advance(600)
    assert engine.tick() == []  # its probe may not have seen the recovery yet
    assert notes(engine.observe(result(up=True, x=11))) == ["occ2:fire"]


def test_a_freed_child_that_recovers_never_pages(clock: FakeClock) -> None:
    parent = rule("parent", "not up")
    child = rule("child", severity="P1", depends_on="parent", successes=2)
    engine = make([parent, child], clock, probes={"db": "t", "api": "t"})
    engine.observe(result("db", up=False))
    engine.observe(result("api", x=11))
    clock.advance(60)
    engine.observe(result("db", up=True))
    for _ in range(3):
        clock.advance(60)
        events = engine.tick() + engine.observe(result("api", x=1))
        assert notes(events) == []
    assert engine.open_occurrences() == []


def test_a_parent_firing_later_suppresses_a_child_inside_group_wait(clock: FakeClock) -> None:
    parent = rule("parent", "not up", failures=2)
    child = rule("child", severity="P1", depends_on="parent")
    engine = make([parent, child], clock)
    engine.observe(result(up=False, x=11))
    clock.advance(5)
    events = engine.observe(result(up=False, x=11))
    assert kinds(events) == [EventKind.FIRED, EventKind.SUPPRESSED]
    assert notes(events) == ["occ1:fire"]


def test_parent_and_child_firing_on_the_same_tick_page_once(clock: FakeClock) -> None:
    parent = rule("parent", "not up", **{"for": "1m"})
    child = rule("child", depends_on="parent", **{"for": "1m"})  # P0: no group_wait
    engine = make([child, parent], clock)
    engine.observe(result("api", x=11))  # the child's occurrence is the older one
    engine.observe(result("db", up=False))
    clock.advance(60)
    events = engine.tick()
    assert [(e.kind, e.occurrence.rule) for e in events] == [
        (EventKind.FIRED, "parent"),
        (EventKind.FIRED, "child"),
    ]
    assert notes(events) == ["occ2:fire"]


def test_dependency_cycles_are_ignored(clock: FakeClock) -> None:
    a = rule("a", depends_on="b")
    b = rule("b", "x > 20", depends_on="a")
    engine = make([a, b], clock)
    events = engine.observe(result(x=30))
    assert sorted(notes(events)) == ["occ1:fire", "occ2:fire"]


@pytest.mark.parametrize("http_every", [15, 1])  # APIs report slower, or faster, than the DB
def test_a_dead_database_pages_once_not_twelve_times(clock: FakeClock, http_every: int) -> None:
    apis = ("api", "web", "admin")
    probes = {"db": "postgres"} | dict.fromkeys(apis, "http")
    engine = make(BUILTIN, clock, probes=probes)
    recorder = Recorder()

    def run(seconds: int, up: bool) -> None:
        for second in range(seconds):
            if second % http_every == 0:
                for name in apis:
                    recorder.take(engine.observe(http_result(name, up)))
            if second % 5 == 0:
                recorder.take(engine.observe(pg_result(up)))
            clock.advance(1)
            recorder.take(engine.tick())

    run(600, up=False)
    fires = recorder.sent(NotificationKind.FIRE)
    assert [(n.occurrence.rule, n.occurrence.probe) for n in fires] == [("database-down", "db")]
    children = [o for o in recorder.open() if o.rule != "database-down"]
    assert {o.rule for o in children} == {"api-down", "api-availability"}
    assert all(o.suppressed_by == "database-down" for o in children)
    assert all(o.state is AlertState.FIRING for o in children)
    run(120, up=True)
    assert recorder.open() == []
    assert [n.kind for n in recorder.outbox.values()] == [
        NotificationKind.FIRE,
        NotificationKind.ESCALATE,
        NotificationKind.RESOLVE,
    ]
