"""Vitals and funnel probes against a real PostgreSQL with generated events.

Privacy is proven, not promised: the probes run as a role that may read only the
(name, occurred_at, value) columns of `events`, and a role with even less shows
the grant is really enforced.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from console.config.model import Duration, FunnelConfig, VitalsConfig
from console.config.secret import Secret
from console.demo.cluster import ThrowawayCluster
from probes.funnel import FunnelProbe
from probes.http_wire import WireClient
from probes.result import Status
from probes.vitals import VitalsProbe
from tests.fixtures.http_servers import HandlerServer, Reply, SilentServer

pytestmark = pytest.mark.postgres

COLUMNS_ROLE = "golive_columns"  # SELECT (name, occurred_at, value) ON events
NAMES_ROLE = "golive_names"  # SELECT (name, occurred_at) ON events: enough for the funnel only
STEPS = ("landing", "cta", "started", "completed")


@pytest.fixture(scope="module")
def roles(pg_cluster: ThrowawayCluster) -> None:
    pg_cluster.start()
    for role in (COLUMNS_ROLE, NAMES_ROLE):
        if role not in pg_cluster.passwords:
            pg_cluster.create_role(role, "golive-secret")


@pytest.fixture
def events_db(pg_scratch_db: Callable[[], str], roles: None) -> Iterator[str]:
    """A scratch database with an empty `events` table and the column grants; superuser DSN."""
    dsn = pg_scratch_db()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE events")
        for role, columns in (
            (COLUMNS_ROLE, "name, occurred_at, value"),
            (NAMES_ROLE, "name, occurred_at"),
        ):
            conn.execute(
                sql.SQL("GRANT SELECT ({}) ON events TO {}").format(
                    sql.SQL(columns), sql.Identifier(role)
                )
            )
    yield dsn


def as_role(cluster: ThrowawayCluster, dsn: str, role: str) -> str:
    return cluster.dsn(urlsplit(dsn).path.lstrip("/"), role)


Row = tuple[str, float | None, str]


def insert(dsn: str, rows: list[Row]) -> None:
    """(name, value, age as an SQL interval) rows, each with a session hash and properties."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO events (occurred_at, name, value, session_hash, properties)"
            " VALUES (now() - %s::interval, %s, %s, md5(random()::text), '{\"secret\": 1}')",
            [(age, name, value) for name, value, age in rows],
        )


def vitals_config(dsn: str, **overrides: object) -> VitalsConfig:
    values: dict[str, object] = {"name": "web", "dsn": Secret(dsn), "timeout": 5.0} | overrides
    return VitalsConfig(**values)  # type: ignore[arg-type]


def funnel_config(dsn: str, **overrides: object) -> FunnelConfig:
    values: dict[str, object] = {
        "name": "journey",
        "dsn": Secret(dsn),
        "steps": STEPS,
        "timeout": 5.0,
        "min_events": 5,
    } | overrides
    return FunnelConfig(**values)  # type: ignore[arg-type]


def p75(values: list[float]) -> float:
    # percentile_cont interpolates linearly between the closest ranks, as "inclusive" does.
    return statistics.quantiles(values, n=4, method="inclusive")[2]


