"""The PostgreSQL probe against the real throwaway cluster, with both drivers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
import pytest

from console.config.model import Duration, PostgresConfig
from console.config.secret import Secret
from probes.pg_driver import Driver
from probes.pg_metrics import ACTIVITY_METRICS
from probes.postgres import PostgresProbe
from probes.result import Status

pytestmark = pytest.mark.postgres

CONTRACT = {
    "up", "rtt", "server_version_num", "in_recovery", "uptime", "connections_total",
    "connections_active", "connections_idle", "connections_idle_in_transaction",
    "max_connections", "connections_used_ratio", "blocked_sessions", "long_queries",
    "longest_query_age", "longest_transaction_age", "commits_per_s", "rollbacks_per_s",
    "deadlocks_per_s", "cache_hit_ratio", "temp_bytes_per_s", "database_size",
    "database_growth_per_s", "xid_age", "replication_lag_bytes", "replication_lag_seconds",
    "checksum_failures", "checksum_failures_delta", "inactive_slots", "slot_retained_bytes",
    "archiver_failed_count", "archiver_failures_delta", "critical_rows_drop_ratio",
    "row_drop_threshold",
}  # fmt: skip


def make_probe(dsn: str, driver: Driver, **overrides: Any) -> PostgresProbe:
    fields: dict[str, Any] = {
        "interval": Duration(0.5),
        "timeout": Duration(3.0),
        "long_query": Duration(0.3),
        "critical_tables": ("users", "soul_memories"),
        **overrides,
    }
    return PostgresProbe(PostgresConfig(name="main", dsn=Secret(dsn), driver=driver, **fields))


@pytest.fixture(params=["psycopg", "asyncpg"])
def driver(request: pytest.FixtureRequest) -> Driver:
    value: Driver = request.param
    return value


@pytest.fixture
async def side() -> AsyncIterator[Callable[[str], Any]]:
    """Opens extra sessions (not autocommit) that the test uses to create conditions."""
    opened: list[psycopg.AsyncConnection[Any]] = []

    async def open_session(dsn: str) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(dsn)
        opened.append(conn)
        return conn

    yield open_session
    for conn in opened:
        await conn.close()


async def backend_pid(conn: psycopg.AsyncConnection[Any]) -> int:
    cursor = await conn.execute("SELECT pg_backend_pid()")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def test_healthy_server_reports_the_contract(pg_monitor_dsn: str, driver: Driver) -> None:
    probe = make_probe(pg_monitor_dsn, driver)
    try:
        first = await probe.run()
        second = await probe.run()
    finally:
        await probe.close()
    assert first.status is Status.OK, first.error
    assert first.kind == "postgres" and first.name == "main"
    assert set(second.metrics) == CONTRACT | {
        f"table.{t}.{m}" for t in ("users", "soul_memories") for m in ("rows", "delta", "exact")
    }
    assert second.unavailable == ()
    m = second.metrics
    assert m["up"] is True and 0 < m["rtt"] < 1  # type: ignore[operator]
    assert m["server_version_num"] >= 150000  # type: ignore[operator]
    assert m["in_recovery"] is False and m["uptime"] > 0  # type: ignore[operator]
    assert m["max_connections"] == 40
    assert m["connections_used_ratio"] == m["connections_total"] / 40  # type: ignore[operator]
    assert m["database_size"] > 1_000_000 and m["xid_age"] > 0  # type: ignore[operator]
    # A lone primary has no replication: absent, not 0 (rules neither fire nor resolve).
    assert m["replication_lag_bytes"] is None and m["replication_lag_seconds"] is None
    assert m["checksum_failures"] == 0 and m["checksum_failures_delta"] == 0
    assert m["archiver_failed_count"] == 0 and m["archiver_failures_delta"] == 0
    assert m["inactive_slots"] == 0 and m["slot_retained_bytes"] == 0
    assert m["table.users.rows"] == 300 and m["table.users.exact"] is True
    assert m["table.users.delta"] == 0 and first.metrics["table.users.delta"] is None
    assert m["critical_rows_drop_ratio"] == 0 and m["row_drop_threshold"] == 0.01
    for rate in ("commits_per_s", "rollbacks_per_s", "deadlocks_per_s", "temp_bytes_per_s"):
        assert first.metrics[rate] is None and m[rate] >= 0  # type: ignore[operator]
    assert second.duration < 0.5


async def test_session_is_read_only_named_and_excluded(
    pg_cluster: Any, pg_dsn: str, driver: Driver
) -> None:
    probe = make_probe(pg_dsn, driver, critical_tables=())
    try:
        with pg_cluster.connect("app") as conn:
            result = await probe.run()
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE application_name = 'warroom'),"
                " count(*) FILTER (WHERE backend_type = 'client backend')"
                " FROM pg_stat_activity"
            ).fetchone()
        session = probe._session
        assert session is not None
        settings = await session.fetch_value(
            "SELECT concat_ws(' ', current_setting('default_transaction_read_only'),"
            " current_setting('statement_timeout'), current_setting('lock_timeout'))"
        )
        assert settings == "on 2160ms 1s"  # 80% of the 90% budget of a 3 s timeout
        with pytest.raises(Exception, match="read-only"):
            await session.fetch_value("CREATE TABLE probe_writes ()")
    finally:
        await probe.close()
    assert row is not None and row[0] == 1  # one probe session, named
    # Every client backend but the probe's own (this test's connection included).
    assert result.metrics["connections_total"] == row[1] - 1 >= 1


async def test_locks_idle_transactions_and_long_queries(
    pg_dsn: str, driver: Driver, side: Callable[[str], Any]
) -> None:
    holder = await side(pg_dsn)
    waiter = await side(pg_dsn)
    sleeper = await side(pg_dsn)
    await holder.execute("UPDATE support_tickets SET status = 'holder-secret' WHERE id = 1")
    holder_pid = await backend_pid(holder)
    waiter_pid = await backend_pid(waiter)
    blocked = asyncio.create_task(
        waiter.execute("UPDATE support_tickets SET status = 'waiter-secret' WHERE id = 1")
    )
    sleeping = asyncio.create_task(
        sleeper.execute("SELECT pg_sleep(30), 'sleeper-secret', $x$dollar-secret$x$, 42")
    )
    await asyncio.sleep(0.6)  # past long_query (0.3 s)
    probe = make_probe(pg_dsn, driver)
    try:
        result = await probe.run()
    finally:
        await probe.close()
        await holder.rollback()
        await blocked
        sleeper.cancel()
        with pytest.raises(psycopg.errors.QueryCanceled):
            await sleeping
    m = result.metrics
    assert result.status is Status.OK, result.error
    assert m["blocked_sessions"] == 1
    assert m["connections_idle_in_transaction"] >= 1  # type: ignore[operator]
    assert m["long_queries"] >= 2  # type: ignore[operator]  # the sleeper and the waiter
    assert m["longest_query_age"] >= 0.6  # type: ignore[operator]
    assert m["longest_transaction_age"] >= 0.6  # type: ignore[operator]
    queries = {q["pid"]: q for q in result.detail["queries"]}
    assert queries[waiter_pid]["blocked_by"] == [holder_pid]
    assert queries[waiter_pid]["wait_event"].startswith("Lock:")
    assert queries[holder_pid]["state"] == "idle in transaction"
    assert any(q["query"] == "SELECT pg_sleep(?), ?, ?, ?" for q in queries.values())
    assert "secret" not in repr(result.detail)


async def test_row_drop_missing_table_and_estimates(
    pg_scratch_db: Callable[[], str], driver: Driver
) -> None:
    dsn = pg_scratch_db()
    tables = ("support_tickets", "public.soul_memories", "no_such_table")
    probe = make_probe(dsn, driver, critical_tables=tables, exact_count_limit=500)
    try:
        before = await probe.run()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM support_tickets WHERE id = 5")
            conn.execute("DELETE FROM soul_memories WHERE id <= 60")
            conn.execute("ANALYZE soul_memories")
        after = await probe.run()
    finally:
        await probe.close()
    for result in (before, after):
        assert result.status is Status.WARNING
        assert result.error == "critical table 'no_such_table' not found"
        assert result.metrics["up"] is True and "xid_age" in result.metrics
    assert before.metrics["critical_rows_drop_ratio"] == 0
    m = after.metrics
    assert m["table.support_tickets.exact"] is True  # 5 rows < 500: count(*)
    assert m["table.support_tickets.rows"] == 4 and m["table.support_tickets.delta"] == -1
    assert m["table.public.soul_memories.exact"] is False  # estimate 600 >= 500
    assert m["table.public.soul_memories.rows"] == 540
    assert m["table.public.soul_memories.delta"] == -60
    assert m["critical_rows_drop_ratio"] == pytest.approx(0.2)  # the worst table: 1 of 5
    assert not any(name.startswith("table.no_such_table") for name in m)


async def test_stats_reset_yields_no_negative_rate(
    pg_scratch_db: Callable[[], str], driver: Driver
) -> None:
    dsn = pg_scratch_db()
    probe = make_probe(dsn, driver, critical_tables=())
    rates = ("commits_per_s", "rollbacks_per_s", "deadlocks_per_s", "temp_bytes_per_s")
    try:
        await probe.run()
        with psycopg.connect(dsn, autocommit=True) as conn:
            for _ in range(20):
                conn.execute("SELECT count(*) FROM events")
        busy = await probe.run()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_reset()")
        reset = await probe.run()
        again = await probe.run()
    finally:
        await probe.close()
    assert busy.metrics["commits_per_s"] > 0  # type: ignore[operator]
    assert 0 < busy.metrics["cache_hit_ratio"] <= 1  # type: ignore[operator]
    assert all(reset.metrics[rate] is None for rate in rates)
    assert reset.metrics["cache_hit_ratio"] is None
    assert all(again.metrics[rate] >= 0 for rate in rates)  # type: ignore[operator]


async def test_limited_role_reports_what_it_cannot_see(
    pg_limited_dsn: str, pg_monitor_dsn: str, driver: Driver, side: Callable[[str], Any]
) -> None:
    other = await side(pg_monitor_dsn)
    await other.execute("SELECT 1")  # idle in transaction, as another role
    probe = make_probe(pg_limited_dsn, driver)
    try:
        result = await probe.run()
    finally:
        await probe.close()
    assert result.status is Status.OK, result.error
    assert set(result.unavailable) == set(ACTIVITY_METRICS)
    assert not set(ACTIVITY_METRICS) & set(result.metrics)  # not reported as zeros
    assert result.metrics["connections_total"] >= 1  # type: ignore[operator]
    # No SELECT on the table: the planner's estimate, flagged as such.
    assert result.metrics["table.users.rows"] == 300
    assert result.metrics["table.users.exact"] is False
