"""The state store on a real SQLite file: round trips, migrations, claims, kill -9."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.alerts.model import (
    Acknowledgement,
    AlertEvent,
    AlertState,
    EventKind,
    Matcher,
    Notification,
    NotificationKind,
    Occurrence,
    Silence,
)
from console.clock import FakeClock
from console.config.secret import Secret
from console.state import AmbiguousIdError, SchemaTooNewError, StateError, Store
from console.state.identity import operator_identity
from console.state.migrations import LATEST

REPO = Path(__file__).resolve().parents[1]


def occurrence(occ_id: str = "occ-0001aa", **changes: object) -> Occurrence:
    base = Occurrence(
        id=occ_id,
        rule="api-slow",
        probe="api",
        severity="P1",
        state=AlertState.FIRING,
        summary="p95 is 6.2s",
        started_at=1_780_000_000.0,
        fired_at=1_780_000_060.0,
        value=6.2,
        threshold=5,
        deadline=1_780_007_260.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def notification(key: str, occ: Occurrence, at: float, kind: NotificationKind) -> Notification:
    return Notification(key=key, kind=kind, occurrence=occ, created_at=at)


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store.open(tmp_path / "state" / "state.sqlite3", clock) as s:
        yield s


def test_open_creates_private_wal_database(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "deep" / "dir" / "state.sqlite3"
    with Store.open(path, clock) as s:
        assert s._query("PRAGMA journal_mode")[0][0] == "wal"
        assert s._query("PRAGMA synchronous")[0][0] == 2  # FULL
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600


def test_migrations_idempotent_and_newer_schema_refused(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state.sqlite3"
    Store.open(path, clock).close()
    with Store.open(path, clock) as s:
        assert s._query("SELECT version FROM schema_version")[0][0] == LATEST
        assert len(s._query("SELECT * FROM schema_version")) == 1
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (LATEST + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNewError, match="newer than this warroom knows"):
        Store.open(path, clock)


def test_not_a_database_is_a_state_error(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="state file"):
        Store.open(path, clock)


def test_occurrences_round_trip(store: Store) -> None:
    acked = occurrence(
        "occ-0002bb",
        ack=Acknowledgement(by="alice (ssh 203.0.113.5)", at=1_780_000_100.0, note="on it"),
        deadline=None,
        value=True,
        threshold="x",
        degraded=True,
        notified=True,
        last_notified_at=1_780_000_061.0,
        silenced_by="sil-1",
        suppressed_by="database-down",
        escalated_at=1.0,
    )
    first = occurrence(severity="P0", value=7, threshold=None)
    resolved = occurrence("occ-0003cc", state=AlertState.RESOLVED, resolved_at=1_780_000_900.0)
    for occ in (acked, first, resolved):
        store.save_occurrence(occ)
    assert store.open_occurrences() == [first, acked]
    assert store.occurrence("occ-0002bb") == acked
    assert store.recent_occurrences(limit=10) == sorted(
        [acked, first, resolved], key=lambda o: (o.started_at, o.id), reverse=True
    )
    assert isinstance(store.occurrence(first.id).value, int)  # type: ignore[union-attr]
    store.save_occurrence(dataclasses.replace(first, state=AlertState.RESOLVED))
    assert store.open_occurrences() == [acked]


def test_occurrence_prefix(store: Store) -> None:
    store.save_occurrence(occurrence("3f9a2c41d0"))
    store.save_occurrence(occurrence("3f9a2c77e1"))
    assert store.occurrence("3f9a2c4").id == "3f9a2c41d0"  # type: ignore[union-attr]
    assert store.occurrence("3f9a2") is None  # too short to be a prefix
    assert store.occurrence("3f9a2x") is None
    assert store.occurrence("3f9a2_%") is None  # LIKE wildcards are literal
    with pytest.raises(AmbiguousIdError):
        store.occurrence("3f9a2c")


def test_silences_round_trip_and_active(store: Store) -> None:
    now = 1_780_000_000.0
    live = Silence("s1", Matcher(rule="api-slow"), now - 10, now + 3600, "bob", "deploy")
    lifted = Silence("s2", Matcher(probe="api", severity="P1"), now - 5, now + 60, "bob", "x", now)
    future = Silence("s3", Matcher(), now + 100, now + 200, "carol", "later")
    for s in (live, lifted, future):
        store.save_silence(s)
    assert store.silences() == [future, lifted, live]
    assert store.silences(active_at=now) == [live]
    assert store.silences(active_at=now + 150) == [future, live]


def test_intents(store: Store, clock: FakeClock) -> None:
    first = store.add_intent("ack", "occ-1", "alice", "looking", None)
    second = store.add_intent("silence", "sil-9", "bob", payload={"matcher": {"rule": "r"}})
    pending = store.pending_intents()
    assert [i.id for i in pending] == [first, second]
    assert pending[0].kind == "ack" and pending[0].note == "looking"
    assert pending[1].payload == {"matcher": {"rule": "r"}}
    assert pending[1].created_at == clock.now()
    store.mark_intent_applied(first, "acknowledged")
    assert [i.id for i in store.pending_intents()] == [second]
    with pytest.raises(ValueError):
        store.add_intent("delete", "x", "eve")  # type: ignore[arg-type]


def test_events_newest_first(store: Store) -> None:
    occ = occurrence()
    store.record_event(AlertEvent(EventKind.FIRED, occ, at=10.0))
    store.record_event(AlertEvent(EventKind.ACKNOWLEDGED, occ, at=20.0, actor="al", note="mine"))
    events = store.events()
    assert [e.kind for e in events] == ["acknowledged", "fired"]
    assert (events[0].actor, events[0].note, events[0].rule, events[0].severity) == (
        "al",
        "mine",
        "api-slow",
        "P1",
    )
    assert events[1].actor is None
    assert len(store.events(limit=1)) == 1


def test_audit_masks_and_scrubs_secrets(store: Store, tmp_path: Path) -> None:
    dsn = Secret("postgresql://app:hunter2pw@db:5432/app")
    hook = Secret("https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX")
    store.register_secrets([dsn, hook])
    store.audit(
        "alice",
        "backup",
        "main",
        f"failed: could not connect to {dsn.reveal()}",
        {"dsn": dsn, "nested": [hook.reveal(), {"pw": "hunter2pw"}], "size": 3},
    )
    store.set_checklist_item("c1", True, "alice")
    [entry] = store.audit_entries()
    assert entry.outcome == "failed: could not connect to postgresql://app:***@db:5432/app"
    assert entry.detail["dsn"] == dsn.masked
    assert entry.detail["size"] == 3
    store.close()
    raw = b"".join(p.read_bytes() for p in store.path.parent.iterdir())
    for secret in (b"hunter2pw", b"XXXXsecretXXXX"):
        assert secret not in raw


def test_outbox_enqueue_claim_and_marks(store: Store, clock: FakeClock) -> None:
    now = clock.now()
    occ = occurrence()
    assert store.enqueue(notification("k-fire", occ, now, NotificationKind.FIRE), {"text": "a"})
    assert not store.enqueue(notification("k-fire", occ, now, NotificationKind.FIRE), {"text": "b"})
    store.enqueue(notification("k-resolve", occ, now, NotificationKind.RESOLVE), {"text": "r"})
    other = occurrence("occ-p0", severity="P0")
    store.enqueue(notification("k-p0", other, now + 5, NotificationKind.FIRE), {"text": "p0"})
    assert store.pending_notifications() == 3

    # Due rows only; the resolve waits behind its own fire.
    [row] = store.claim_due("me", now)
    assert (row.key, row.payload, row.attempts) == ("k-fire", {"text": "a"}, 1)
    # Another claimer gets the P0 once due, never the claimed fire or the blocked resolve.
    assert [r.key for r in store.claim_due("other", now + 5)] == ["k-p0"]
    store.mark_delivered("k-p0")
    store.mark_retry("k-fire", now + 30, "500 internal")
    assert store.notification_health() == "notifications failing: 500 internal"
    assert store.claim_due("me", now + 29) == []
    [again] = store.claim_due("me", now + 30)
    assert (again.key, again.attempts, again.last_error) == ("k-fire", 2, "500 internal")
    store.mark_delivered("k-fire")
    assert store.notification_health() is None
    [resolve] = store.claim_due("me", now + 30)
    assert resolve.key == "k-resolve"
    store.mark_failed("k-resolve", "403 invalid_token")
    assert store.notification_health() == "notifications failing: 403 invalid_token"
    assert store.pending_notifications() == 0
    assert store.claim_due("me", now + 10_000) == []


def test_claim_order_and_expiry(store: Store, clock: FakeClock) -> None:
    now = clock.now()
    store.enqueue(
        notification("p2", occurrence("o2", severity="P2"), now, NotificationKind.FIRE), {}
    )
    store.enqueue(
        notification("p0", occurrence("o0", severity="P0"), now, NotificationKind.FIRE), {}
    )
    assert [r.key for r in store.claim_due("a", now, claim_for=60)] == ["p0", "p2"]
    assert store.claim_due("b", now + 59) == []
    assert [r.key for r in store.claim_due("b", now + 60)] == ["p0", "p2"]  # holder died
    store.release_claim("p2", "a")  # a's claim expired: b's stays b's
    store.release_claim("p0", "b")
    [again] = store.claim_due("c", now + 61)
    assert (again.key, again.attempts) == ("p0", 2)  # released: that claim was no attempt


def _fill_outbox(store: Store, count: int, at: float) -> None:
    for i in range(count):
        occ = occurrence(f"occ-{i:04d}")
        store.enqueue(notification(f"key-{i}", occ, at, NotificationKind.FIRE), {"i": i})


def test_concurrent_claims_from_threads_never_overlap(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state.sqlite3"
    with Store.open(path, clock) as s:
        _fill_outbox(s, 200, clock.now())
    claimed: dict[str, list[str]] = {}
    start = threading.Barrier(4)

    def claimer(name: str) -> None:
        with Store.open(path, clock) as mine:
            start.wait()
            got = claimed.setdefault(name, [])
            while rows := mine.claim_due(name, clock.now(), limit=3):
                got.extend(r.key for r in rows)

    threads = [threading.Thread(target=claimer, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [key for keys in claimed.values() for key in keys]
    assert sorted(every) == sorted(f"key-{i}" for i in range(200))


CLAIMER = """
import sys
from pathlib import Path
from console.clock import FakeClock
from console.state import Store
store = Store.open(Path(sys.argv[1]), FakeClock())
print("ready", flush=True)
sys.stdin.readline()
while rows := store.claim_due(sys.argv[2], FakeClock().now(), limit=2):
    for row in rows:
        print(row.key, flush=True)
