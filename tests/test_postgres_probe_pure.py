"""The PostgreSQL probe's pure parts: redaction, counter deltas, peaks, snapshots to metrics."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from probes.pg_metrics import REPLICATION_METRICS, Sampler
from probes.pg_queries import core_query
from probes.pg_rates import CounterDeltas, PeakWindow, drop_ratio
from probes.pg_redact import redact
from probes.postgres import Backoff


def test_probe_modules_do_not_import_textual() -> None:
    modules = "probes.postgres, probes.pg_driver, probes.pg_metrics, probes.pg_redact"
    code = f"import sys, {modules}; assert 'textual' not in sys.modules, 'textual imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM t1 WHERE a = 'x'", "SELECT * FROM t1 WHERE a = ?"),
        ("SELECT 'it''s', 'a' 'b'", "SELECT ?, ? ?"),
        (r"SELECT E'it\'s \\ done', e'\''", "SELECT ?, ?"),
        ("SELECT B'1010', X'ff', N'nat', U&'d\\0061t'", "SELECT ?, ?, ?, ?"),
        ("SELECT $$a 'b' $c$$, $tag$x $$ y$tag$, $1", "SELECT ?, ?, $1"),
        ("SELECT 42, -3.5, .5, 1e10, 2.5E-3, 0x1F, 1_000", "SELECT ?, -?, ?, ?, ?, ?, ?"),
        ("SELECT t1.c2, a$1, _x9 FROM s3.t4", "SELECT t1.c2, a$1, _x9 FROM s3.t4"),
        ('SELECT "odd ""1"" \'name\'" FROM x', 'SELECT "odd ""1"" \'name\'" FROM x'),
        ("SELECT 1 -- it's a 'comment'\nFROM t", "SELECT ? FROM t"),
        ("SELECT /* outer /* 'inner' */ still */ 7", "SELECT ?"),
        ("/*app='shop',user='ann'*/ SELECT 1", "SELECT ?"),
        (
            "UPDATE u SET email = 'ann@example.com'\n\t WHERE id=17",
            "UPDATE u SET email = ? WHERE id=?",
        ),
        # Cut short by track_activity_query_size: never show the rest of a literal.
        ("INSERT INTO u VALUES ('ann@exam", "INSERT INTO u VALUES (?"),
        ("SELECT $x$ secret body never closed", "SELECT ?"),
        ("SELECT E'trailing backslash \\", "SELECT ?"),
        ("SELECT 'naïve', ünï FROM t", "SELECT ?, ünï FROM t"),
    ],
)
def test_redact(sql: str, expected: str) -> None:
    assert redact(sql) == expected


def test_redact_caps_length() -> None:
    text = redact("SELECT " + ", ".join(f"col{i}" for i in range(300)), limit=50)
    assert len(text) == 50 and text.endswith("…")


def test_counter_deltas_skip_resets_and_decreases() -> None:
    deltas = CounterDeltas()
    assert deltas.update(0.0, "epoch-1", {"commits": 100, "reads": 10}) is None
    step = deltas.update(10.0, "epoch-1", {"commits": 150, "reads": 5})
    assert step is not None
    assert step.rate("commits") == 5.0
    assert step.delta("reads") is None  # went down without an epoch change: skipped alone
    assert deltas.update(20.0, "epoch-2", {"commits": 3, "reads": 1}) is None  # reset
    after = deltas.update(30.0, "epoch-2", {"commits": 13, "reads": None})
    assert after is not None and after.rate("commits") == 1.0 and after.rate("reads") is None


def test_peak_window_forgets_after_the_window_in_bounded_memory() -> None:
    window = PeakWindow(window=100.0)
    assert window.add(0.0, 10) == 10
    assert window.add(50.0, 8) == 10
    assert window.add(101.0, 9) == 9  # 10 aged out; 8 < 9 can never be the peak again
    for step in range(1000):
        window.add(200.0 + step, 1000 + step)  # a rising series keeps one entry
    assert len(window) == 1
    assert drop_ratio(200, 150) == 0.25 and drop_ratio(100, 120) == 0 and drop_ratio(0, 0) == 0


def test_backoff_doubles_to_its_cap_and_resets() -> None:
    backoff = Backoff(first=1.0, cap=4.0)
    assert backoff.ready(0.0)
    delays = []
    now = 0.0
    for _ in range(4):
        backoff.failed(now)
        start = now
        while not backoff.ready(now):
            now += 0.5
        delays.append(now - start)
    assert delays == [1.0, 2.0, 4.0, 4.0]
    backoff.failed(now)
    backoff.succeeded()
    assert backoff.ready(now)


def test_core_query_is_gated_by_version() -> None:
    assert "checksum_failures" in core_query(150000)
    assert "checksum_failures)" not in core_query(110000)


def snapshot(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "in_recovery": False,
        "postmaster_start": 1000.0,
        "uptime": 60.0,
        "max_connections": 100,
        "activity": {
            "total": 25, "active": 3, "idle": 20, "idle_in_transaction": 2, "blocked": 0,
            "long": 0, "longest_query": 0.5, "longest_transaction": 1.5,
        },
        "queries": [],
        "database": {
            "commits": 1000, "rollbacks": 10, "deadlocks": 0, "temp_bytes": 0,
            "blks_hit": 900, "blks_read": 100, "stats_reset": None,
        },
        "stats_resets": [None],
        "checksum_failures": 0,
        "database_size": 10_000,
        "xid_age": 1234,
        "archiver": {"failed_count": 0, "stats_reset": 1.0},
        "slots": {"inactive": 0, "retained": 0},
        "replication": {"standbys": 0, "lag_bytes": None, "lag_seconds": None},
    }  # fmt: skip
    base.update(overrides)
    return base


def test_rates_and_ratios_from_two_snapshots() -> None:
    sampler = Sampler()
    first = sampler.core(0.0, snapshot(), read_all_stats=True).metrics
    assert first["cache_hit_ratio"] is None and first["database_growth_per_s"] is None
    database = {**snapshot()["database"], "commits": 1100, "blks_hit": 1290, "blks_read": 110}
    later = snapshot(database=database, database_size=12_000)
    second = sampler.core(10.0, later, read_all_stats=True).metrics
    assert second["commits_per_s"] == 10.0 and second["rollbacks_per_s"] == 0
    assert second["cache_hit_ratio"] == pytest.approx(390 / 400)
    assert second["database_growth_per_s"] == 200.0
    assert second["connections_used_ratio"] == 0.25
    idle = sampler.core(20.0, later, read_all_stats=True).metrics
    assert idle["cache_hit_ratio"] is None  # no block read or hit since: unknown, not 1


@pytest.mark.parametrize(
    ("replication", "in_recovery", "privileged", "expected"),
    [
        ({"standbys": 0, "lag_bytes": None, "lag_seconds": None}, False, True, (None, None)),
        ({"standbys": 2, "lag_bytes": 0, "lag_seconds": None}, False, True, (0, 0.0)),
        ({"standbys": 1, "lag_bytes": 8192, "lag_seconds": None}, False, True, (8192, None)),
        ({"standbys": 1, "lag_bytes": 8192, "lag_seconds": 2.5}, False, True, (8192, 2.5)),
        ({"standbys": None, "lag_bytes": 0, "lag_seconds": 0}, True, False, (0, 0)),
        ({"standbys": 1, "lag_bytes": None, "lag_seconds": None}, False, False, "unavailable"),
    ],
)
def test_replication_lag_is_absent_without_replication(
    replication: dict[str, Any], in_recovery: bool, privileged: bool, expected: Any
) -> None:
    sample = Sampler().core(
        0.0, snapshot(replication=replication, in_recovery=in_recovery), privileged
    )
    if expected == "unavailable":
        assert set(REPLICATION_METRICS) <= set(sample.unavailable)
        assert not set(REPLICATION_METRICS) & set(sample.metrics)
    else:
        metrics = sample.metrics
        assert (metrics["replication_lag_bytes"], metrics["replication_lag_seconds"]) == expected


def test_checksums_absent_before_postgresql_12() -> None:
    metrics = Sampler().core(0.0, snapshot(checksum_failures=None), True).metrics
    assert "checksum_failures" not in metrics and "checksum_failures_delta" not in metrics


def table_rows(count: int, exact: bool = True) -> list[dict[str, Any]]:
    row = {"name": "users", "found": True, "estimate": count, "exact": count if exact else None}
    return [row]


def test_row_drop_ratio_against_the_hours_peak() -> None:
    sampler = Sampler()
    assert sampler.tables(0.0, table_rows(1000)).metrics["critical_rows_drop_ratio"] == 0
    assert sampler.tables(600.0, table_rows(900)).metrics["critical_rows_drop_ratio"] == 0.1
    # An hour after the peak, the drop has aged out: the alert can clear.
    later = sampler.tables(3601.0, table_rows(900)).metrics
    assert later["critical_rows_drop_ratio"] == 0 and later["table.users.delta"] == 0


def test_switching_between_count_and_estimate_starts_a_new_series() -> None:
    sampler = Sampler()
    sampler.tables(0.0, table_rows(1000, exact=True))
    switched = sampler.tables(10.0, table_rows(950, exact=False)).metrics
    assert switched["table.users.delta"] is None and switched["critical_rows_drop_ratio"] == 0
    assert switched["table.users.exact"] is False


def test_stats_reset_restarts_estimated_series_only() -> None:
    sampler = Sampler()
    orders = {"name": "orders", "found": True, "estimate": 50, "exact": 50}
    sampler.core(0.0, snapshot(), True)
    sampler.tables(0.0, [*table_rows(1000, exact=False), orders])
    reset = {**snapshot()["database"], "stats_reset": 5.0}
    sampler.core(10.0, snapshot(database=reset), True)
    metrics = sampler.tables(10.0, [*table_rows(0, exact=False), {**orders, "exact": 40}]).metrics
    assert metrics["table.users.delta"] is None  # the live-tuple counter was zeroed
    assert metrics["table.orders.delta"] == -10
    assert metrics["critical_rows_drop_ratio"] == 0.2  # exact counts keep their peak
