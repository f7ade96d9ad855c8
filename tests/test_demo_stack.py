"""The demo stack for real: PostgreSQL as an unprivileged user, the demo API's
fault switches and Sentry/Slack/Zendesk shapes, and crash safety of the supervisor."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from console.demo.cluster import ThrowawayCluster
from console.demo.lifeline import child_env
from console.demo.schema import FUNNEL, VITALS
from console.demo.stack import DemoStack, DemoStackError
from tests.fixtures.demo_api import DemoApi

SENTRY = {"Authorization": "Bearer demo-token"}
STATS = (
    "/api/0/organizations/demo/stats_v2/?project=4242&category=error&field=sum(quantity)"
    "&groupBy=outcome&interval=1m&statsPeriod=2h"
)
ISSUES = "/api/0/projects/demo/warroom-demo/issues/"


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if text.encode() in cmdline and _alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def _wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# -- the cluster -------------------------------------------------------------


@pytest.mark.postgres
def test_cluster_stops_and_starts_on_the_same_port(pg_restartable: ThrowawayCluster) -> None:
    cluster = pg_restartable
    assert cluster.pid is not None
    if os.geteuid() == 0:
        assert _uid_of(cluster.pid) != 0
    port = cluster.port
    with cluster.stopped():
        assert not cluster.running
        assert (cluster.data_dir / "PG_VERSION").exists()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(cluster.dsn("app"), connect_timeout=2)
    assert cluster.port == port
    with psycopg.connect(cluster.dsn("app")) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() is not None


@pytest.mark.postgres
def test_fresh_cluster_has_checksums_and_destroy_leaves_nothing() -> None:
    cluster = ThrowawayCluster().create()
    pid = cluster.pid
    assert pid is not None
    with psycopg.connect(cluster.dsn()) as conn:
        settings = conn.execute(
            "SELECT current_setting('data_checksums'), current_setting('track_io_timing')"
        ).fetchone()
    assert settings == ("on", "on")
    cluster.destroy()
    assert not cluster.root.exists()
    assert _wait_until(lambda: not _alive(pid), timeout=5)


@pytest.mark.postgres
def test_seeded_schema_and_roles(pg_monitor_dsn: str, pg_limited_dsn: str) -> None:
    with psycopg.connect(pg_monitor_dsn) as conn:
        rows = conn.execute("SELECT name, count(*) FROM events GROUP BY name").fetchall()
        counts: dict[str, int] = {name: count for name, count in rows}
        ages = conn.execute(
            "SELECT count(*), max(now() - created_at) < interval '2 hours' FROM support_tickets"
            " WHERE status <> 'solved'"
        ).fetchone()
        monitor = conn.execute("SELECT pg_has_role('pg_monitor', 'member')").fetchone()
    funnel = [counts[name] for name in FUNNEL]
    assert funnel == sorted(funnel, reverse=True) and funnel[-1] > 0
    assert all(counts[name] > 0 for name in VITALS)
    assert ages is not None and ages[0] >= 3 and ages[1] is True
    assert monitor == (True,)
    with (
        psycopg.connect(pg_limited_dsn) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT count(*) FROM users")


@pytest.mark.postgres
def test_tcp_needs_the_password(pg_cluster: ThrowawayCluster) -> None:
    wrong = pg_cluster.dsn("app", "warroom_monitor").replace("demo-secret", "wrong")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(wrong, connect_timeout=2)


@pytest.mark.postgres
def test_scratch_databases_are_seeded_copies(pg_scratch_db: Callable[[], str]) -> None:
    first, second = pg_scratch_db(), pg_scratch_db()
    assert first != second
    with psycopg.connect(first) as conn:
        conn.execute("DELETE FROM soul_memories")
    with psycopg.connect(second) as conn:
        row = conn.execute("SELECT count(*) FROM soul_memories").fetchone()
    assert row is not None and row[0] > 0


# -- the demo API ------------------------------------------------------------


@pytest.fixture
def client(demo_api: DemoApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_api.url, timeout=10) as http:
        yield http


def test_health_and_fault_switches(client: httpx.Client, demo_api: DemoApi) -> None:
    assert client.get("/health").json() == {"status": "healthy"}
    assert client.get("/api/journeys").status_code == 200
    demo_api.faults.set(latency_ms=300)
    started = time.monotonic()
    assert client.get("/api/oracle").status_code == 200
    assert time.monotonic() - started >= 0.3
    demo_api.faults.set(latency_ms=0, error_rate=0.5)
    statuses = [client.get("/api/journeys").status_code for _ in range(4)]
    assert sorted(statuses) == [200, 200, 500, 500]
    assert client.get("/health").status_code == 200
    assert demo_api.faults.get()["error_rate"] == 0.5
    demo_api.faults.reset()
    assert client.get("/api/journeys").status_code == 200


def test_kept_alive_requests_are_answered_at_once(client: httpx.Client) -> None:
    # The console shows these round trips as the API's latency: a Nagle stall on each
    # kept-alive request (40 ms, the client's delayed ACK) would pass for a slow API.
    client.get("/health")
    took = []
    for _ in range(5):
        start = time.perf_counter()
        assert client.get("/health").status_code == 200
        took.append(time.perf_counter() - start)
    assert min(took) < 0.02, took


def test_bad_fault_bodies_change_nothing(client: httpx.Client, demo_api: DemoApi) -> None:
    for body in ({"latency": 5}, {"error_rate": 2}, {"latency_ms": -1}, [1]):
        assert client.post("/_faults", json=body).status_code == 400
    assert demo_api.faults.get()["latency_ms"] == 0


def test_sentry_needs_a_token(client: httpx.Client) -> None:
    for path in ("/api/0/projects/demo/warroom-demo/", STATS, ISSUES):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token"}
    wrong_scheme = client.get(STATS, headers={"Authorization": "Basic ZGVtbw=="})
    assert wrong_scheme.status_code == 401


def test_sentry_project_and_stats_shape(client: httpx.Client) -> None:
    project = client.get("/api/0/projects/demo/warroom-demo/", headers=SENTRY).json()
    assert project == {"id": "4242", "slug": "warroom-demo", "name": "warroom-demo"}
    stats = client.get(STATS, headers=SENTRY).json()
    assert set(stats) == {"start", "end", "intervals", "groups"}
    assert len(stats["intervals"]) == 120 and stats["intervals"][0] == stats["start"]
    assert [g["by"] for g in stats["groups"]] == [
        {"outcome": "accepted"},
        {"outcome": "rate_limited"},
        {"outcome": "filtered"},
    ]
    for group in stats["groups"]:
        series = group["series"]["sum(quantity)"]
        assert len(series) == 120 and group["totals"]["sum(quantity)"] == sum(series)
    accepted = stats["groups"][0]["series"]["sum(quantity)"]
    assert all(2 <= n <= 5 for n in accepted)
    again = client.get(STATS, headers=SENTRY).json()
    if again["intervals"] == stats["intervals"]:  # same minute: identical answer
        assert again == stats


def test_burst_and_500s_show_in_sentry(client: httpx.Client, demo_api: DemoApi) -> None:
    query = {"query": "is:unresolved firstSeen:-1h", "limit": "100"}
    assert client.get(ISSUES, params=query, headers=SENTRY).json() == []
    demo_api.faults.set(error_burst=200, error_rate=1.0)
    assert client.get("/api/journeys").status_code == 500
    stats = client.get(STATS, headers=SENTRY).json()
    accepted = stats["groups"][0]["series"]["sum(quantity)"][-1]
    rate_limited = stats["groups"][1]["series"]["sum(quantity)"][-1]
    assert accepted >= 70 and rate_limited >= 8
    found = client.get(ISSUES, params=query, headers=SENTRY).json()
    assert len(found) == 2
    for issue in found:
        assert set(issue) >= {"id", "shortId", "title", "firstSeen", "lastSeen", "count", "level"}
        assert issue["status"] == "unresolved" and int(issue["count"]) >= 1
    every = client.get(ISSUES, params={"query": "is:unresolved"}, headers=SENTRY).json()
    assert len(every) == 3


def test_slack_receiver_and_support_counts(client: httpx.Client, demo_api: DemoApi) -> None:
    response = client.post("/slack/webhook", json={"text": "P0 data loss"})
    assert (response.status_code, response.text) == (200, "ok")
    assert response.headers["content-type"].startswith("text/plain")
    assert demo_api.faults.slack_messages() == [{"text": "P0 data loss"}]
    demo_api.faults.set(slack_down=True)
    assert client.post("/slack/webhook", json={"text": "lost"}).status_code == 503
    count = "/api/v2/search/count.json"
    assert client.get(count, params={"query": "type:ticket status<solved"}).json() == {"count": 5}
    assert client.get(count, params={"query": "tags:sla_breach"}).json() == {"count": 0}
    demo_api.faults.set(support_breach=2)
    assert client.get(count, params={"query": "tags:sla_breach"}).json() == {"count": 2}


# -- the whole stack ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
def test_demo_stack_starts_controls_and_cleans_up() -> None:
    started = time.monotonic()
    stack = DemoStack().start()
    try:
        elapsed = time.monotonic() - started
        print(f"DemoStack ready in {elapsed:.2f}s (supervisor: {stack.startup_seconds:.2f}s)")
        assert elapsed < 15
        env = stack.env()
        assert env["WARROOM_DB_DSN"].startswith("postgresql://warroom_monitor:demo-secret@")
        assert (
            env["WARROOM_BACKUP_DEST"].endswith("/") and Path(env["WARROOM_BACKUP_DEST"]).is_dir()
        )
        with psycopg.connect(env["WARROOM_DB_DSN"]) as conn:
            before = conn.execute("SELECT count(*) FROM soul_memories").fetchone()
        control = stack.control
        assert control.delete_rows("soul_memories", 0.5) > 0
        with pytest.raises(DemoStackError, match="users"):
            control.delete_rows("users")
        with psycopg.connect(env["WARROOM_BACKUP_DSN"]) as conn:
            after = conn.execute("SELECT count(*) FROM soul_memories").fetchone()
        assert before is not None and after is not None and after[0] < before[0]
        control.stop_database()
        assert not control.database_running()
        control.set_api_latency(50)
        control.set_error_rate(0.25)
        control.burst_errors(100)
        faults = httpx.get(env["WARROOM_API_URL"] + "/_faults").json()
        assert (faults["latency_ms"], faults["error_rate"], faults["error_burst"]) == (
            50,
            0.25,
            100,
        )
        control.reset()
        assert control.database_running()
        assert httpx.get(env["WARROOM_API_URL"] + "/_faults").json()["latency_ms"] == 0
        root, pids = stack.root, stack.pids
    finally:
        stack.close()
    assert not root.exists()
    assert not any(_alive(pid) for pid in pids.values())


_CONSOLE = textwrap.dedent(
    """
    import sys, time
    from console.demo.stack import DemoStack
    stack = DemoStack().start()
    print(stack.root, stack.data_dir, *stack.pids.values(), flush=True)
    time.sleep(120)
    """
)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_the_console_leaves_nothing_behind(sig: signal.Signals) -> None:
    console = subprocess.Popen(
        [sys.executable, "-c", _CONSOLE], stdout=subprocess.PIPE, text=True, env=child_env()
    )
    try:
        assert console.stdout is not None
        root, data_dir, *pids = console.stdout.readline().split()
        assert Path(data_dir).is_dir() and _processes_mentioning(data_dir)
        console.send_signal(sig)
        console.wait(timeout=10)
        assert _wait_until(lambda: not Path(root).exists()), "temp root survived"
        assert _processes_mentioning(data_dir) == []
        assert not any(_alive(int(pid)) for pid in pids)
    finally:
        console.kill()
        console.wait()


@pytest.mark.postgres
@pytest.mark.slow
def test_run_no_ui_prints_exports_and_stops_on_sigint() -> None:
    program = (
        "import sys; from console.demo.stack import run_no_ui; sys.exit(run_no_ui(sys.stdout))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=child_env(),
    )
    try:
        assert proc.stdout is not None
        exported: dict[str, str] = {}
        while len(exported) < 14:
            words = shlex.split(proc.stdout.readline())
            assert words and words[0] == "export", "run_no_ui stopped early"
            name, _, value = words[1].partition("=")
            exported[name] = value
        assert exported["WARROOM_ENVIRONMENT"] == "demo"
        root = Path(exported["WARROOM_STATE_PATH"]).parent
        assert root.is_dir()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert not root.exists()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.postgres
@pytest.mark.slow
def test_sigterm_to_the_supervisor_cleans_up() -> None:
    stack = DemoStack().start()
    try:
        root, data_dir, supervisor = stack.root, str(stack.data_dir), stack.supervisor_pid
        assert supervisor is not None
        os.kill(supervisor, signal.SIGTERM)
        assert _wait_until(lambda: not root.exists()), "temp root survived"
        assert _processes_mentioning(data_dir) == []
        assert not stack.alive or _wait_until(lambda: not stack.alive)
    finally:
        stack.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_a_killed_supervisor_takes_its_children_along() -> None:
    stack = DemoStack().start()
    try:
        root, pids, supervisor = stack.root, stack.pids, stack.supervisor_pid
        assert supervisor is not None
        os.kill(supervisor, signal.SIGKILL)
        # No cleanup code ran: the parent-death signals alone end the children.
        assert _wait_until(lambda: not any(_alive(pid) for pid in pids.values()))
    finally:
        stack.close()
    assert not root.exists()
