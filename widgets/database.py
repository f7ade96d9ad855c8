"""The database panel: one per postgres probe."""

from __future__ import annotations

from collections.abc import Mapping

from textual.content import Content

from console.snapshot import ProbeView
from probes.result import MetricValue
from widgets.format import (
    DASH,
    count,
    delta,
    join,
    lines,
    number,
    ratio,
    seconds,
    size,
    styled,
)
from widgets.panel import ProbePanel


def critical_tables(metrics: Mapping[str, MetricValue]) -> list[str]:
    """Table names from `table.<name>.rows`, in the probe's order."""
    return [
        k[len("table.") : -len(".rows")]
        for k in metrics
        if k.startswith("table.") and k.endswith(".rows")
    ]


class DatabasePanel(ProbePanel):
    SPARK = "rtt"

    def __init__(self, probe: str) -> None:
        super().__init__(probe, f"Database {probe}")

    def summary(self, metrics: Mapping[str, MetricValue]) -> Content | str:
        role = " replica" if metrics.get("in_recovery") is True else ""
        return f"rtt {seconds(number(metrics, 'rtt'))}{role}"

    def body(
        self, metrics: Mapping[str, MetricValue], view: ProbeView | None, now: float
    ) -> Content:
        def n(key: str) -> float | None:
            return number(metrics, key)

        used, limit = n("connections_total"), n("max_connections")
        blocked = n("blocked_sessions")
        conns = f"conns {count(used)}/{count(limit)} ({ratio(n('connections_used_ratio'), 0)})"
        blocked_text = styled(f"blocked {count(blocked)}", "warning" if blocked else "")
        lag_bytes, lag_seconds = n("replication_lag_bytes"), n("replication_lag_seconds")
        lag = (
            DASH
            if lag_bytes is None and lag_seconds is None
            else f"{size(lag_bytes)}/{seconds(lag_seconds)}"
        )
        growth = n("database_growth_per_s")
        rows: list[Content | str] = [
            join(conns, blocked_text),
            join(
                f"longest tx {seconds(n('longest_transaction_age'))}",
                f"cache {ratio(n('cache_hit_ratio'))}",
            ),
            join(
                f"lag {lag}",
                f"size {size(n('database_size'))}",
                f"{'+' if (growth or 0) >= 0 else ''}{size(growth)}/s"
                if growth is not None
                else "",
            ),
        ]
        for table in critical_tables(metrics):
            change = n(f"table.{table}.delta")
            exact = "" if metrics.get(f"table.{table}.exact") is not False else "~"
            text = f"{table} {exact}{count(n(f'table.{table}.rows'))} {delta(change)}".rstrip()
            rows.append(styled(f"▼ {text}", "error") if change is not None and change < 0 else text)
        return lines(*rows)
