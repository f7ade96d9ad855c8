"""The PostgreSQL probe when things go wrong: server down and back, cancellation, corruption."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from console.demo.cluster import ThrowawayCluster
from probes.pg_driver import Driver
from probes.result import Status
from tests.test_postgres_probe import driver, make_probe

pytestmark = pytest.mark.postgres
__all__ = ["driver"]  # the parametrized fixture, shared with the metric tests


async def test_server_down_and_back(pg_restartable: ThrowawayCluster, driver: Driver) -> None:
    cluster = pg_restartable
    password = cluster.passwords["postgres"]
    probe = make_probe(cluster.dsn("app"), driver, critical_tables=())
    try:
        assert (await probe.run()).status is Status.OK
        cluster.stop()
        down = await probe.run()
        begun = time.monotonic()
        in_backoff = await probe.run()  # straight away: no new attempt, the last error
        in_backoff_duration = time.monotonic() - begun
        cluster.start()
        results = []
        for _ in range(2):  # reconnects within two intervals
            await asyncio.sleep(probe.interval)
            results.append(await probe.run())
            if results[-1].status is Status.OK:
                break
    finally:
        await probe.close()
    assert down.status is Status.DOWN and dict(down.metrics) == {"up": False}
    assert down.duration < probe.timeout
    assert down.error and "\n" not in down.error and password not in down.error
    assert in_backoff.status is Status.DOWN and in_backoff.error == down.error
    assert in_backoff_duration < 0.05
    assert results[-1].status is Status.OK, [r.error for r in results]


async def test_connect_error_never_shows_the_password(driver: Driver) -> None:
    # A malformed DSN that libpq quotes back in full in its error message.
    probe = make_probe("postgresql://app:hunter2@[::1/app", driver)
    result = await probe.run()
    await probe.close()
    assert result.status is Status.DOWN and result.error
    assert "hunter2" not in result.error


async def test_unreachable_server_is_down_within_the_timeout(driver: Driver) -> None:
    # A listening socket that never answers: the connect hangs until the deadline.
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    probe = make_probe(f"postgresql://u:pw@127.0.0.1:{port}/app", driver, timeout=1.0)
    try:
        result = await probe.run()
    finally:
        await probe.close()
        server.close()
    assert result.status is Status.DOWN and result.error == "timed out after 0.9s"
    assert result.duration < 1.0


async def test_cancelled_mid_query_drops_the_connection(pg_dsn: str, driver: Driver) -> None:
    probe = make_probe(pg_dsn, driver, critical_tables=("users",))
    locker = await psycopg.AsyncConnection.connect(pg_dsn)
    try:
        assert (await probe.run()).status is Status.OK
        await locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(TimeoutError):  # the count(*) waits on the lock
            await asyncio.wait_for(probe.run(), 0.3)
        assert probe._session is None
        await locker.rollback()
        after = await probe.run()
    finally:
        await probe.close()
        await locker.close()
    assert after.status is Status.OK, after.error


async def test_locked_critical_table_is_a_warning(pg_dsn: str, driver: Driver) -> None:
    probe = make_probe(pg_dsn, driver, critical_tables=("users",))
    locker = await psycopg.AsyncConnection.connect(pg_dsn)
    try:
        await locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        result = await probe.run()  # lock_timeout (1 s) ends the count, not the probe
        await locker.rollback()
        after = await probe.run()
    finally:
        await probe.close()
        await locker.close()
    assert result.status is Status.WARNING and result.error
    assert result.error.startswith("critical tables: canceling statement due to lock timeout")
    assert "xid_age" in result.metrics and "critical_rows_drop_ratio" not in result.metrics
    assert after.status is Status.OK and after.metrics["table.users.rows"] == 300


def _corrupt_first_page(cluster: ThrowawayCluster, dsn: str) -> None:
    """A table whose only page on disk no longer matches its checksum."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE fragile AS SELECT g, md5(g::text) FROM generate_series(1, 50) g")
        conn.execute("SELECT count(*) FROM fragile")  # set hint bits before the checkpoint
        conn.execute("CHECKPOINT")
        row = conn.execute("SELECT pg_relation_filepath('fragile')").fetchone()
    assert row is not None
    cluster.stop()  # and so out of shared buffers
    path = Path(cluster.data_dir) / row[0]
    data = bytearray(path.read_bytes())
    data[4000:4064] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    cluster.start()


async def test_checksum_failure_is_counted(
    pg_restartable: ThrowawayCluster, pg_scratch_db: Callable[[], str], driver: Driver
) -> None:
    dsn = pg_scratch_db()
    _corrupt_first_page(pg_restartable, dsn)
    probe = make_probe(dsn, driver, critical_tables=())
    try:
        before = await probe.run()
        with (
            psycopg.connect(dsn, autocommit=True) as conn,
            pytest.raises(psycopg.errors.DataCorrupted),
        ):
            conn.execute("SELECT * FROM fragile")
        after = await probe.run()
    finally:
        await probe.close()
    assert before.metrics["checksum_failures_delta"] is None  # first sample
    assert after.metrics["checksum_failures_delta"] == 1
    failures = after.metrics["checksum_failures"]
    assert isinstance(failures, int) and failures >= 1
