"""The go-live checklist: the plan's phases (24 h, week, month), each item, and what proved it.

Items a probe can prove tick themselves while the proof holds; the rest an operator
ticks here (space or t). A tick is durable and audited by the Monitor, so it runs
in a worker and its outcome is a toast, like every other operator intent.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Label

from console.checklist import ItemState
from console.config.model import PHASES
from console.screens.base import Frame, SubScreen
from widgets.format import Tone, join, lines, styled
from widgets.key_footer import KeyFooter
from widgets.keyed_table import Column, KeyedTable, Row
from widgets.panel import Line

BAR = 10
PHASE = "phase:"  # row keys of the phase headings; item rows are keyed by item id
ITEM_WIDTH = (24, 56)


def bar(done: int, total: int) -> str:
    filled = round(BAR * done / total) if total else 0
    return "█" * filled + "░" * (BAR - filled)


def hh_mm(at: float | None) -> str:
    """UTC like the rest of the console: a war room spans time zones (and tests $TZ)."""
    return "?" if at is None else time.strftime("%H:%MZ", time.gmtime(at))


def how(state: ItemState) -> tuple[str, Tone]:
    """What proved an item, who ticked it, or what it still waits for, in words."""
    if state.proof == "proven":
        return f"proof: {state.line(hh_mm)}", "success"
    if state.tick is not None:
        return state.line(hh_mm), ""
    if state.proof == "manual":
        return "manual: tick it when it is done", "muted"
    return f"{'not yet' if state.proof == 'unproven' else 'unknown'}: {state.evidence}", "warning"


class ChecklistTable(KeyedTable):
    COLUMNS: ClassVar[tuple[Column, ...]] = (("mark", "", 1),)
    EXTRA = ("item", "how")

    def fit(self, width: int) -> None:
        room = self.room(width) - 4 * self.cell_padding
        item = max(ITEM_WIDTH[0], min(ITEM_WIDTH[1], room // 2))
        self.set_tail([("item", "item", item), ("how", "proved by / ticked by", room - item)])

    def show(self, states: Sequence[ItemState]) -> None:
        rows: list[Row] = []
        for phase in PHASES:
            mine = [s for s in states if s.item.phase == phase]
            if not mine:
                continue
            done = sum(s.done for s in mine)
            complete = done == len(mine)
            heading = f"{phase:<6}{done}/{len(mine)}  {bar(done, len(mine))}"
            tone: Tone = "success" if complete else "warning"
            rows.append(
                (
                    PHASE + phase,
                    (
                        self.cell("✓" if complete else "…", tone),
                        self.cell(heading, tone),
                        self.cell("complete" if complete else "open", tone),
                    ),
                )
            )
            for state in mine:
                text, tone = how(state)
                mark = self.cell("✓", "success") if state.done else self.cell("○")
                rows.append(
                    (state.item.id, (mark, self.cell(state.item.text), self.cell(text, tone)))
                )
        self.sync(rows)


class ChecklistScreen(SubScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,t", "tick", "Tick/untick", id="checklist-tick"),
        # Read-only: the same keys say why instead of doing nothing (the main screen's way).
        Binding("space,t", "refuse_tick", "Tick/untick", show=False, id="checklist-refused"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._states: dict[str, ItemState] = {}

    def compose(self) -> ComposeResult:
        yield Label("Go-live checklist", classes="screen-title")
        yield Label("No checklist items are configured.", id="checklist-empty")
        yield ChecklistTable()
        # The highlighted item in full: at 80 columns both table columns are cut short.
        yield Line(id="checklist-selected")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(ChecklistTable).focus()

    def on_resize(self, event: events.Resize) -> None:
        self.query_one(ChecklistTable).fit(event.size.width)
        self.show(self.warroom.frame())  # the resized columns start empty

    def show(self, frame: Frame) -> None:
        states = self.warroom.monitor.checklist()
        self._states = {s.item.id: s for s in states}
        self.query_one("#checklist-empty", Label).display = not states
        self.query_one(ChecklistTable).show(states)
        self._show_selected()

    def on_data_table_row_highlighted(self) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        key = self.query_one(ChecklistTable).selected_key
        state = self._states.get(key) if key is not None else None
        line = self.query_one("#checklist-selected", Line)
        if state is None:
            line.show(
                styled("space or t ticks a manual item; proven items tick themselves", "muted")
            )
            return
        text, tone = how(state)
        mark = styled("✓ done", "success") if state.done else Content("○ open")
        line.show(lines(join(mark, styled(state.item.text, "", bold=True)), styled(text, tone)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tick":
            return not self.warroom.read_only
        if action == "refuse_tick":
            return self.warroom.read_only
        return True

    def action_refuse_tick(self) -> None:
        self.notify("ticking the checklist is disabled in read-only mode", severity="warning")

    def action_tick(self) -> None:
        key = self.query_one(ChecklistTable).selected_key
        state = self._states.get(key) if key is not None else None
        if state is None:
            self.notify("select an item to tick or untick", severity="warning", timeout=3)
            return
        text = state.item.text
        if state.proof == "proven":
            self.notify(
                f"“{text}” is proven ({state.evidence}): it unticks itself when the proof "
                "stops holding, not by hand",
                title="proven by a probe",
                severity="warning",
            )
            return
        ticked = not state.done
        label = f"{'tick' if ticked else 'untick'} “{text}”"
        work = self.warroom.monitor.set_checklist_item(state.item.id, ticked)
        self.warroom.start_action("checklist", label, work)
