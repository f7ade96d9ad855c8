"""The go-live checklist: each phase of the plan (24 h, week, month) and how much of it is done."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.widgets import Footer, Label

from console.screens.base import Frame, SubScreen
from widgets.keyed_table import Column, KeyedTable

BAR = 20


def bar(done: int, total: int) -> str:
    filled = round(BAR * done / total) if total else 0
    return "█" * filled + "░" * (BAR - filled)


class ChecklistTable(KeyedTable):
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        ("phase", "phase", 12),
        ("done", "done", 7),
        ("bar", "progress", BAR),
        ("state", "state", 12),
    )


class ChecklistScreen(SubScreen):
    def compose(self) -> ComposeResult:
        yield Label("Go-live checklist", classes="screen-title")
        yield Label("", id="checklist-empty")
        yield ChecklistTable()
        yield Footer()

    def show(self, frame: Frame) -> None:
        table = self.query_one(ChecklistTable)
        checklist = frame.snapshot.checklist
        self.query_one("#checklist-empty", Label).update(
            "" if checklist else "No checklist items are tracked yet."
        )
        rows = []
        for phase, (done, total) in checklist.items():
            complete = total > 0 and done >= total
            state = (
                table.cell("✓ complete", "success") if complete else table.cell("… open", "warning")
            )
            cells = (
                table.cell(phase),
                table.cell(f"{done}/{total}"),
                table.cell(bar(done, total)),
                state,
            )
            rows.append((phase, cells))
        table.sync(rows)
