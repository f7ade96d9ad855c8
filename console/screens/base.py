"""What every live screen renders from: one immutable frame per refresh tick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Input

from console.snapshot import EventLine, MonitorSnapshot
from widgets.actions_bar import RunningAction

if TYPE_CHECKING:
    from console.app import WarroomApp


@dataclass(frozen=True, slots=True)
class Frame:
    snapshot: MonitorSnapshot
    now: float  # the injected clock's wall time
    events: tuple[EventLine, ...]  # the monitor's and the console's own, newest first
    running: tuple[RunningAction, ...]
    paused: bool
    demo: bool


class LiveScreen(Screen[None]):
    """A screen the app's refresh tick renders; modals on top of it are not live screens."""

    @property
    def warroom(self) -> WarroomApp:
        return cast("WarroomApp", self.app)

    def show(self, frame: Frame) -> None:
        """Render `frame`; called only while this screen is on top and the console is not paused."""

    def _screen_resized(self, size: Size) -> None:
        # Textual lays the whole screen out again for every Resize it gets, also one
        # that repeats the size it is laid out at: at start-up it sends three (the
        # driver's, the terminal's in-band report re-posted on idle, the screen's own
        # first region), each a full layout of the dashboard (~40 ms). Changes of
        # content lay out through refresh(layout=True); a size change still does here.
        if size != self.outer_size:
            super()._screen_resized(size)


class SubScreen(LiveScreen):
    """Details, logs, checklist: Escape or q goes back to the main view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="back"),
    ]


def configure_inputs(screen: Screen[Any]) -> None:
    """Apply the app's cursor-blink setting (tests turn it off for stable screenshots)."""
    from console.app import WarroomApp

    blink = not isinstance(screen.app, WarroomApp) or screen.app.cursor_blink
    for field in screen.query(Input):
        field.cursor_blink = blink
