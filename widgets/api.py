"""The API panel: one keyed table row per http probe."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import ClassVar

from textual.app import ComposeResult

from console.snapshot import ProbeView
from probes.result import Status
from widgets.format import DASH, Series, Tone, number, ratio, seconds, spark_text
from widgets.keyed_table import Column, KeyedTable, Row
from widgets.panel import Panel

TREND_POINTS = 12


class ApiTable(KeyedTable):
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        ("probe", "endpoint", 10),
        ("status", "status", 9),
        ("p50", "p50", 6),
        ("p95", "p95", 7),
        ("p99", "p99", 6),
        ("avail", "avail", 6),
        ("trend", "latency", TREND_POINTS),
        ("tls", "tls", 4),
    )
    # What an operator needs at a glance, in a 40-column panel: up, slow, available.
    COMPACT: ClassVar[tuple[Column, ...]] = (
        ("probe", "endpoint", 9),
        ("status", "status", 7),
        ("p95", "p95", 6),
        ("avail", "avail", 6),
    )

    def fit(self, width: int) -> None:
        """Every column when `width` holds them, else the compact four."""
        full = sum(w + 2 * self.cell_padding for _, _, w in self.COLUMNS)
        self.set_columns(self.COLUMNS if width >= full else self.COMPACT)


class ApiPanel(Panel):
    """`slow_after` marks rows whose p95 exceeds it (the plan's 5 s alert line)."""

    def __init__(self, *, slow_after: float = 5.0) -> None:
        super().__init__("API", id="api")
        self.slow_after = slow_after
        self._shown: tuple[Sequence[ProbeView], float, Series, str] | None = None

    def on_resize(self) -> None:
        table = self.table
        columns = len(table.columns)
        table.fit(self.content_size.width)
        if len(table.columns) != columns and self._shown is not None:
            self.show(*self._shown)  # a new set of columns starts without rows

    def compose(self) -> ComposeResult:
        yield ApiTable()

    @cached_property
    def table(self) -> ApiTable:
        return self.query_one(ApiTable)

    def show(
        self, views: Sequence[ProbeView], now: float, series: Series, needle: str = ""
    ) -> None:
        self._shown = (views, now, series, needle)
        table = self.table
        rows = [self._row(table, v, series) for v in views if needle.lower() in v.name.lower()]
        table.sync(rows)
        self.set_subtitle(f"filter: {needle}" if needle else "")

    def _status(self, view: ProbeView, p95: float | None) -> tuple[str, Tone]:
        last = view.last
        if last is None or view.overdue:
            return "◌ stale", "warning"
        if last.error:
            return "✗ down", "error"
        code = number(last.metrics, "status_code")
        code_text = DASH if code is None else str(int(code))
        if view.status is Status.DOWN or last.metrics.get("status_ok") is False:
            return f"✗ {code_text}", "error"
        if (p95 is not None and p95 > self.slow_after) or view.status is not Status.OK:
            return f"▲ {code_text}", "warning"
        return f"✓ {code_text}", "success"

    def _row(self, table: ApiTable, view: ProbeView, series: Series) -> Row:
        last = view.last
        metrics = last.metrics if last is not None else {}
        p95 = number(metrics, "latency_p95")
        status, tone = self._status(view, p95)
        availability = number(metrics, "availability")
        target = number(metrics, "availability_target")
        low = availability is not None and target is not None and availability < target
        tls = number(metrics, "tls_days_left")
        tls_tone: Tone = "warning" if tls is not None and tls < 14 else ""
        slow: Tone = "warning" if p95 is not None and p95 > self.slow_after else ""
        cells = (
            table.cell(view.name),
            table.cell(status, tone),
            table.cell(seconds(number(metrics, "latency_p50"))),
            table.cell(seconds(p95), slow),
            table.cell(seconds(number(metrics, "latency_p99"))),
            table.cell(ratio(availability), "error" if low else ""),
            table.cell(spark_text(series(view.name, "latency", TREND_POINTS), TREND_POINTS)),
            table.cell(DASH if tls is None else f"{int(tls)}d", tls_tone),
        )
        return view.name, cells
