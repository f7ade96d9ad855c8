"""The PostgreSQL probe through a real PgBouncer in transaction pooling mode, both drivers.

A private pgbouncer (unprivileged when we are root, as it refuses root) sits
on a free loopback port in front of the session's throwaway cluster, with
scram auth and a pool of two server connections per role and database, so
every client here shares those two. pgbouncer hands out the most recently
released server connection first (LIFO): a client that opens a transaction
right after someone else's statement takes *that* server, which lets the
tests steer a statement onto the other one deterministically.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import psycopg
import pytest
from psycopg import sql

from console.config.model import FunnelConfig, SupportConfig, VitalsConfig
from console.config.secret import Secret
from console.demo.cluster import ThrowawayCluster, free_port
from console.demo.lifeline import parent_death_signal
from console.demo.pgbin import service_user
from console.demo.schema import APP_DB
from probes.funnel import FunnelProbe
from probes.pg_driver import Driver
from probes.result import Status
from probes.sources import SourceError, SqlSource
from probes.support import SupportProbe
from probes.vitals import VitalsProbe
from tests.test_postgres_probe import CONTRACT, driver, make_probe

pytestmark = pytest.mark.postgres
__all__ = ["driver"]  # the parametrized fixture, shared with the metric tests

POOL_SIZE = 2
_READY_TIMEOUT = 10.0
TABLE_METRICS = {
    f"table.{t}.{m}" for t in ("users", "soul_memories") for m in ("rows", "delta", "exact")
}
# The settings a client gets on a server connection nobody changed.
DEFAULTS = "0 0 off"
SETTINGS = (
    "SELECT concat_ws(' ', current_setting('statement_timeout'),"
    " current_setting('lock_timeout'), current_setting('transaction_read_only'))"
)


def find_pgbouncer() -> str | None:
    found = shutil.which("pgbouncer")
    if found is None and os.access("/usr/sbin/pgbouncer", os.X_OK):
        found = "/usr/sbin/pgbouncer"
    return found


@dataclass(frozen=True)
class Bouncer:
    port: int
    passwords: dict[str, str]
    log_path: Path

    def dsn(self, user: str = "postgres", dbname: str = APP_DB) -> str:
        auth = f"{quote(user, safe='')}:{quote(self.passwords[user], safe='')}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


def _config(root: Path, cluster: ThrowawayCluster, port: int) -> str:
    return f"""\
[databases]
{APP_DB} = host={cluster.host} port={cluster.port} dbname={APP_DB}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {root / "userlist.txt"}
admin_users = postgres
pool_mode = transaction
default_pool_size = {POOL_SIZE}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 20
server_round_robin = 0
logfile = {root / "pgbouncer.log"}
pidfile = {root / "pgbouncer.pid"}
"""


def _wait_listening(proc: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def pgbouncer(pg_cluster: ThrowawayCluster) -> Iterator[Bouncer]:
    binary = find_pgbouncer()
    if binary is None:
        pytest.skip(
            "no pgbouncer binary in PATH or /usr/sbin/pgbouncer (apt-get install pgbouncer)"
        )
    pg_cluster.start()
    run_as = service_user()  # pgbouncer refuses to run as root, like postgres
    root = Path(tempfile.mkdtemp(prefix="warroom-pgbouncer-"))
    run_as.chown(root)
    # Plain-text passwords let pgbouncer do scram with the client and the server.
    users = "".join(f'"{user}" "{password}"\n' for user, password in pg_cluster.passwords.items())
    (root / "userlist.txt").write_text(users)
    run_as.chown(root / "userlist.txt")
    proc: subprocess.Popen[bytes] | None = None
    try:
        for _attempt in range(3):  # the free port may be taken before pgbouncer binds it
            port = free_port()
            ini = root / "pgbouncer.ini"
            ini.write_text(_config(root, pg_cluster, port))
            run_as.chown(ini)
            proc = subprocess.Popen(
                [binary, str(ini)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=root,
                user=run_as.uid,
                group=run_as.gid,
                extra_groups=[] if run_as.switches else None,
                preexec_fn=parent_death_signal(signal.SIGTERM),
            )
            bouncer = Bouncer(port, dict(pg_cluster.passwords), root / "pgbouncer.log")
            if _wait_listening(proc, port):
                break
            proc.kill()
            proc.wait()
            proc = None
            if "Address already in use" not in bouncer.log_tail():
                pytest.fail(f"pgbouncer did not start: {bouncer.log_tail()}")
        else:
            pytest.fail(f"pgbouncer: no free port after 3 attempts: {bouncer.log_tail()}")
        yield bouncer
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)  # immediate shutdown
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def bouncer(pgbouncer: Bouncer, pg_cluster: ThrowawayCluster) -> Bouncer:
    """The module's pgbouncer with fresh server connections: no test sees another's SETs."""
    pg_cluster.start()  # a test before us may have stopped it
    with psycopg.connect(pgbouncer.dsn(dbname="pgbouncer"), autocommit=True) as admin:
        admin.execute("RECONNECT")
    return pgbouncer


@pytest.fixture
async def clients(bouncer: Bouncer) -> AsyncIterator[list[psycopg.AsyncConnection[Any]]]:
    """Other applications' connections through pgbouncer (not autocommit), same role."""
    opened = [await psycopg.AsyncConnection.connect(bouncer.dsn()) for _ in range(2)]
    yield opened
    for conn in opened:
        await conn.close()


