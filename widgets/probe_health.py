"""Probe health: tells "the system is down" from "the probe is broken or slow"."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import ClassVar

from textual.app import ComposeResult

from console.snapshot import ProbeView
from probes.result import Status
from widgets.format import DASH, Tone, age, seconds
from widgets.keyed_table import Column, KeyedTable, Row
from widgets.panel import Panel


def health_of(view: ProbeView) -> tuple[str, Tone]:
    """Whether the probe itself works, apart from what it finds.

    A warning or critical result with an error ("no backups in …") is a finding
    about the system, shown in its panel and alerts: the probe is reporting. Only
    `unknown` (the probe raised, was cancelled, or its source is malformed or
    refused it) says the probe is broken; `down` says the target is; overdue says
    the probe is slow (still running) or stopped reporting.
    """
    last = view.last
    if last is None:
        return "… waiting", "muted"
    if view.overdue:
        return ("◌ slow" if view.running else "◌ overdue"), "warning"
    if last.status is Status.DOWN:
        return "✗ target down", "error"
    if last.status is Status.UNKNOWN:
        return "! probe broken", "warning"
    return "✓ reporting", "success"


def is_finding(view: ProbeView) -> bool:
    """The last error is what the probe found (warning/critical), not a failure to look."""
    last = view.last
    return last is not None and last.status.evaluable and last.error is not None


ERROR_WIDTH = (12, 60)  # narrowest and widest "last error or finding" column


class ProbeHealthTable(KeyedTable):
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        ("probe", "probe", 10),
        ("health", "health", 13),
        ("ok", "last ok", 7),
        ("took", "took", 6),
        ("every", "every", 5),
    )
    EXTRA = ("error",)

    def fit(self, width: int) -> None:
        """The error column takes what the fixed columns leave of `width` (no sideways scroll)."""
        low, high = ERROR_WIDTH
        size = max(low, min(high, self.room(width) - 2 * self.cell_padding))
        self.set_tail([("error", "last error or finding", size)])

    def show(self, views: Sequence[ProbeView], now: float) -> None:
        self.sync([self._row(v, now) for v in views])

    def _row(self, view: ProbeView, now: float) -> Row:
        health, tone = health_of(view)
        took = view.last.duration if view.last is not None else None
        error = DASH
        if view.last_error:
            what = "finding " if is_finding(view) else ""
            error = f"{what}{age(now, view.last_error_at)} ago: {view.last_error}"
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
        self._shown: tuple[Sequence[ProbeView], float] | None = None

    def on_resize(self) -> None:
        self.table.fit(self.content_size.width)
        if self._shown is not None:
            self.table.show(*self._shown)  # the new error column starts empty

    @cached_property
    def table(self) -> ProbeHealthTable:
        return self.query_one(ProbeHealthTable)

    def show(self, views: Sequence[ProbeView], now: float) -> None:
        self._shown = (views, now)
        self.table.show(views, now)

    def compose(self) -> ComposeResult:
        yield ProbeHealthTable()
