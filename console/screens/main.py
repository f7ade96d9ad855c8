"""The live main view: header, probe panels in a grid, the alerts table, progress, footer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property, partial
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.command import Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from console.keymap import ACTIONS
from console.screens.base import Frame
from console.screens.checklist import ChecklistScreen
from console.screens.demo import DEMO_KEYS, DemoFaults
from console.screens.detail import DetailScreen
from console.screens.help import HelpEntry, HelpScreen
from console.screens.keys import CANCEL_KEY, table_bindings
from console.screens.log import EventLogScreen
from console.screens.operations import Operations
from console.screens.palette import WarroomCommands
from widgets.actions_bar import ActionsBar
from widgets.alerts import AlertsPanel, AlertsTable, rule_metrics
from widgets.api import ApiPanel, ApiTable
from widgets.backups import BackupsPanel
from widgets.database import DatabasePanel
from widgets.errors import ErrorsPanel
from widgets.events import EventsPanel
from widgets.format import Series
from widgets.funnel import FunnelPanel
from widgets.header import HeaderState, StatusHeader
from widgets.key_footer import KeyFooter
from widgets.panel import ProbePanel
from widgets.probe_health import ProbeHealthPanel, ProbeHealthTable
from widgets.support import SupportPanel
from widgets.vitals import VitalsPanel


def displayed(widget: Widget) -> bool:
    """Whether `widget` and every container up to its screen take part in the layout."""
    node: DOMNode | None = widget
    while isinstance(node, Widget) and not isinstance(node, Screen):
        if not node.display:
            return False
        node = node.parent
    return True


VIEW_ACTIONS = ("details", "filter", "checklist", "log", "pause", "refresh", "zoom", "help", "quit")
SLOW_AFTER = 5.0  # the plan's API alert line, seconds
HELP_SCREEN = "help"


class MainScreen(Operations, DemoFaults):
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {WarroomCommands}
    ALLOW_IN_MAXIMIZED_VIEW: ClassVar[str | None] = "StatusHeader, ActionsBar, KeyFooter"
    BINDINGS: ClassVar[list[BindingType]] = [
        *table_bindings(VIEW_ACTIONS),
        ("escape", "close", "Close"),
    ]

    def __init__(self, keymap: Mapping[str, str]) -> None:
        """`keymap`: binding id -> the operator's keys (console/screens/keys.py)."""
        super().__init__(id="main")
        # Applied once, here, to the only screen whose bindings the operator remaps.
        # Through App.set_keymap, Textual applies it again to every binding map of the
        # focus chain on every key press (~3 ms of each key).
        self._bindings.apply_keymap(keymap)
        self.needle = ""
        self._shown: dict[Widget, Frame] = {}
        # Each live widget with what renders it; held once (on mount), not queried every tick.
        self._views: list[tuple[Widget, Callable[[Frame], None]]] = []
        self._last: Frame | None = None
        self._applies_last: tuple[bool | None, ...] = ()
        self._fitted_width: int | None = None
        self._checked_actions = (
            *ACTIONS,
            "cancel_action",
            "close",
            "refuse",
            *(action for _, action, _ in DEMO_KEYS),
        )

    def compose(self) -> ComposeResult:
        config = self.warroom.config
        yield StatusHeader(id="header")
        yield Input(
            placeholder="filter alerts and API rows: Enter keeps it, Esc clears", id="filter"
        )
        # Columns, not a grid: each column stacks its panels at their own heights, so a
        # short panel leaves no hole beside a tall one. app.tcss hides what a size
        # has no room for (those stay reachable through the palette and details).
        with VerticalScroll(id="body"):
            with Horizontal(id="top"):
                with Vertical(classes="column", id="col-core"):
                    for name in config.postgres:
                        yield DatabasePanel(name)
                    if config.http:
                        yield ApiPanel(slow_after=SLOW_AFTER)
                with Vertical(classes="column", id="col-ops"):
                    for name in config.sentry:
                        yield ErrorsPanel(name)
                    if config.backup is not None:
                        yield BackupsPanel()
                if config.vitals or config.support:
                    with Vertical(classes="column golive", id="col-golive"):
                        for name in config.vitals:
                            yield VitalsPanel(name)
                        for name in config.support:
                            yield SupportPanel(name)
            with Horizontal(id="bottom"):
                yield ProbeHealthPanel()
                for name in config.funnel:
                    yield FunnelPanel(name)
                yield EventsPanel()
        yield AlertsPanel(rule_metrics(config.rules))
        yield ActionsBar(id="actions")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.filter_field.display = False
        # Fitted to the terminal now rather than on the first Resize, after the first
        # layout: a column change lays the screen out again.
        self.alerts.fit_columns(self.app.size.width)
        self.alerts.focus()
        series = self.warroom.monitor.series
        for panel in self.query(ProbePanel):
            self._views.append((panel, partial(self._show_probe, panel, series)))
        for api in self.query(ApiPanel):
            self._views.append((api, partial(self._show_api, api, series)))
        health = self.query_one(ProbeHealthPanel)
        self._views.append((health, lambda f: health.show(f.snapshot.probes, f.now)))
        events_panel = self.query_one(EventsPanel)
        self._views.append((events_panel, lambda f: events_panel.show(f.events)))
        self._alerts_panel = self.query_one(AlertsPanel)
        self._views.append((self._alerts_panel, self._show_alerts))
        self._header = self.query_one(StatusHeader)
        self._actions_bar = self.query_one(ActionsBar)
        # Directly, not through the app's render_frame (which skips a screen until its
        # mount is over): the probes' first results are in by now (App.on_load waits for
        # them), so the first layout measures panels with their content and the first
        # paint has data, rather than empty panels laid out and painted again.
        self.show(self.warroom.frame())

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width == self._fitted_width:
            return  # Textual repeats Resize events of the same size (three at start-up)
        self._fitted_width = event.size.width
        self.alerts.fit_columns(event.size.width)
        if self._views:
            # Once the new size's breakpoint classes are applied (after this handler),
            # which show or hide panels: the new column needs its cells, a panel
            # revealed by them its content.
            self.call_after_refresh(self._rerender)

    @cached_property
    def filter_field(self) -> Input:
        return self.query_one("#filter", Input)

    # -- rendering -----------------------------------------------------------------

    def _fresh(self, widget: Widget, frame: Frame) -> bool:
        """Whether `widget` can be seen and has not shown this frame yet."""
        maximized = self.maximized
        if not displayed(widget) or (maximized is not None and maximized is not widget):
            return False
        if self._shown.get(widget) is frame:
            return False
        self._shown[widget] = frame
        return True

    def show(self, frame: Frame) -> None:
        if not self._views:
            return  # not mounted yet
        if frame is not self._last:
            self._last = frame
            snap = frame.snapshot
            self._header.show(HeaderState(snap, frame.now, frame.paused, frame.demo))
            self._actions_bar.show_running(frame.running)
            self._refresh_bindings_if_changed()
        for widget, render in self._views:
            if self._fresh(widget, frame):
                render(frame)

    def _show_probe(self, panel: ProbePanel, series: Series, frame: Frame) -> None:
        panel.show(frame.snapshot.probe(panel.probe), frame.now, series)
        if isinstance(panel, BackupsPanel):
            panel.show_actions(frame.snapshot.actions)

    def _show_api(self, api: ApiPanel, series: Series, frame: Frame) -> None:
        views = [p for p in frame.snapshot.probes if p.kind == "http"]
        api.show(views, frame.now, series, self.needle)

    def _show_alerts(self, frame: Frame) -> None:
        self.alerts.show(frame.snapshot.alerts, frame.now, self.needle)
        subtitle = f"filter: {self.needle}" if self.needle else ""
        if not frame.snapshot.alerts:
            subtitle = "✓ no open alerts"
        self._alerts_panel.set_subtitle(subtitle)

    def on_data_table_row_highlighted(self) -> None:
        self._refresh_bindings_if_changed()  # acknowledge/unacknowledge follow the selection

    def _refresh_bindings_if_changed(self) -> None:
        # refresh_bindings() re-checks every binding of the screen and its ancestors:
        # only when what applies actually changed, not on every highlight.
        applies = tuple(self.check_action(action, ()) for action in self._checked_actions)
        if applies != self._applies_last:
            self._applies_last = applies
            self.refresh_bindings()

    def _rerender(self) -> None:
        self._shown.clear()
        self.warroom.render_frame()

    def watch_maximized(self) -> None:
        self._rerender()

    # -- which actions apply -------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = self.warroom
        if action == "refuse":
            return app.read_only
        if isinstance(self.focused, Input) and action in ACTIONS:
            # Typing: no action keys. Enter in the filter keeps it and closes the input,
            # here as the key arrives, so a key typed right after lands on the table.
            return action == "details" and self.focused.id == "filter"
        if action.startswith("demo_"):
            return app.demo is not None and not app.read_only
        if action in ACTIONS and ACTIONS[action].mutating and app.read_only:
            return False
        if action == "cancel_action":
            return app.can_cancel()
        if action == "close":
            return self.filter_field.display or self.maximized is not None
        return self._applies(action)

    def _applies(self, action: str) -> bool | None:
        """True when the action can run now, None (shown dimmed) when it does not apply.

        Asked for every action each frame: each case looks up only what it needs.
        """
        app = self.warroom
        if action in ("acknowledge", "unacknowledge", "silence"):
            alert = self.selected_alert
            if alert is None:
                applies = False
            elif action == "acknowledge":
                applies = alert.ack is None and not alert.degraded
            elif action == "unacknowledge":
                applies = alert.ack is not None
            else:
                applies = True
        elif action in ("backup", "drill"):
            configured = app.config.backup if action == "backup" else app.config.drill
            applies = configured is not None and not app.busy(action)
        elif action == "details":
            applies = self._detail_target() is not None
        elif action == "zoom":
            applies = self.focused is not None or self.maximized is not None
        else:
            applies = True
        return True if applies else None

    # -- view actions ----------------------------------------------------------------

    def _detail_target(self) -> tuple[str, str | None] | None:
        """(probe, alert id) the focused widget points at."""
        focused = self.focused
        if isinstance(focused, ProbePanel):
            return focused.probe, None
        if isinstance(focused, ApiTable | ProbeHealthTable):
            key = focused.selected_key
            return None if key is None else (key, None)
        alert = self.selected_alert
        return None if alert is None else (alert.probe, alert.id)

    def action_details(self) -> None:
        if self.focused is self.filter_field:
            self._close_filter(keep=True)
            return
        target = self._detail_target()
        if target is not None:
            probe, alert_id = target
            kind = self.warroom.config.probe_kinds().get(probe, "probe")
            self.warroom.open_screen(DetailScreen(probe, kind, alert_id=alert_id))

    def action_filter(self) -> None:
        field = self.filter_field
        field.display = True
        field.cursor_blink = self.warroom.cursor_blink
        # Focus now, not after the next refresh: keys typed right after `/` go to the input.
        self.set_focus(field)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.needle = event.value.strip()
            self._rerender()

    def _close_filter(self, *, keep: bool) -> None:
        field = self.filter_field
        if not keep:
            field.value = ""
            self.needle = ""
        field.display = False
        self.set_focus(self.alerts)
        self._rerender()

    def action_close(self) -> None:
        if self.filter_field.display:
            self._close_filter(keep=False)
        elif self.maximized is not None:
            self.minimize()

    def action_checklist(self) -> None:
        self.warroom.open_screen(ChecklistScreen())

    def action_log(self) -> None:
        self.warroom.open_screen(EventLogScreen())

    def action_pause(self) -> None:
        self.warroom.toggle_pause()

    def action_refresh(self) -> None:
        target = self._detail_target() if not isinstance(self.focused, AlertsTable) else None
        probe = target[0] if target is not None else None
        self.warroom.monitor.refresh_now(probe)
        self.notify(f"refreshing {probe or 'every probe'}", timeout=2)

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused)

    def prepare_help(self) -> None:
        """Compose the help screen off the screen stack, so `?` shows it at once.

        One for the app's life (its keys and read-only are fixed at start), kept when
        closed. Composing it on the first press cost ~30 ms of that press.
        """
        app = self.app
        if not app.is_screen_installed(HELP_SCREEN):
            app.install_screen(HelpScreen(self.help_entries()), HELP_SCREEN)
            # Textual 8.2.8 (pinned) starts a screen off the stack here, as it does an
            # installed one that was closed; push_screen would do it on the press.
            app._get_screen(HELP_SCREEN)

    def action_help(self) -> None:
        self.prepare_help()
        self.app.push_screen(HELP_SCREEN)

    async def action_quit(self) -> None:
        await self.warroom.action_quit()

    def jump_to(self, probe: str) -> None:
        """Focus the panel (or API row) that shows `probe`; its details if none is on screen."""
        for panel in self.query(ProbePanel):
            if panel.probe == probe and displayed(panel):
                panel.focus()
                panel.scroll_visible(animate=False)
                return
        for table in self.query(ApiTable):
            if displayed(table) and table.select_key(probe):
                table.focus()
                table.scroll_visible(animate=False)
                return
        kind = self.warroom.config.probe_kinds().get(probe)
        if kind is None:
            self.notify(f"no probe {probe}", severity="warning")
            return
        self.warroom.open_screen(DetailScreen(probe, kind))

    def help_entries(self) -> list[HelpEntry]:
        app = self.warroom
        display = app.key_display
        entries = [
            HelpEntry(
                display(a.key),
                a.description,
                "refused: read-only" if a.mutating and app.read_only else "",
            )
            for a in app.keys.values()
        ]
        entries += [
            HelpEntry(display(CANCEL_KEY), "Cancel a running backup or drill"),
            HelpEntry("esc", "Close the filter, restore a zoomed panel, go back"),
            HelpEntry("tab", "Next panel"),
            HelpEntry(display(app.COMMAND_PALETTE_BINDING), "Command palette: actions and probes"),
        ]
        if app.demo is not None:
            entries += [HelpEntry(key, description, "demo") for key, _, description in DEMO_KEYS]
        return entries