async def one(conn: psycopg.AsyncConnection[Any], query: str) -> Any:
    cursor = await conn.execute(query)
    row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def server_connections(bouncer: Bouncer) -> int:
    """Server connections pgbouncer holds for app/postgres (from its admin console)."""
    conn = await psycopg.AsyncConnection.connect(bouncer.dsn(dbname="pgbouncer"), autocommit=True)
    try:
        cursor = await conn.execute("SHOW POOLS")
        assert cursor.description is not None
        names = [column.name for column in cursor.description]
        for row in await cursor.fetchall():
            pool = dict(zip(names, row, strict=True))
            if pool["database"] == APP_DB and pool["user"] == "postgres":
                return sum(int(v) for k, v in pool.items() if k.startswith("sv_"))
    finally:
        await conn.close()
    return 0


def assert_healthy(result: Any, direct: Any) -> None:
    assert result.status is Status.OK, result.error
    assert set(result.metrics) == set(direct.metrics) == CONTRACT | TABLE_METRICS
    assert result.unavailable == direct.unavailable == ()
    m = result.metrics
    assert m["up"] is True and 0 < m["rtt"] < 1
    assert m["server_version_num"] == direct.metrics["server_version_num"]
    assert m["max_connections"] == 40 and m["in_recovery"] is False
    assert m["connections_total"] >= 1 and m["database_size"] > 1_000_000
    assert m["table.users.rows"] == 300 and m["table.users.exact"] is True


async def test_probe_through_pgbouncer_reports_what_it_reports_direct(
    pg_dsn: str, bouncer: Bouncer, driver: Driver, clients: list[psycopg.AsyncConnection[Any]]
) -> None:
    direct = make_probe(pg_dsn, driver)
    # Three probes and two other clients on two server connections.
    probes = [make_probe(bouncer.dsn(), driver) for _ in range(3)]
    try:
        await direct.run()
        reference = await direct.run()
        results: list[Any] = []
        for round_ in range(4):
            for conn in clients:  # other applications' statements in between
                assert await one(conn, "SELECT count(*) FROM users") == 300
                await conn.commit()
            results.extend(await asyncio.gather(*(p.run() for p in probes)))
            if round_ == 0:
                assert await server_connections(bouncer) <= POOL_SIZE
    finally:
        for probe in (direct, *probes):
            await probe.close()
    assert_healthy(reference, reference)
    for result in results[len(probes) :]:  # rates and deltas need a first sample
        assert_healthy(result, reference)
    for result in results[: len(probes)]:
        assert result.status is Status.OK, result.error


async def test_probe_limits_apply_to_its_statements_and_not_to_others(
    bouncer: Bouncer, driver: Driver, clients: list[psycopg.AsyncConnection[Any]]
) -> None:
    """Session SETs stay on whichever server connection ran them: neither lost nor leaked."""
    probe = make_probe(bouncer.dsn(), driver, critical_tables=())
    first, second = clients
    try:
        assert (await probe.run()).status is Status.OK
        session = probe._session
        assert session is not None
        seen = []
        for _ in range(3):
            # The server connection the probe just used goes to `first` (LIFO):
            # the probe's next statement runs on the other one.
            await first.execute("SELECT 1")
            seen.append(await session.fetch_value(SETTINGS))
            await first.rollback()
            seen.append(await session.fetch_value(SETTINGS))
        assert seen == ["2160ms 1s on"] * 6
        assert await session.fetch_value("SELECT current_setting('application_name')") == "warroom"
        with pytest.raises(Exception, match="read-only"):
            await session.fetch_value("CREATE TABLE probe_writes ()")
        begun = time.monotonic()
        with pytest.raises(Exception, match="statement timeout"):
            await session.fetch_value("SELECT pg_sleep(10)::text")
        assert time.monotonic() - begun < 5
        assert session.usable and (await probe.run()).status is Status.OK
        # Both server connections at once: what other clients of the pool get.
        others = [await one(first, SETTINGS), await one(second, SETTINGS)]
        await first.rollback()
        await second.rollback()
    finally:
        await probe.close()
    assert others == [DEFAULTS, DEFAULTS]


