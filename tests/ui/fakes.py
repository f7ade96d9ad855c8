"""A deterministic stand-in for console.monitor.Monitor: same methods, scripted state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from console.actions.progress import Cancelled, CancelToken, Progress, ProgressCallback
from console.alerts.model import Acknowledgement, Matcher, Silence
from console.checklist import ItemState, evaluate, progress
from console.clock import FakeClock
from console.config.model import Config
from console.snapshot import EventLine, MonitorSnapshot
from console.state.records import ChecklistTick
from tests.ui import scenarios


class FakeMonitorError(Exception):
    """Plays the part of console.monitor.MonitorError: a one-line message."""


class FakeMonitor:
    def __init__(self, config: Config, clock: FakeClock, state: MonitorSnapshot) -> None:
        self.config = config
        self.clock = clock
        self.state = state
        self.calls: list[tuple[object, ...]] = []
        self.fail: dict[str, str] = {}  # method name -> the error it raises
        self.started = self.stopped = False
        # Backups and drills wait here until a test releases them (or cancels).
        self.release = asyncio.Event()
        self.hold_long_actions = False
        self.ticks: dict[str, ChecklistTick] = scenarios.ticks()
        self._subscribers: list[Callable[[], None]] = []

    # -- reading -------------------------------------------------------------------

    def snapshot(self) -> MonitorSnapshot:
        checklist = {str(phase): done for phase, done in progress(self.checklist()).items()}
        return replace(self.state, checklist=checklist)

    def checklist(self) -> list[ItemState]:
        """The real evaluation (pure logic) over the scripted results and the fake's ticks."""
        return evaluate(
            self.config.checklist,
            {p.name: p.last for p in self.state.probes},
            probe_kinds=self.config.probe_kinds(),
            rules=self.config.rules,
            telemetry_configured=bool(self.config.telemetry.sentry_dsn),
            ticks=self.ticks,
        )

    def series(self, probe: str, metric: str, points: int) -> list[float]:
        seed = len(probe) * 11 + len(metric) * 7
        scale = 0.05 if "ratio" in metric or metric == "availability" else 1.0
        return [((i * 37 + seed) % 17 + 1) * scale for i in range(points)]

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._subscribers.append(callback)

    def set_state(self, state: MonitorSnapshot) -> None:
        self.state = state
        for callback in self._subscribers:
            callback()

    async def start(self) -> None:
        self.started = True

    async def first_results(self, timeout: float) -> None:
        return None  # its state is set by the test, all at once

    async def stop(self) -> None:
        self.stopped = True

    def refresh_now(self, probe: str | None = None) -> None:
        self.calls.append(("refresh_now", probe))

    # -- operator intents ------------------------------------------------------------

    def _check(self, method: str) -> None:
        if method in self.fail:
            raise FakeMonitorError(self.fail[method])

    def _event(self, kind: str, text: str) -> tuple[EventLine, ...]:
        line = EventLine(self.clock.now(), kind, text, actor=self.config.console.operator)
        return (line, *self.state.events)

    async def acknowledge(self, occurrence_id: str, note: str = "") -> str:
        self.calls.append(("acknowledge", occurrence_id, note))
        self._check("acknowledge")
        ack = Acknowledgement(self.config.console.operator, self.clock.now(), note)
        alerts = tuple(
            replace(a, ack=ack, deadline=None) if a.id == occurrence_id else a
            for a in self.state.alerts
        )
        rule = next(a.rule for a in alerts if a.id == occurrence_id)
        self.set_state(replace(self.state, alerts=alerts, events=self._event("acknowledged", rule)))
        return f"acknowledged {rule}"

    async def unacknowledge(self, occurrence_id: str) -> str:
        self.calls.append(("unacknowledge", occurrence_id))
        self._check("unacknowledge")
        alerts = tuple(
            replace(a, ack=None) if a.id == occurrence_id else a for a in self.state.alerts
        )
        self.set_state(replace(self.state, alerts=alerts))
        return "acknowledgement removed"

    async def silence(self, matcher: Matcher, duration: float, comment: str) -> str:
        self.calls.append(("silence", matcher, duration, comment))
        self._check("silence")
        now = self.clock.now()
        silence = Silence("sil-new", matcher, now, now + duration, "alice", comment)
        alerts = tuple(
            replace(a, silenced_by=silence.id) if matcher.matches(a) else a
            for a in self.state.alerts
        )
        self.set_state(replace(self.state, alerts=alerts, silences=(*self.state.silences, silence)))
        return f"silenced {sum(matcher.matches(a) for a in alerts)} alert(s)"

    async def set_checklist_item(self, item_id: str, ticked: bool) -> str:
        self.calls.append(("set_checklist_item", item_id, ticked))
        self._check("set_checklist_item")
        item = next(i for i in self.config.checklist if i.id == item_id)
        by = self.config.console.operator
        self.ticks[item_id] = ChecklistTick(item_id, ticked, by, self.clock.now())
        self.set_state(self.state)
        return f"{'ticked' if ticked else 'unticked'} “{item.text}”"

    async def lift_silence(self, silence_id: str) -> str:
        self.calls.append(("lift_silence", silence_id))
        return "silence lifted"

    async def _long(self, kind: str, progress: ProgressCallback, cancel: CancelToken) -> str:
        self.calls.append((kind,))
        total = 48_000_000
        progress(Progress(kind, "dump", total // 4, total, 1.5))  # type: ignore[arg-type]
        while self.hold_long_actions and not self.release.is_set():
            if cancel.cancelled:
                self.calls.append((f"{kind} cancelled",))
                raise Cancelled("cancelled by the operator")
            await asyncio.sleep(0.01)
        self._check(f"run_{kind}")
        progress(Progress(kind, "done", total, total, 4.0))  # type: ignore[arg-type]
        return f"{kind} verified 48.0MB in 4.0s"

    async def run_backup(self, progress: ProgressCallback, cancel: CancelToken) -> str:
        return await self._long("backup", progress, cancel)

    async def run_drill(self, progress: ProgressCallback, cancel: CancelToken) -> str:
        return await self._long("drill", progress, cancel)
