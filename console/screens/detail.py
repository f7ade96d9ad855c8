"""Details for one probe (and the alert it was opened from): history, metrics, errors, queries."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Label, Sparkline

from console.alerts.model import Occurrence
from console.screens.base import Frame, SubScreen
from console.snapshot import EventLine, ProbeView
from widgets.alerts import deadline_text, rule_metrics, state_of, value_text
from widgets.events import event_line
from widgets.format import DASH, age, fit, join, lines, metric_text, seconds, stamp, styled
from widgets.funnel import FunnelPanel
from widgets.key_footer import KeyFooter
from widgets.keyed_table import Column, KeyedTable
from widgets.panel import Line, ProbePanel, headline
from widgets.probe_health import health_of
from widgets.support import SupportPanel
from widgets.vitals import VitalsPanel

CHARTS: dict[str, tuple[str, ...]] = {
    "postgres": ("rtt", "connections_used_ratio", "cache_hit_ratio"),
    "http": ("latency", "latency_p95", "availability"),
    "sentry": ("events_per_minute", "spike_ratio"),
    "backups": ("newest_age",),
    "vitals": ("lcp_p75", "inp_p75", "cls_p75"),
    "funnel": ("overall_conversion", "events_in_window"),
    "support": ("waiting_tickets", "oldest_waiting_age"),
}
# The go-live panels are not on the main screen below 120 columns: their details show them.
PANELS: dict[str, Callable[[str], ProbePanel]] = {
    "vitals": VitalsPanel,
    "funnel": FunnelPanel,
    "support": SupportPanel,
}


class MetricsTable(KeyedTable):
    COLUMNS: ClassVar[tuple[Column, ...]] = (("metric", "metric", 32), ("value", "value", 14))


def alert_text(alert: Occurrence | None, now: float, metric: str | None = None) -> Content:
    if alert is None:
        return styled("the alert has resolved", "success")
    state, tone = state_of(alert)
    due, _ = deadline_text(alert, now)
    rows: list[Content | str] = [
        join(styled(f"{alert.severity} {alert.rule}", "", bold=True), styled(state, tone)),
        alert.summary,
        f"value {value_text(alert.value, metric)}  threshold {value_text(alert.threshold, metric)}",
        f"since {stamp(alert.started_at)} ({age(now, alert.started_at)})  ack due {due}",
    ]
    if alert.ack is not None:
        note = f": {alert.ack.note}" if alert.ack.note else ""
        rows.append(f"acknowledged by {alert.ack.by} {age(now, alert.ack.at)} ago{note}")
    if alert.silenced_by:
        rows.append(f"silenced by {alert.silenced_by}")
    return lines(*rows)


def health_text(view: ProbeView | None, now: float) -> Content:
    if view is None:
        return styled("no such probe", "muted")
    word, tone = health_of(view)
    took = DASH if view.last is None else seconds(view.last.duration)
    error = f"{view.last_error} ({age(now, view.last_error_at)} ago)" if view.last_error else DASH
    return lines(
        headline(view, now),
        join(styled(word, tone), f"last ok {age(now, view.last_ok_at)} ago", f"took {took}"),
        join(f"every {seconds(view.interval)}", f"last error: {error}"),
    )


def queries_text(detail: Mapping[str, Any]) -> Content:
    """Long-running and blocking queries as the probe reported them (already redacted)."""
    queries: Sequence[Any] = detail.get("queries") or ()
    if not queries:
        return styled("no long-running or blocking queries", "muted")
    rows: list[Content | str] = []
    for query in queries:
        if isinstance(query, Mapping):
            meta = "  ".join(f"{k} {v}" for k, v in query.items() if k != "query")
            rows += [styled(meta, "muted"), f"  {query.get('query', DASH)}"]
        else:
            rows.append(str(query))
    return lines(*rows)


class DetailScreen(SubScreen):
    def __init__(self, probe: str, kind: str, *, alert_id: str | None = None) -> None:
        super().__init__()
        self.probe = probe
        self.kind = kind
        self.alert_id = alert_id

    def compose(self) -> ComposeResult:
        yield Label(f"{self.kind} {self.probe}", classes="screen-title")
        with VerticalScroll(classes="detail"):
            if self.alert_id is not None:
                yield Line(id="alert", classes="section")
            if self.kind in PANELS:
                yield PANELS[self.kind](self.probe)
            yield Line(id="health", classes="section")
            for metric in CHARTS.get(self.kind, ()):
                yield Line(classes=f"chart-label chart-{metric}")
                yield Sparkline([], classes=f"chart chart-{metric}")
            yield Label("Metrics", classes="section-title")
            yield MetricsTable()
            yield Label("Recent errors", classes="section-title")
            yield Line(id="errors", classes="section")
            if self.kind == "postgres":
                yield Label("Queries", classes="section-title")
                yield Line(id="queries", classes="section")
        yield KeyFooter()

    def show(self, frame: Frame) -> None:
        now, view = frame.now, frame.snapshot.probe(self.probe)
        if self.alert_id is not None:
            alert = next((a for a in frame.snapshot.alerts if a.id == self.alert_id), None)
            metric = rule_metrics(self.warroom.config.rules).get(alert.rule) if alert else None
            self.query_one("#alert", Line).show(alert_text(alert, now, metric))
        self.query_one("#health", Line).show(health_text(view, now))
        for panel in self.query(ProbePanel):
            panel.show(view, now, self.warroom.monitor.series)
        self._charts()
        last = view.last if view is not None else None
        metrics = last.metrics if last is not None else {}
        table = self.query_one(MetricsTable)
        table.sync(
            [
                (name, (table.cell(name), table.cell(metric_text(name, value))))
                for name, value in metrics.items()
            ]
        )
        self.query_one("#errors", Line).show(self._errors(view, frame.events))
        if self.kind == "postgres":
            self.query_one("#queries", Line).show(queries_text(last.detail if last else {}))

    def on_resize(self) -> None:
        self._charts()  # sparklines take exactly their width in points

    def _charts(self) -> None:
        series = self.warroom.monitor.series
        for metric in CHARTS.get(self.kind, ()):
            spark = self.query_one(f"Sparkline.chart-{metric}", Sparkline)
            width = spark.content_size.width
            points = fit(series(self.probe, metric, width), width) if width else []
            spark.data = points
            summary = DASH
            if points:
                low, high, now = (
                    metric_text(metric, v) for v in (min(points), max(points), points[-1])
                )
                summary = f"now {now}  min {low}  max {high}"
            label = self.query_one(f"Line.chart-{metric}", Line)
            label.show(join(styled(f"{metric}, last hour", "", bold=True), summary))

    def _errors(self, view: ProbeView | None, events: Sequence[EventLine]) -> Content:
        mine = [e for e in events if self.probe in e.text][:10]
        rows: list[Content | str] = [event_line(e) for e in mine]
        if view is not None and view.last_error and not mine:
            rows.append(styled(view.last_error, "error"))
        return lines(*rows) if rows else styled("none", "muted")
