"""The event log panel: the latest alert events and audited operator actions."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from textual.app import ComposeResult
from textual.content import Content

from console.snapshot import EventLine
from widgets.format import Tone, clock_text, join, lines, styled
from widgets.panel import Line, Panel

_KIND_TONE: dict[str, Tone] = {
    "fired": "error",
    "escalated": "error",
    "failed": "error",
    "pending": "warning",
    "resolved": "success",
    "acknowledged": "success",
    "silenced": "muted",
}


def event_line(event: EventLine) -> Content:
    tone = _KIND_TONE.get(event.kind, "")
    who = f"({event.actor})" if event.actor else ""
    return join(
        styled(clock_text(event.at), "muted"),
        styled(event.kind, tone, bold=bool(tone)),
        event.severity or "",
        event.text,
        who,
        sep=" ",
    )


class EventsPanel(Panel):
    """Shows as many of the newest events as it has lines for (newest first)."""

    DEFAULT_CSS = """
    EventsPanel > Line { height: auto; }
    """

    def __init__(self, *, limit: int = 50) -> None:
        super().__init__("Events", id="events")
        self.limit = limit
        self._shown: Sequence[EventLine] | None = None

    def compose(self) -> ComposeResult:
        yield Line(classes="events")

    @cached_property
    def line(self) -> Line:
        return self.query_one(Line)

    def show(self, events: Sequence[EventLine]) -> None:
        if events == self._shown:
            return  # the frame is new each second, its events rarely are
        self._shown = events
        rows = [event_line(e) for e in events[: self.limit]]
        self.line.show(lines(*rows) if rows else styled("no events yet", "muted"))
