"""Server snapshots (the JSON of probes.pg_queries) turned into the contract's metrics.

Pure apart from the memory that deltas and peaks need, so every rule can be
tested from a hand-written snapshot as well as from a live server.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from probes.pg_rates import CounterDeltas, Deltas, PeakWindow, drop_ratio
from probes.pg_redact import redact
from probes.result import MetricValue

# Only a session with pg_read_all_stats sees other sessions' state, query and
# waits; without it these would read as zeros, so they are reported unavailable.
_ACTIVITY = {
    "connections_active": "active",
    "connections_idle": "idle",
    "connections_idle_in_transaction": "idle_in_transaction",
    "blocked_sessions": "blocked",
    "long_queries": "long",
    "longest_query_age": "longest_query",
    "longest_transaction_age": "longest_transaction",
}
ACTIVITY_METRICS = tuple(_ACTIVITY)
REPLICATION_METRICS = ("replication_lag_bytes", "replication_lag_seconds")
PEAK_WINDOW = 3600.0  # seconds: the data-loss rule compares with the hour's peak
_RATES = {
    "commits_per_s": "commits",
    "rollbacks_per_s": "rollbacks",
    "deadlocks_per_s": "deadlocks",
    "temp_bytes_per_s": "temp_bytes",
}


@dataclass
class CoreSample:
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TableSample:
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    detail: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class _Series:
    """One table's counts by one method; exact counts and estimates never mix."""

    exact: bool
    rows: float
    peak: PeakWindow


def _replication(snapshot: Mapping[str, Any], read_all_stats: bool, sample: CoreSample) -> None:
    # Absent (None) without replication, never 0: "no lag" would resolve a lag
    # alert that nothing measured. A standby that caught up and went quiet has
    # NULL replay_lag on the primary; with no bytes outstanding that is 0 s.
    rep = snapshot["replication"]
    lag_bytes, lag_seconds = rep["lag_bytes"], rep["lag_seconds"]
    if not snapshot["in_recovery"]:
        if not rep["standbys"]:
            lag_bytes = lag_seconds = None
        elif not read_all_stats:
            sample.unavailable.extend(REPLICATION_METRICS)
            return
        elif lag_seconds is None and lag_bytes == 0:
            lag_seconds = 0.0
    sample.metrics["replication_lag_bytes"] = lag_bytes
    sample.metrics["replication_lag_seconds"] = lag_seconds


def _query_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "pid": row["pid"],
        "state": row["state"],
        "query_age": row["query_age"],
        "transaction_age": row["xact_age"],
        "wait_event": row["wait_event"] or None,
        "blocked_by": row["blocked_by"] or [],
        "query": redact(row["query"] or ""),
    }


class Sampler:
    """Keeps the previous counters and the per-table peaks between runs."""

    def __init__(self, peak_window: float = PEAK_WINDOW) -> None:
        self._peak_window = peak_window
        self._database = CounterDeltas()
        self._checksums = CounterDeltas()
        self._archiver = CounterDeltas()
        self._size: tuple[float, float] | None = None
        self._tables: dict[str, _Series] = {}
        self._epoch: Hashable = None
        self._table_epoch: Hashable = None

    def core(self, at: float, snapshot: Mapping[str, Any], read_all_stats: bool) -> CoreSample:
        """Metrics from one core snapshot taken at monotonic time `at`."""
        sample = CoreSample()
        metrics = sample.metrics
        activity = snapshot["activity"]
        max_connections = snapshot["max_connections"]
        metrics["in_recovery"] = snapshot["in_recovery"]
        metrics["uptime"] = snapshot["uptime"]
        metrics["connections_total"] = activity["total"]
        metrics["max_connections"] = max_connections
        metrics["connections_used_ratio"] = activity["total"] / max_connections
        if read_all_stats:
            metrics.update({name: activity[key] for name, key in _ACTIVITY.items()})
        else:
            sample.unavailable.extend(ACTIVITY_METRICS)
        sample.queries = [_query_row(row) for row in snapshot["queries"]]

        start = snapshot["postmaster_start"]
        database = snapshot["database"]
        self._epoch = (start, database["stats_reset"])
        counters = {key: database[key] for key in (*_RATES.values(), "blks_hit", "blks_read")}
        self._database_rates(self._database.update(at, self._epoch, counters), metrics)

        metrics["database_size"] = size = snapshot["database_size"]
        if self._size is not None and at > self._size[0]:
            metrics["database_growth_per_s"] = (size - self._size[1]) / (at - self._size[0])
        else:
            metrics["database_growth_per_s"] = None
        self._size = (at, size)
        metrics["xid_age"] = snapshot["xid_age"]
        _replication(snapshot, read_all_stats, sample)

        failures = snapshot["checksum_failures"]
        if failures is not None:  # the column exists from PostgreSQL 12
            epoch = (start, tuple(snapshot["stats_resets"] or ()))
            deltas = self._checksums.update(at, epoch, {"failures": failures})
            metrics["checksum_failures"] = failures
            metrics["checksum_failures_delta"] = deltas.delta("failures") if deltas else None
        slots = snapshot["slots"]
        metrics["inactive_slots"] = slots["inactive"]
        metrics["slot_retained_bytes"] = slots["retained"]
        archiver = snapshot["archiver"]
        metrics["archiver_failed_count"] = failed = archiver["failed_count"]
        deltas = self._archiver.update(at, (start, archiver["stats_reset"]), {"failed": failed})
        metrics["archiver_failures_delta"] = deltas.delta("failed") if deltas else None
        return sample

    @staticmethod
    def _database_rates(deltas: Deltas | None, metrics: dict[str, MetricValue]) -> None:
        for name, key in _RATES.items():
            metrics[name] = deltas.rate(key) if deltas else None
        hits = deltas.delta("blks_hit") if deltas else None
        reads = deltas.delta("blks_read") if deltas else None
        # No block touched since the last sample: a ratio of nothing is unknown, not 1.
        if hits is None or reads is None or hits + reads <= 0:
            metrics["cache_hit_ratio"] = None
        else:
            metrics["cache_hit_ratio"] = hits / (hits + reads)

    def tables(self, at: float, rows: Sequence[Mapping[str, Any]]) -> TableSample:
        """Metrics from the critical-tables statement taken at monotonic time `at`."""
        sample = TableSample()
        worst = 0.0
        # Estimates may come from stats counters, which a reset zeroes: start afresh.
        reset = self._table_epoch != self._epoch
        self._table_epoch = self._epoch
        for row in rows:
            name = row["name"]
            if not row["found"]:
                sample.errors.append(f"critical table {name!r} not found")
                sample.detail.append({"name": name, "error": "not found"})
                continue
            exact = row["exact"] is not None
            count = row["exact"] if exact else row["estimate"]
            series = self._tables.get(name)
            if series is None or series.exact != exact or (reset and not exact):
                delta = None
                series = _Series(exact, count, PeakWindow(self._peak_window))
                self._tables[name] = series
            else:
                delta = count - series.rows
                series.rows = count
            peak = series.peak.add(at, count)
            ratio = drop_ratio(peak, count)
            worst = max(worst, ratio)
            sample.metrics[f"table.{name}.rows"] = count
            sample.metrics[f"table.{name}.delta"] = delta
            sample.metrics[f"table.{name}.exact"] = exact
            sample.detail.append(
                {"name": name, "rows": count, "exact": exact, "delta": delta, "peak": peak}
            )
        sample.metrics["critical_rows_drop_ratio"] = worst
        return sample