async def test_vitals_p75_per_vital_in_contract_units(
    pg_cluster: ThrowawayCluster, events_db: str
) -> None:
    lcp = [1000.0 + 100 * i for i in range(30)]  # ms
    cls = [0.01 * i for i in range(25)]
    rows: list[Row] = [("performance_lcp", v, "10 minutes") for v in lcp]
    rows += [("performance_cls", v, "20 minutes") for v in cls]
    rows += [("performance_fcp", 900.0, "5 minutes")] * 3
    # Outside the 1h window, or not a vital: must not count.
    rows += [("performance_lcp", 99999.0, "3 hours"), ("cta_clicked", None, "1 minute")]
    insert(events_db, rows)
    probe = VitalsProbe(vitals_config(as_role(pg_cluster, events_db, COLUMNS_ROLE)))
    try:
        result = await probe.run()
    finally:
        await probe.close()
    assert result.status is Status.OK, result.error
    m = result.metrics
    assert m["lcp_p75"] == pytest.approx(p75(lcp) / 1000)
    assert m["cls_p75"] == pytest.approx(p75(cls))
    assert m["fcp_p75"] == pytest.approx(0.9)
    assert (m["lcp_samples"], m["cls_samples"], m["fcp_samples"], m["inp_samples"]) == (
        30,
        25,
        3,
        0,
    )
    assert "inp_p75" not in m and "fid_p75" not in m  # no data is unknown, not zero
    assert m["samples"] == 58
    assert (m["lcp_threshold"], m["fcp_threshold"], m["fid_threshold"]) == (2.5, 1.8, 0.1)
    assert (m["inp_threshold"], m["cls_threshold"]) == (0.2, 0.1)
    ratings = {row["vital"]: row["rating"] for row in result.detail["vitals"]}
    assert ratings == {
        "lcp": "poor",  # p75 3.175s > 2.5s
        "cls": "poor",
        "fcp": "few samples",
        "fid": "no data",
        "inp": "no data",
    }


async def test_funnel_counts_conversions_and_drop_against_previous_window(
    pg_cluster: ThrowawayCluster, events_db: str
) -> None:
    before = {"landing": 100, "cta": 60, "started": 40, "completed": 30}
    now = {"landing": 100, "cta": 60, "started": 10, "completed": 8}
    rows: list[Row] = [(name, None, "90 minutes") for name, n in before.items() for _ in range(n)]
    rows += [(name, None, "30 minutes") for name, n in now.items() for _ in range(n)]
    rows += [("landing", None, "3 hours")] * 50  # older than both windows
    rows += [("performance_lcp", 2000.0, "5 minutes")] * 7  # not a step
    insert(events_db, rows)
    probe = FunnelProbe(funnel_config(as_role(pg_cluster, events_db, NAMES_ROLE)))
    try:
        result = await probe.run()
    finally:
        await probe.close()
    assert result.status is Status.OK, result.error
    m = result.metrics
    assert m["events_in_window"] == 178 and m["events_previous_window"] == 230
    assert [m[f"step{n}_count"] for n in range(1, 5)] == [100, 60, 10, 8]
    assert [m[f"step{n}_previous"] for n in range(1, 5)] == [100, 60, 40, 30]
    assert "step1_conversion" not in m
    assert m["step2_conversion"] == pytest.approx(0.6)
    assert m["step3_conversion"] == pytest.approx(10 / 60)
    assert m["step3_conversion_previous"] == pytest.approx(40 / 60)
    assert m["step4_conversion"] == pytest.approx(0.8)
    assert m["max_conversion_drop"] == pytest.approx(1 - (10 / 60) / (40 / 60))
    assert m["drop_threshold"] == 0.5 and m["overall_conversion"] == pytest.approx(0.08)
    names = [row["name"] for row in result.detail["steps"]]
    assert names == list(STEPS)


async def test_funnel_on_silence_reports_zero_events_and_no_drop(events_db: str) -> None:
    probe = FunnelProbe(funnel_config(events_db))
    try:
        result = await probe.run()
    finally:
        await probe.close()
    assert result.status is Status.OK
    assert result.metrics["events_in_window"] == 0
    assert "max_conversion_drop" not in result.metrics  # too quiet to judge, not "no drop"
    assert "overall_conversion" not in result.metrics


async def test_column_grants_are_enforced_and_vitals_needs_only_its_three(
    pg_cluster: ThrowawayCluster, events_db: str
) -> None:
    """The role without `value` cannot run the vitals query: the grant is real."""
    insert(events_db, [("performance_lcp", 1200.0, "1 minute")])
    names_only = as_role(pg_cluster, events_db, NAMES_ROLE)
    for role in (COLUMNS_ROLE, NAMES_ROLE):
        for column in ("session_hash", "properties", "id"):
            with (
                psycopg.connect(as_role(pg_cluster, events_db, role)) as conn,
                pytest.raises(psycopg.errors.InsufficientPrivilege),
            ):
                conn.execute(sql.SQL("SELECT {} FROM events").format(sql.Identifier(column)))
    probe = VitalsProbe(vitals_config(names_only))
    try:
        result = await probe.run()
    finally:
        await probe.close()
    assert result.status is Status.UNKNOWN
    assert result.error is not None and "permission denied" in result.error


