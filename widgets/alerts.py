"""The alerts table: open occurrences, P0 first then oldest, keyed by occurrence id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.widgets.data_table import ColumnKey

from console.alerts.model import AlertState, Occurrence
from console.config.durations import format_duration
from probes.result import MetricValue
from widgets.format import DASH, Tone, age
from widgets.keyed_table import Column, KeyedTable, Row
from widgets.panel import Panel

_SEVERITY_TONE: dict[str, Tone] = {"P0": "error", "P1": "warning", "P2": ""}
SUMMARY = "summary"


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


def value_text(value: MetricValue) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.1f}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:.0f}" if magnitude >= 100 else f"{value:.3g}"


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
        ("owner", "owner", 5),
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.alerts: dict[str, Occurrence] = {}

    @property
    def selected(self) -> Occurrence | None:
        key = self.selected_key
        return None if key is None else self.alerts.get(key)

    def fit_summary(self, width: int) -> None:
        """A summary column in whatever room the fixed columns leave (none at 80 columns)."""
        fixed = sum(w + 2 * self.cell_padding for _, _, w in self.COLUMNS)
        room = width - fixed - 2 * self.cell_padding - 2  # borders and the scrollbar
        if SUMMARY in self.columns:
            if self.columns[ColumnKey(SUMMARY)].width == room:
                return
            self.remove_column(SUMMARY)
        if room >= 20:
            self.add_column(SUMMARY, width=room, key=SUMMARY, default=self.cell(""))

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
            self.cell(value_text(alert.value)),
            self.cell(age(now, alert.fired_at or alert.started_at)),
            self.cell(due, due_tone),
            self.cell(alert.ack.by if alert.ack is not None else DASH),
            self.cell(alert.summary),
        )
        return alert.id, cells


class AlertsPanel(Panel):
    def __init__(self) -> None:
        super().__init__("Alerts", id="alerts-panel")

    def compose(self) -> ComposeResult:
        yield AlertsTable(id="alerts")