@pytest.mark.parametrize("prepared", [True, False], ids=["driver-default", "probe-settings"])
async def test_prepared_statements_break_transaction_pooling(
    bouncer: Bouncer, driver: Driver, prepared: bool, clients: list[psycopg.AsyncConnection[Any]]
) -> None:
    """Why the probe turns prepared statements off: with them, the second run fails."""
    query = "SELECT count(*) FROM users WHERE id > $1"
    holder = clients[0]
    # Six executions: psycopg prepares a statement from the fifth (prepare_threshold=5).
    runs = 6
    if driver == "asyncpg":
        cache = {} if prepared else {"statement_cache_size": 0}
        conn = await asyncpg.connect(bouncer.dsn(), **cache)
        try:
            for _ in range(runs):
                assert await conn.fetchval(query, 0) == 300
            await holder.execute("SELECT 1")  # takes the server the statement lives on
            if prepared:
                with pytest.raises(asyncpg.InvalidSQLStatementNameError, match="does not exist"):
                    await conn.fetchval(query, 0)
            else:
                assert await conn.fetchval(query, 0) == 300
        finally:
            await holder.rollback()
            conn.terminate()
    else:
        threshold = {} if prepared else {"prepare_threshold": None}
        pconn = await psycopg.AsyncConnection.connect(bouncer.dsn(), autocommit=True, **threshold)
        raw = "SELECT count(*) FROM users WHERE id > %s"
        try:
            for _ in range(runs):
                assert await one_param(pconn, raw, 0) == 300
            await holder.execute("SELECT 1")
            if prepared:
                with pytest.raises(psycopg.errors.InvalidSqlStatementName, match="does not exist"):
                    await one_param(pconn, raw, 0)
            else:
                assert await one_param(pconn, raw, 0) == 300
        finally:
            await holder.rollback()
            await pconn.close()


async def one_param(conn: psycopg.AsyncConnection[Any], query: str, value: int) -> Any:
    cursor = await conn.execute(query, (value,))
    row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def test_sql_source_limits_apply_to_its_queries_and_not_to_others(
    bouncer: Bouncer, clients: list[psycopg.AsyncConnection[Any]]
) -> None:
    """The go-live probes' SQL source (psycopg only): the same guarantees as the probe's."""
    source = SqlSource(Secret(bouncer.dsn()), timeout=1.5)  # statement and lock: 1200ms
    first, second = clients
    settings = sql.SQL(SETTINGS)
    try:
        seen = []
        for _ in range(3):
            # As in the probe's test: LIFO puts the source's next query on the other server.
            await first.execute("SELECT 1")
            seen.append((await source.fetch(settings, ()))[0][0])
            await first.rollback()
            seen.append((await source.fetch(settings, ()))[0][0])
        assert seen == ["1200ms 1200ms on"] * 6
        named = sql.SQL("SELECT count(*) FROM users WHERE id > %(id)s")
        assert await source.fetch(named, {"id": 0}) == [(300,)]
        app = sql.SQL("SELECT current_setting('application_name')")
        assert await source.fetch(app, ()) == [("warroom",)]
        with pytest.raises(SourceError, match="read-only"):
            await source.fetch(sql.SQL("CREATE TABLE source_writes ()"), ())
        begun = time.monotonic()
        # The server's limit, not the client's 1.5 s ("no answer from the database").
        with pytest.raises(SourceError, match="statement timeout"):
            await source.fetch(sql.SQL("SELECT pg_sleep(10)"), ())
        assert time.monotonic() - begun < 1.5
        assert await source.fetch(named, {"id": 290}) == [(10,)]
        # Both server connections at once: what other clients of the pool get.
        others = [await one(first, SETTINGS), await one(second, SETTINGS)]
        await first.rollback()
        await second.rollback()
    finally:
        await source.close()
    assert others == [DEFAULTS, DEFAULTS]
    assert await server_connections(bouncer) <= POOL_SIZE


async def test_go_live_probes_through_pgbouncer_report_what_they_report_direct(
    pg_dsn: str, bouncer: Bouncer, clients: list[psycopg.AsyncConnection[Any]]
) -> None:
    """Vitals, funnel and support over SQL, a few rounds through the pool, then defaults."""

    def probes(dsn: str) -> list[Any]:
        secret = Secret(dsn)
        return [
            VitalsProbe(VitalsConfig(name="web", dsn=secret, min_samples=1)),
            FunnelProbe(FunnelConfig(name="journey", dsn=secret)),
            SupportProbe(SupportConfig(name="desk", dsn=secret)),
        ]

    direct, pooled = probes(pg_dsn), probes(bouncer.dsn())
    first, second = clients
    try:
        reference = [await probe.run() for probe in direct]
        results = []
        for _ in range(3):
            await first.execute("SELECT 1")
            results.append(await asyncio.gather(*(probe.run() for probe in pooled)))
            await first.rollback()
        others = [await one(first, SETTINGS), await one(second, SETTINGS)]
        await first.rollback()
        await second.rollback()
    finally:
        for probe in (*direct, *pooled):
            await probe.close()
    for result in reference:
        assert result.status is Status.OK, result.error
    for round_ in results:
        for result, expected in zip(round_, reference, strict=True):
            assert result.status is Status.OK, result.error
            # The same metrics; values may differ as seeded rows age out of the window.
            assert set(result.metrics) == set(expected.metrics)
    assert others == [DEFAULTS, DEFAULTS]
