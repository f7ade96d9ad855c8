"""The Textual app and its factory, used by the `warroom` command and by the tests alike.

The app owns the console's state: the latest snapshot, what is running, what the
operator asked for. Workers return outcomes or post messages; the handlers here
change state; screens render it on the refresh tick, and only when it changed.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any, Protocol

from textual.app import App
from textual.binding import Binding
from textual.driver import Driver
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from console.actions.progress import Cancelled, CancelToken, Progress, ProgressCallback
from console.alerts.model import Matcher
from console.checklist import ItemState
from console.clock import Clock
from console.config.model import Config
from console.keymap import Action, keymap
from console.screens.base import Frame, LiveScreen
from console.screens.confirm import ConfirmScreen
from console.screens.demo import DemoControl
from console.screens.keys import CANCEL_KEY, binding_keymap
from console.screens.main import MainScreen
from console.snapshot import EventLine, MonitorSnapshot
from probes.result import one_line
from widgets.actions_bar import RunningAction

LONG_ACTIONS = ("backup", "drill")
FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
LOCAL_EVENTS = 200  # the console's own event lines (demo faults, failures) kept for the log
FIRST_FRAME_WAIT = 0.5  # seconds the first frame waits for the probes' first results


class Monitor(Protocol):
    """The part of console.monitor.Monitor the console drives."""

    config: Config
    clock: Clock

    def snapshot(self) -> MonitorSnapshot: ...
    def series(self, probe: str, metric: str, points: int) -> list[float]: ...
    def subscribe(self, callback: Callable[[], None]) -> None: ...
    async def start(self) -> None: ...
    async def first_results(self, timeout: float) -> None: ...
    async def stop(self) -> None: ...
    def refresh_now(self, probe: str | None = None) -> None: ...
    async def acknowledge(self, occurrence_id: str, note: str = "") -> str: ...
    async def unacknowledge(self, occurrence_id: str) -> str: ...
    async def silence(self, matcher: Matcher, duration: float, comment: str) -> str: ...
    def checklist(self) -> list[ItemState]: ...
    async def set_checklist_item(self, item_id: str, ticked: bool) -> str: ...
    async def run_backup(self, progress: ProgressCallback, cancel: CancelToken) -> str: ...
    async def run_drill(self, progress: ProgressCallback, cancel: CancelToken) -> str: ...


LongRun = Callable[[ProgressCallback, CancelToken], Awaitable[str]]


class ActionProgress(Message):
    """A progress report from a backup or drill thread; a newer one replaces an unread older one."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, ActionProgress) and message.progress.action == self.progress.action
        )


class WarroomApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "Warroom"
    HORIZONTAL_BREAKPOINTS = [
        (0, "-narrow"),
        (120, "-wide"),
        (200, "-huge"),
    ]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    cursor_blink: bool = True
    """Input cursors blink; tests turn this off so screenshots are stable."""
    freeze_heap_after_start: bool = False
    """Set by the `warroom` command, not by tests (many apps share their process): once
    the first data frame is up, what start-up made (Textual, the CSS, the widgets) is
    kept out of the garbage collector's passes. A full pass walked all of it: 64 ms at
    120x40, a stall of the UI each time the long-lived objects grew by a quarter."""

    def __init__(
        self,
        monitor: Monitor,
        *,
        read_only: bool = False,
        demo: DemoControl | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.config = monitor.config
        self.read_only = read_only
        self.demo = demo
        self.clock = clock or monitor.clock
        self.keys: dict[str, Action] = keymap(self.config.keys)
        self.paused = False
        self.demo_slow_api = False
        self._dirty = True
        self._shown_data = False
        self._first_data_queued = False
        self._snapshot: MonitorSnapshot | None = None
        self._frame: Frame | None = None
        self._actions: dict[str, RunningAction] = {}
        self._tokens: dict[str, CancelToken] = {}
        self._events: deque[EventLine] = deque(maxlen=LOCAL_EVENTS)
        self._quit_when_idle = False

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        if driver.__module__ == "textual.drivers.linux_driver":  # not on Windows, not web
            from console.terminal import TerminalDriver

            return TerminalDriver
        return driver

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(binding_keymap(self.keys))

    async def on_load(self) -> None:
        # Before the screen is composed: the probes then have the event loop to
        # themselves for their first run (~50 ms alone, ~0.6 s while Textual lays out
        # its first frame), and that frame shows data instead of empty panels redrawn
        # a moment later. A probe slower than FIRST_FRAME_WAIT does not hold it back.
        self.monitor.subscribe(self._monitor_changed)
        await self.monitor.start()
        await self.monitor.first_results(FIRST_FRAME_WAIT)

    async def on_mount(self) -> None:
        self.set_interval(self.config.console.refresh, self.render_frame, name="render")

    async def on_unmount(self) -> None:
        await self.monitor.stop()

    def key_display(self, key: str) -> str:
        return self.get_key_display(Binding(key, ""))

    # -- rendering -------------------------------------------------------------------

    def _monitor_changed(self) -> None:
        if not self._shown_data and not self._first_data_queued:
            # Until every probe's first result is on screen, do not wait for the next
            # tick: the probes answer within ~0.1 s of start, the tick would add up to
            # a whole `refresh`. Results arriving together share one render.
            self._first_data_queued = True
            self.call_later(self._render_first_data)
        self._dirty = True

    def _render_first_data(self) -> None:
        self._first_data_queued = False
        if self._shown_data:
            return
        self.render_frame()
        if self._snapshot is not None and all(p.last for p in self._snapshot.probes):
            self._shown_data = True
            self.call_after_refresh(self._after_first_data)

    def _after_first_data(self) -> None:
        """What start-up leaves until the first data frame is on screen."""
        main = self.screen_stack[0]
        if isinstance(main, MainScreen):
            main.prepare_help()
        if self.freeze_heap_after_start:
            gc.freeze()

    def _invalidate(self) -> None:
        self._frame = None

    def frame(self) -> Frame:
        """The current frame; a new snapshot only when the monitor said something changed."""
        now = self.clock.now()
        if self._dirty or self._snapshot is None:
            self._snapshot, self._dirty, self._frame = self.monitor.snapshot(), False, None
        if self._frame is None or int(self._frame.now) != int(now):
            events = sorted(
                (*self._snapshot.events, *self._events), key=lambda e: e.at, reverse=True
            )
            snapshot = self._snapshot
            if snapshot.read_only != self.read_only:
                # The header must say what this console refuses, whatever the monitor says.
                snapshot = replace(snapshot, read_only=self.read_only)
            self._frame = Frame(
                snapshot=snapshot,
                now=now,
                events=tuple(events),
                running=tuple(self._actions.values()),
                paused=self.paused,
                demo=self.demo is not None,
            )
        return self._frame

    def render_frame(self) -> None:
        """The refresh tick: nothing is rendered while paused or under a modal."""
        if not self.is_running:
            return  # shutting down: screens are being taken apart
        screen = self.screen
        # A screen just pushed is composed when it mounts; `open_screen` renders it then.
        if not self.paused and isinstance(screen, LiveScreen) and screen.is_mounted:
            screen.show(self.frame())

    def open_screen(self, screen: LiveScreen) -> None:
        self.push_screen(screen, lambda _: self.render_frame())
        self.call_after_refresh(self.render_frame)

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused and self._frame is not None:
            # The frame on screen, marked paused: only the header changes (a new frame
            # would repaint every age and countdown in the same keypress).
            self._frame = replace(self._frame, paused=True)
        else:
            self._invalidate()
        screen = self.screen
        if isinstance(screen, LiveScreen):
            screen.show(self.frame())  # once, so the header says PAUSED (or not)
        # After that paint: a toast lays out the toast rack, which would hold it back.
        message = "rendering paused" if self.paused else "rendering resumed"
        self.call_after_refresh(self.notify, message, timeout=2)

    # -- actions ---------------------------------------------------------------------

    def busy(self, group: str) -> bool:
        return group in self._actions

    def can_cancel(self) -> bool:
        return any(group in self._tokens for group in self._actions)

    def _begin(self, group: str, label: str, cancel: CancelToken | None = None) -> bool:
        if group in self._actions:
            self.notify(f"{label}: already running", severity="warning")
            return False
        self._actions[group] = RunningAction(
            group, label, cancel_key=self.key_display(CANCEL_KEY) if cancel else None
        )
        if cancel is not None:
            self._tokens[group] = cancel
        self._invalidate()
        self.render_frame()
        return True

    def start_action(self, group: str, label: str, work: Coroutine[Any, Any, str]) -> None:
        if not self._begin(group, label):
            work.close()
            return
        self.run_worker(work, name=label, group=group, exit_on_error=False)

    def start_thread_action(self, group: str, label: str, work: Callable[[], str]) -> None:
        if self._begin(group, label):
            self.run_worker(work, name=label, group=group, exit_on_error=False, thread=True)

    def start_long_action(self, group: str, label: str, run: LongRun) -> None:
        """A backup or drill: progress comes back as messages, the token cancels it."""
        token = CancelToken()
        if self._begin(group, label, token):

            def report(progress: Progress) -> None:
                self.post_message(ActionProgress(progress))  # thread-safe

            self.run_worker(run(report, token), name=label, group=group, exit_on_error=False)

    def cancel_actions(self) -> None:
        for group, token in self._tokens.items():
            token.cancel()
            self._actions[group] = replace(self._actions[group], cancelling=True)
        self._invalidate()
        self.render_frame()

    def on_action_progress(self, message: ActionProgress) -> None:
        group = message.progress.action
        if group in self._actions:
            self._actions[group] = replace(self._actions[group], progress=message.progress)
            self._invalidate()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        running = self._actions.get(worker.group)
        # Judge by the event's state: a RUNNING event can arrive after the worker finished.
        if running is None or worker.name != running.label or event.state not in FINISHED:
            return
        del self._actions[worker.group]
        self._tokens.pop(worker.group, None)
        self._report(running, event.state, worker)
        self._invalidate()
        if self._quit_when_idle and not any(g in self._actions for g in LONG_ACTIONS):
            self.exit(0)
            return
        self.render_frame()

    def _report(self, running: RunningAction, state: WorkerState, worker: Worker[Any]) -> None:
        """Outcome as a toast; the console's own event line where the monitor keeps none."""
        if state is WorkerState.SUCCESS:
            outcome = str(worker.result)
            self.notify(outcome, title=running.label)
            if running.group.startswith("demo_"):
                self.log_event("demo", outcome)
        elif state is WorkerState.CANCELLED or isinstance(worker.error, Cancelled):
            self.notify(f"{running.label} cancelled", severity="warning")
            self.log_event("cancelled", f"{running.label} cancelled by the operator")
        else:
            reason = one_line(worker.error or "unknown error")
            self.notify(reason, title=f"{running.label} failed", severity="error", timeout=10)
            self.log_event("failed", f"{running.label}: {reason}")

    def log_event(self, kind: str, text: str) -> None:
        self._events.appendleft(
            EventLine(at=self.clock.now(), kind=kind, text=text, actor=self.config.console.operator)
        )
        self._invalidate()

    # -- quitting --------------------------------------------------------------------

    async def action_quit(self) -> None:
        long = [self._actions[g].label for g in LONG_ACTIONS if g in self._actions]
        if not long:
            self.exit(0)
            return
        what = " and ".join(long)
        self.push_screen(
            ConfirmScreen(
                f"Quit while the {what} is running?",
                [f"The {what} will be cancelled cleanly before Warroom exits."],
                confirm="Cancel it and quit",
            ),
            self._quit_confirmed,
        )

    def _quit_confirmed(self, confirmed: bool | None) -> None:
        if confirmed:
            self._quit_when_idle = True
            self.cancel_actions()
            self.notify("cancelling, then quitting", timeout=5)


def create_app(
    monitor: Monitor,
    *,
    read_only: bool = False,
    demo: DemoControl | None = None,
    clock: Clock | None = None,
) -> WarroomApp:
    """The one way to build the console, for the CLI and the tests."""
    return WarroomApp(monitor, read_only=read_only, demo=demo, clock=clock)


__all__ = ["Monitor", "WarroomApp", "create_app"]
