"""Replication lag, slots and the archiver, on a private primary and streaming standby.

The session cluster runs with wal_level=minimal (fast, but no WAL for
replicas, slots or archiving), so these tests build their own pair once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

import console.demo.cluster as cluster_module
from console.demo.cluster import ThrowawayCluster
from probes.pg_driver import Driver
from probes.result import Status
from tests.test_postgres_probe import driver, make_probe

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
__all__ = ["driver"]

# Launch settings of the pair: WAL for a standby and for an archiver. The
# archive command itself is set with ALTER SYSTEM (the command line would pin it):
# one that succeeds while the base backup waits for archiving, then one that fails.
_REPLICA_SETTINGS = {"wal_level": "replica", "max_wal_senders": "4", "archive_mode": "on"}


def _archive_command(cluster: ThrowawayCluster, command: str) -> None:
    with cluster.connect() as conn:
        conn.execute(psycopg.sql.SQL("ALTER SYSTEM SET archive_command = {}").format(command))
        conn.execute("SELECT pg_reload_conf()")


@dataclass
class Pair:
    primary: ThrowawayCluster
    standby: ThrowawayCluster


def _make_standby(primary: ThrowawayCluster) -> ThrowawayCluster:
    standby = ThrowawayCluster(tcp_auth="trust").create()
    standby.stop()
    owner = os.stat(standby.root)
    shutil.rmtree(standby.data_dir)
    subprocess.run(
        [str(standby.bin_dir / "pg_basebackup"), "-D", str(standby.data_dir), "-R", "-X",
         "stream", "-h", str(primary.socket_dir), "-p", str(primary.port), "-U", "postgres"],
        check=True, capture_output=True, timeout=60, user=owner.st_uid, group=owner.st_gid,
    )  # fmt: skip
    standby.start()
    return standby


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    # The cluster class passes its launch settings on the command line; replacing
    # the demo's wal_level=minimal there is the only way to get WAL out of it.
    with pytest.MonkeyPatch.context() as patch:
        for key, value in _REPLICA_SETTINGS.items():
            patch.setitem(cluster_module._SETTINGS, key, value)
        primary = ThrowawayCluster(tcp_auth="trust").create()
        try:
            with (primary.data_dir / "pg_hba.conf").open("a") as hba:
                hba.write("local replication all trust\n")
            _archive_command(primary, "true")
            standby = _make_standby(primary)
            _archive_command(primary, "false")
        except BaseException:
            primary.destroy()
            raise
    try:
        yield Pair(primary, standby)
    finally:
        standby.destroy()
        primary.destroy()


async def _wait_for(predicate_sql: str, dsn: str, *params: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            with psycopg.connect(dsn, autocommit=True) as conn:
                row = conn.execute(predicate_sql, params or None).fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(0.05)


async def test_lag_on_primary_and_standby(pair: Pair, driver: Driver) -> None:
    primary_dsn, standby_dsn = pair.primary.dsn(), pair.standby.dsn()
    await _wait_for("SELECT count(*) = 1 FROM pg_stat_replication", primary_dsn)
    with psycopg.connect(primary_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS lag AS SELECT generate_series(1, 1000) g")
    # Lag in seconds is measured from the last replayed commit: have one first.
    await _wait_for("SELECT pg_last_xact_replay_timestamp() IS NOT NULL", standby_dsn)
    with psycopg.connect(standby_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    with psycopg.connect(primary_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO lag SELECT generate_series(1, 1000)")
    await _wait_for("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()", standby_dsn)
    await asyncio.sleep(0.2)  # the paused standby falls measurably behind
    on_primary = make_probe(primary_dsn, driver, critical_tables=())
    on_standby = make_probe(standby_dsn, driver, critical_tables=())
    try:
        primary, standby = await on_primary.run(), await on_standby.run()
    finally:
        await on_primary.close()
        await on_standby.close()
        with psycopg.connect(standby_dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
    assert primary.status is Status.OK and standby.status is Status.OK, standby.error
    assert primary.metrics["in_recovery"] is False and standby.metrics["in_recovery"] is True
    assert primary.metrics["replication_lag_bytes"] > 0  # type: ignore[operator]
    assert standby.metrics["replication_lag_bytes"] > 0  # type: ignore[operator]
    assert standby.metrics["replication_lag_seconds"] >= 0.2  # type: ignore[operator]


async def test_inactive_slot_and_failing_archiver(pair: Pair, driver: Driver) -> None:
    dsn = pair.primary.dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_create_physical_replication_slot(%s, true)", [f"forgotten_{driver}"]
        )
    probe = make_probe(dsn, driver, critical_tables=())
    try:
        before = await probe.run()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS churn AS SELECT generate_series(1, 5000) g")
            conn.execute("INSERT INTO churn SELECT generate_series(1, 5000)")
            conn.execute("SELECT pg_switch_wal()")
        failed = before.metrics["archiver_failed_count"]
        await _wait_for("SELECT failed_count > %s FROM pg_stat_archiver", dsn, failed)
        after = await probe.run()
    finally:
        await probe.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_drop_replication_slot(%s)", [f"forgotten_{driver}"])
    assert after.metrics["inactive_slots"] == 1
    assert after.metrics["slot_retained_bytes"] > before.metrics["slot_retained_bytes"]  # type: ignore[operator]
    assert after.metrics["archiver_failed_count"] >= 1  # type: ignore[operator]
    assert after.metrics["archiver_failures_delta"] >= 1  # type: ignore[operator]
