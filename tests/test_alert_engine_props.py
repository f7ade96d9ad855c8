"""Random sequences of results, time, acknowledgements, silences and restarts.

The engine is driven the way the monitor drives it: every event is persisted, every
notification goes into an outbox that refuses duplicate keys, and a restart builds
a new engine from what was persisted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from contextlib import suppress
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.alerts.engine import AlertEngine, AlertError
from console.alerts.model import (
    AlertState,
    EventKind,
    Matcher,
    NotificationKind,
    Occurrence,
    Silence,
)
from console.clock import FakeClock
from console.config.model import AlertsConfig, Duration
from probes.result import Status
from tests.test_alert_engine import Recorder, make, result, rule

RULES = (
    rule("down", "not up", failures=2, successes=2),
    rule("high", "x > 10", severity="P1", warn_when="x > 5", depends_on="down", **{"for": "1m"}),
    rule("sticky", "x > 10", severity="P2", clear_after="5m"),
    rule("blip", "x > 10", severity="P0", depends_on="down"),
)
ALERTS = AlertsConfig(repeat_interval=Duration(1800))
PAGES = {NotificationKind.FIRE, NotificationKind.REPEAT, NotificationKind.ESCALATE}

results = st.tuples(
    st.just("result"),
    st.sampled_from(["db", "api"]),
    st.sampled_from([Status.OK, Status.OK, Status.DOWN]),
    st.sampled_from([None, 1, 7, 11]),  # None: x missing
    st.sampled_from([None, True, False]),  # None: up missing
    st.sampled_from([1, 1, 3]),  # a few in a row pass `failures` and `successes`
)
waits = st.tuples(st.just("wait"), st.sampled_from([1, 5, 10, 30, 60, 300, 1800, 7300]))
acks = st.tuples(st.sampled_from(["ack", "unack"]), st.integers(0, 5), st.sampled_from("ab"))
silences = st.tuples(
    st.just("silence"),
    st.sampled_from([Matcher(), Matcher(rule="high"), Matcher(probe="db"), Matcher(severity="P0")]),
    st.sampled_from([0, 30]),  # starts in
    st.sampled_from([20, 600, 4000]),  # lasts
)
others = st.sampled_from([("tick",), ("restart",), ("lift", 0), ("lift", 1)])
# Outages and recoveries of a whole probe, so that parents fire and resolve under children.
swings = st.sampled_from(
    [("result", p, Status.DOWN, 11, False, 2) for p in ("db", "api")]
    + [("result", p, Status.OK, x, True, 2) for p in ("db", "api") for x in (1, 11)]
)
operations = st.lists(
    st.one_of(results, results, swings, waits, acks, silences, others), max_size=50
)


@dataclass
class World:
    clock: FakeClock = field(default_factory=FakeClock)
    recorder: Recorder = field(default_factory=Recorder)
    silences: dict[str, Silence] = field(default_factory=dict)  # what the store holds
    engine: AlertEngine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = self.build()

    def build(self) -> AlertEngine:
        # Ids stay unique across restarts, as uuids would.
        first_id = len(self.recorder.occurrences) + 1
        return make(RULES, self.clock, alerts=ALERTS, min_severity="P1", first_id=first_id)

    def apply(self, op: tuple[object, ...]) -> None:
        engine, take = self.engine, self.recorder.take
        match op:
            case ("result", str(probe), Status() as status, x, up, int(times)):
                metrics = {name: v for name, v in (("x", x), ("up", up)) if v is not None}
                for _ in range(times):
                    take(engine.observe(result(probe, status=status, **metrics)))  # type: ignore[arg-type]
            case ("wait", int(seconds)):
                self.clock.advance(seconds)
            case ("tick",):
                take(engine.tick())
            case ("ack" | "unack", int(index), str(who)):
                open_ = engine.open_occurrences()
                if open_:
                    target = open_[index % len(open_)].id
                    act = engine.acknowledge if op[0] == "ack" else engine.unacknowledge
                    # An operator's action takes time: two acks are never the same instant.
                    self.clock.advance(0.001)
                    with suppress(AlertError):  # refusals are part of the game
                        take([act(target, who)])
            case ("silence", Matcher() as matcher, int(start), int(length)):
                now = self.clock.now()
                silence = Silence(
                    f"s{len(self.silences)}", matcher, now + start, now + start + length, "ana", ""
                )
                self.silences[silence.id] = silence
                take(engine.add_silence(silence))
            case ("lift", int(index)):
                live = engine.silences()
                if live:
                    lifted = live[index % len(live)]
                    take(engine.lift_silence(lifted.id, "bo"))
                    self.silences[lifted.id] = replace(lifted, lifted_at=self.clock.now())
            case ("restart",):
                self.engine = self.build()
                self.engine.restore(self.recorder.open(), self.silences.values())
            case _:
                raise AssertionError(op)


def _essentials(occ: Occurrence) -> tuple[object, ...]:
    return (
        occ.state,
        occ.degraded,
        occ.fired_at,
        occ.ack,
        occ.deadline,
        occ.escalated_at,
        occ.notified,
        occ.silenced_by,
        occ.suppressed_by,
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_invariants_hold_for_any_sequence(ops: list[tuple[object, ...]]) -> None:
    world = World()
    for op in ops:
        world.apply(op)
    world.apply(("tick",))
    recorder, engine = world.recorder, world.engine

    # Keys are unique, and a restored engine never decides a notification twice.
    assert recorder.refused == []

    sent: dict[str, list[NotificationKind]] = defaultdict(list)
    owned: set[str] = set()
    for event in recorder.events:
        occ_id = event.occurrence.id
        if event.kind is EventKind.ACKNOWLEDGED:
            owned.add(occ_id)
        elif event.kind is EventKind.UNACKNOWLEDGED:
            owned.discard(occ_id)
        for n in event.notifications:
            assert n.occurrence.id == occ_id
            if n.kind in PAGES:
                # Acknowledged, silenced or suppressed: nobody is paged.
                assert occ_id not in owned
                assert n.occurrence.silenced_by is None and n.occurrence.suppressed_by is None
                assert n.occurrence.severity in ("P0", "P1")
            if n.kind is NotificationKind.RESOLVE:
                assert NotificationKind.FIRE in sent[occ_id]
            sent[occ_id].append(n.kind)
    for kinds in sent.values():
        counts = Counter(kinds)
        assert counts[NotificationKind.FIRE] <= 1
        assert counts[NotificationKind.RESOLVE] <= 1
        assert counts[NotificationKind.ESCALATE] <= 1

    # What was persisted from events is what the engine holds: nothing is lost.
    live = {o.id: o for o in engine.open_occurrences()}
    stored = {o.id: o for o in recorder.open()}
    assert live.keys() == stored.keys()
    for occ_id, occ in live.items():
        assert _essentials(occ) == _essentials(stored[occ_id])
    assert len({(o.rule, o.probe) for o in live.values()}) == len(live)

    fired = {e.occurrence.id for e in recorder.events if e.kind is EventKind.FIRED}
    for occ_id in fired:
        final = recorder.occurrences[occ_id]
        assert final.state in (AlertState.FIRING, AlertState.RESOLVED)
        assert (occ_id in live) == (final.state is AlertState.FIRING)
        assert final.notified == (NotificationKind.FIRE in sent[occ_id])
        if final.state is AlertState.RESOLVED:
            assert final.notified == (NotificationKind.RESOLVE in sent[occ_id])
    for occ in recorder.occurrences.values():
        if occ.state is AlertState.RESOLVED and occ.fired_at is None:
            assert sent[occ.id] == []  # discarded before firing: never notified
        if occ.degraded:
            assert occ.deadline is None and not occ.notified