def test_sql_text_names_only_aggregate_columns() -> None:
    """Every identifier the queries quote is the table or one of the three columns."""
    for probe in (
        VitalsProbe(vitals_config("postgresql://x@127.0.0.1:1/db")),
        FunnelProbe(funnel_config("postgresql://x@127.0.0.1:1/db")),
    ):
        text = probe._query.as_string(None)
        assert set(re.findall(r'"([^"]+)"', text)) <= {"events", "name", "value", "occurred_at"}
        lowered = text.lower()
        assert "session_hash" not in lowered and "properties" not in lowered
        assert not re.search(r"select\s+\*", lowered)


async def test_locked_table_gives_a_one_line_error_within_the_timeout(events_db: str) -> None:
    with psycopg.connect(events_db) as locker:
        locker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        probe = FunnelProbe(funnel_config(events_db, timeout=1.0))
        try:
            result = await probe.run()
        finally:
            await probe.close()
    assert result.status is Status.DOWN
    assert result.error is not None and "\n" not in result.error
    assert "timeout" in result.error
    assert result.duration < 1.5


async def test_unreachable_and_hung_databases_are_down_without_leaking_the_password(
    silent_server: SilentServer,
) -> None:
    closed = "postgresql://reader:pa55word@127.0.0.1:1/app?connect_timeout=5"
    hung = f"postgresql://reader:pa55word@127.0.0.1:{silent_server.port}/app?connect_timeout=30"
    for dsn in (closed, hung):
        probe = VitalsProbe(vitals_config(dsn, timeout=0.5))
        try:
            result = await probe.run()
        finally:
            await probe.close()
        assert result.status is Status.DOWN
        assert result.error and "\n" not in result.error and "pa55word" not in result.error
        assert result.metrics == {}
        assert result.duration < 2.0


async def test_wrong_password_is_one_line_and_masked(events_db: str) -> None:
    parts = urlsplit(events_db)
    bad = events_db.replace(f":{parts.password}@", ":not-the-pa55word@")
    probe = FunnelProbe(funnel_config(bad))
    try:
        result = await probe.run()
    finally:
        await probe.close()
    assert result.status is Status.DOWN
    assert result.error and "not-the-pa55word" not in result.error


async def test_vitals_from_a_json_endpoint(http_server: HandlerServer) -> None:
    body = '{"lcp": {"p75": 2710.5, "samples": 240}, "cls": {"p75": 0.31, "samples": 50},'
    body += ' "inp": {"p75": null, "samples": 0}, "other": 1}'
    http_server.routes["/vitals"] = Reply(200, body)
    client = WireClient(verify=True, per_origin=2)
    probe = VitalsProbe(
        VitalsConfig(name="web", url=f"{http_server.url}/vitals", timeout=Duration(2.0)), client
    )
    try:
        result = await probe.run()
        http_server.routes["/vitals"] = Reply(200, '{"lcp": {"p75": "fast"}}')
        malformed = await probe.run()
        http_server.routes["/vitals"] = Reply(503, "down")
        unavailable = await probe.run()
    finally:
        await client.aclose()
    assert result.status is Status.OK
    assert result.metrics["lcp_p75"] == pytest.approx(2.7105)
    assert result.metrics["cls_p75"] == pytest.approx(0.31)
    assert "inp_p75" not in result.metrics and result.metrics["samples"] == 290
    assert malformed.status is Status.UNKNOWN and "malformed" in (malformed.error or "")
    assert unavailable.status is Status.DOWN and "503" in (unavailable.error or "")


def test_probes_do_not_import_textual() -> None:
    code = (
        "import sys, probes.vitals, probes.funnel, probes.support, console.checklist;"
        "sys.exit('textual' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
