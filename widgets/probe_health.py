"""Probe health: tells "the system is down" from "the probe is broken or slow"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult

from console.snapshot import ProbeView
from probes.result import Status
from widgets.format import DASH, Tone, age, seconds
from widgets.keyed_table import Column, KeyedTable, Row
from widgets.panel import Panel


def health_of(view: ProbeView) -> tuple[str, Tone]:
    """What is wrong, if anything: the target, or the probe itself."""
    last = view.last
    if last is None:
        return "… waiting", "muted"
    if view.overdue:
        return "◌ overdue", "warning"
    if last.status is Status.DOWN:
        return "✗ target down", "error"
    if last.status is Status.UNKNOWN or last.error:
        return "! probe error", "warning"
    return "✓ reporting", "success"


class ProbeHealthTable(KeyedTable):
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        ("probe", "probe", 10),
        ("health", "health", 13),
        ("ok", "last ok", 7),
        ("took", "took", 6),
        ("every", "every", 5),
        ("error", "last error", 40),
    )

    def show(self, views: Sequence[ProbeView], now: float) -> None:
        self.sync([self._row(v, now) for v in views])

    def _row(self, view: ProbeView, now: float) -> Row:
        health, tone = health_of(view)
        took = view.last.duration if view.last is not None else None
        error = DASH
        if view.last_error:
            error = f"{age(now, view.last_error_at)} ago: {view.last_error}"
        cells = (
            self.cell(view.name),
            self.cell(health + (" ▶" if view.running else ""), tone),
            self.cell(age(now, view.last_ok_at)),
            self.cell(seconds(took)),
            self.cell(seconds(view.interval)),
            self.cell(error, "muted" if view.last_error else ""),
        )
        return view.name, cells


class ProbeHealthPanel(Panel):
    def __init__(self) -> None:
        super().__init__("Probe health", id="health")

    def compose(self) -> ComposeResult:
        yield ProbeHealthTable()
