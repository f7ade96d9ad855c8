"""The full event and audit log: alert lifecycle events and operator actions, newest first."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.widgets import Label

from console.screens.base import Frame, SubScreen
from console.snapshot import EventLine
from widgets.format import DASH, stamp
from widgets.key_footer import KeyFooter
from widgets.keyed_table import Column, KeyedTable, Row


def event_key(event: EventLine) -> str:
    """Events carry no id; what happened when is their identity."""
    return f"{event.at!r}|{event.kind}|{event.actor}|{event.text}"


class EventTable(KeyedTable):
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        ("at", "at", 20),
        ("kind", "kind", 14),
        ("severity", "sev", 3),
        ("actor", "by", 10),
        ("text", "event", 120),
    )

    def row(self, event: EventLine) -> Row:
        cells = (
            self.cell(stamp(event.at), "muted"),
            self.cell(event.kind),
            self.cell(event.severity or ""),
            self.cell(event.actor or DASH),
            self.cell(event.text),
        )
        return event_key(event), cells


class EventLogScreen(SubScreen):
    def compose(self) -> ComposeResult:
        yield Label("Event and audit log", classes="screen-title")
        yield EventTable()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(EventTable).focus()

    def show(self, frame: Frame) -> None:
        table = self.query_one(EventTable)
        # A dict drops exact duplicates, which would otherwise collide on the row key.
        rows = dict(table.row(e) for e in frame.events)
        table.sync(list(rows.items()))