"""


def test_concurrent_claims_from_processes_never_overlap(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state.sqlite3"
    with Store.open(path, clock) as s:
        _fill_outbox(s, 300, clock.now())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(path), f"p{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for i in range(3)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:  # start them together
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=60)[0].split() for proc in procs]
    every = [key for out in outputs for key in out]
    assert sorted(every) == sorted(f"key-{i}" for i in range(300))


def test_leases(store: Store, clock: FakeClock) -> None:
    assert store.acquire_lease("engine", "console-1", ttl=15)
    assert not store.acquire_lease("engine", "agent-2", ttl=15)
    assert store.lease_holder("engine") == "console-1"
    clock.advance(10)
    assert store.acquire_lease("engine", "console-1", ttl=15)  # renewed to now + 15
    clock.advance(10)
    assert not store.acquire_lease("engine", "agent-2", ttl=15)
    clock.advance(6)
    assert store.lease_holder("engine") is None
    assert store.acquire_lease("engine", "agent-2", ttl=15)  # expired: taken over
    store.release_lease("engine", "console-1")  # not ours any more: no effect
    assert store.lease_holder("engine") == "agent-2"
    store.release_lease("engine", "agent-2")
    assert store.lease_holder("engine") is None


def test_backups_drills_scratch_checklist(store: Store, clock: FakeClock) -> None:
    store.record_backup("b1", "main", "running", None, None, 1.0, 1.0, None)
    store.record_backup("b1", "main", "verified", 1234, "ab" * 32, 1.0, 9.0, None)
    store.record_backup("b2", "main", "failed", None, None, 20.0, 21.0, "pg_dump: exit 1")
    assert [(b.key, b.outcome) for b in store.backups()] == [("b2", "failed"), ("b1", "verified")]
    assert store.backups()[1].size == 1234 and store.backups()[1].sha256 == "ab" * 32
    store.record_drill("b1", "main", True, 42.5, {"restore": 40.0, "verify": 2.5}, None, 30.0, 72.5)
    store.record_drill("b2", "main", False, None, {}, "restore failed", 80.0, 81.0)
    drills = store.drills()
    assert [d.ok for d in drills] == [False, True]
    assert drills[1].phases == {"restore": 40.0, "verify": 2.5} and drills[1].rto == 42.5
    store.register_scratch_database("warroom_drill_1", "db:5432")
    clock.advance(1)
    store.register_scratch_database("warroom_drill_2", "other:5432")
    assert store.scratch_databases() == ["warroom_drill_1", "warroom_drill_2"]
    assert store.scratch_databases("other:5432") == ["warroom_drill_2"]
    store.forget_scratch_database("warroom_drill_1")
    assert store.scratch_databases() == ["warroom_drill_2"]
    store.set_checklist_item("backups-verified", True, "alice")
    store.set_checklist_item("backups-verified", False, "bob")
    tick = store.checklist_items()["backups-verified"]
    assert (tick.ticked, tick.by, tick.at) == (False, "bob", clock.now())


WRITER = """
import sys
from pathlib import Path
from console.alerts.model import *
from console.clock import FakeClock
from console.state import Store
store = Store.open(Path(sys.argv[1]), FakeClock())
occ = Occurrence(id="killed-occ", rule="r", probe="p", severity="P0",
                 state=AlertState.FIRING, summary="s", started_at=1.0,
                 ack=Acknowledgement(by="alice", at=2.0, note="mine"))
