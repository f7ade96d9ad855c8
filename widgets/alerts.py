"""The alerts table: open occurrences, P0 first then oldest, keyed by occurrence id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from textual.app import ComposeResult

from console.alerts.model import AlertState, Occurrence
from console.config.durations import format_duration
from console.config.model import RuleConfig
from probes.result import MetricValue
from probes.units import unit_of
from widgets.format import DASH, Tone, age, metric_text, ratio
from widgets.keyed_table import Column, KeyedTable, Row
from widgets.panel import Panel

_SEVERITY_TONE: dict[str, Tone] = {"P0": "error", "P1": "warning", "P2": ""}
OWNER = (5, 12)  # narrowest and widest owner column
TAIL = ("owner", "summary")  # the columns sized by the screen's width


def state_of(alert: Occurrence) -> tuple[str, Tone]:
    """The operator's view of an occurrence: symbol and word, never colour alone."""
    if alert.degraded:
        return "▽ degraded", "warning"
    if alert.silenced_by:
        return "◌ silenced", "muted"
    if alert.ack is not None:
        return "✓ acked", "success"
    if alert.state is AlertState.FIRING:
        return "● firing", "error"
    return "○ pending", "warning"


def value_text(value: MetricValue, metric: str | None = None) -> str:
    """An alert's value in its rule's metric unit, short enough for a 6-column cell.

    `metric` is the rule's first metric (`RuleConfig.when.metric()`): `2.7s` for an
    LCP, `30.0%` for a drop ratio, `down` for `not up`.
    """
    if value is None:
        return DASH
    if isinstance(value, bool):
        if metric == "up":
            return "up" if value else "down"
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    unit = unit_of(metric) if metric is not None else "number"
    if unit == "ratio":
        return ratio(value, 1)  # 100.0% still fits the cell
    if metric is not None and unit != "number":
        return metric_text(metric, value)
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.1f}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:.0f}" if magnitude >= 100 else f"{value:.3g}"


def rule_metrics(rules: Sequence[RuleConfig]) -> dict[str, str | None]:
    """Each rule's metric (the first its condition reads), for showing values in its unit."""
    return {rule.name: rule.when.metric() for rule in rules}


def deadline_text(alert: Occurrence, now: float) -> tuple[str, Tone]:
    """Time left to acknowledge; past deadlines are marked, not just coloured."""
    if alert.deadline is None or alert.ack is not None:
        return DASH, ""
    left = alert.deadline - now
    if left < 0:
        return f"!+{format_duration(-left)}", "error"
    return format_duration(left), "warning" if left < 60 else ""


def matches(alert: Occurrence, needle: str) -> bool:
    if not needle:
        return True
    haystack = " ".join(
        (alert.rule, alert.probe, alert.severity, state_of(alert)[0], alert.summary)
    ).lower()
    return needle.lower() in haystack


class AlertsTable(KeyedTable):
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        ("severity", "sev", 3),
        ("rule", "rule", 17),
        ("probe", "probe", 8),
        ("state", "state", 10),
        ("value", "value", 6),
        ("since", "since", 5),
        ("due", "ack by", 7),
    )

    EXTRA = TAIL

    def __init__(self, metrics: Mapping[str, str | None], *, id: str | None = None) -> None:
        """`metrics`: each rule's metric, which names the unit its values are shown in."""
        super().__init__(id=id)
        self.metrics = metrics
        self.alerts: dict[str, Occurrence] = {}

    @property
    def selected(self) -> Occurrence | None:
        key = self.selected_key
        return None if key is None else self.alerts.get(key)

    def add_extra_columns(self) -> None:
        self.fit_columns(0)

    def fit_columns(self, width: int) -> None:
        """Owner and summary share what the fixed columns leave of `width` (the screen's).

        At 80 columns the owner gets 5 and there is no summary; a war-room screen gets
        whole names and summaries. Only a resize changes them, never live data.
        """
        pad = 2 * self.cell_padding
        room = self.room(width - 2)  # the panel's borders
        owner = max(OWNER[0], min(OWNER[1], room - pad))
        summary = room - owner - 2 * pad
        tail = [("owner", "owner", owner), ("summary", "summary", summary)]
        self.set_tail(tail if summary >= 20 else tail[:1])

    def show(self, alerts: Sequence[Occurrence], now: float, needle: str = "") -> None:
        visible = sorted(
            (a for a in alerts if matches(a, needle)),
            key=lambda a: (a.severity, a.started_at, a.id),
        )
        self.alerts = {a.id: a for a in visible}
        self.sync([self._row(a, now) for a in visible])

    def _row(self, alert: Occurrence, now: float) -> Row:
        state, state_tone = state_of(alert)
        due, due_tone = deadline_text(alert, now)
        cells = (
            self.cell(alert.severity, _SEVERITY_TONE.get(alert.severity, "")),
            self.cell(alert.rule),
            self.cell(alert.probe),
            self.cell(state, state_tone),
            self.cell(value_text(alert.value, self.metrics.get(alert.rule))),
            self.cell(age(now, alert.fired_at or alert.started_at)),
            self.cell(due, due_tone),
            self.cell(alert.ack.by if alert.ack is not None else DASH),
            self.cell(alert.summary),
        )
        return alert.id, cells


class AlertsPanel(Panel):
    def __init__(self, metrics: Mapping[str, str | None]) -> None:
        super().__init__("Alerts", id="alerts-panel")
        self.metrics = metrics

    def compose(self) -> ComposeResult:
        yield AlertsTable(self.metrics, id="alerts")
