"""What every live screen renders from: one immutable frame per refresh tick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Input

from console.compositor import ChangedLinesCompositor
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

    _resumed = False

    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._compositor = ChangedLinesCompositor()

    @property
    def warroom(self) -> WarroomApp:
        return cast("WarroomApp", self.app)

    def show(self, frame: Frame) -> None:
        """Render `frame`; called only while this screen is on top and the console is not paused."""

    def _post_register(self, app: App[Any]) -> None:
        # Textual sets the breakpoint classes on the screen's first Resize, which comes
        # after the first frame: every widget was then styled, laid out and drawn a
        # second time for them (and at 80x24 the first frame had the wide layout).
        # Set here, before the children are styled, that Resize finds nothing to change.
        super()._post_register(app)
        self.update_classes(breakpoint_classes(self, app.size), update=False)

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles a resumed screen and all its widgets, in case the theme
        # changed while it was covered. On the first resume nothing has covered it:
        # its widgets were styled when they mounted, a moment before. Textual calls
        # Screen's own handler after this one.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def _screen_resized(self, size: Size) -> None:
        # Textual lays the whole screen out again for every Resize it gets, also one
        # that repeats the size it is laid out at: at start-up it sends three (the
        # driver's, the terminal's in-band report re-posted on idle, the screen's own
        # first region), each a full layout of the dashboard (~40 ms). Changes of
        # content lay out through refresh(layout=True); a size change still does here.
        if size != self.outer_size:
            super()._screen_resized(size)


def breakpoint_classes(screen: Screen[Any], size: Size) -> dict[str, bool]:
    """The breakpoint classes Screen._on_resize gives `screen` at `size`: class -> on."""
    app = screen.app
    classes: dict[str, bool] = {}
    for dimension, own, default in (
        (size.width, screen.HORIZONTAL_BREAKPOINTS, app.HORIZONTAL_BREAKPOINTS),
        (size.height, screen.VERTICAL_BREAKPOINTS, app.VERTICAL_BREAKPOINTS),
    ):
        breakpoints = (default if own is None else own) or []
        classes.update(dict.fromkeys((name for _, name in breakpoints), False))
        classes.update(dict.fromkeys(screen._get_breakpoint_classes(dimension, breakpoints), True))
    return classes


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