store.save_occurrence(occ)
store.save_silence(Silence("killed-sil", Matcher(rule="r"), 1.0, 9e9, "bob", "quiet"))
store.add_intent("ack", "killed-occ", "alice", "from a shell")
store.enqueue(Notification("killed-key", NotificationKind.FIRE, occ, 1.0), {"text": "t"})
store.audit("alice", "ack", "killed-occ", "requested")
print("written", flush=True)
import time
time.sleep(60)
"""


def test_everything_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with Store.open(path) as fresh:
        occ = fresh.occurrence("killed-occ")
        assert occ is not None and occ.ack is not None and occ.ack.note == "mine"
        assert [s.id for s in fresh.silences()] == ["killed-sil"]
        assert [i.note for i in fresh.pending_intents()] == ["from a shell"]
        assert fresh.pending_notifications() == 1
        assert [a.target for a in fresh.audit_entries()] == ["killed-occ"]


def test_operator_identity() -> None:
    assert operator_identity("alice", {"USER": "root"}) == "alice"
    assert operator_identity(None, {"USER": "bob"}) == "bob"
    env = {"USER": "bob", "SSH_CONNECTION": "203.0.113.5 50022 10.0.0.2 22"}
    assert operator_identity(None, env) == "bob (ssh 203.0.113.5)"
    assert operator_identity("  ", env) == "bob (ssh 203.0.113.5)"


def test_state_notify_telemetry_never_import_textual() -> None:
    code = (
        "import sys, console.state, console.notify.slack, console.telemetry; "
        "sys.exit('textual' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=60).returncode == 0
