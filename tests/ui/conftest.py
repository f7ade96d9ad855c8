"""UI test wiring: the production factory, a frozen clock, no blink, no animation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import WarroomApp, create_app
from console.clock import FakeClock
from console.snapshot import MonitorSnapshot
from tests.ui import scenarios
from tests.ui.fakes import FakeMonitor

AppFactory = Callable[..., WarroomApp]


def build_app(monitor: Any, **kwargs: Any) -> WarroomApp:
    app = create_app(monitor, clock=monitor.clock, **kwargs)
    app.cursor_blink = False
    app.animation_level = "none"
    return app


@pytest.fixture
def ui_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_monitor(ui_clock: FakeClock) -> Callable[..., FakeMonitor]:
    def make(state: MonitorSnapshot | None = None, **config: Any) -> FakeMonitor:
        return FakeMonitor(scenarios.ui_config(**config), ui_clock, state or scenarios.incident())

    return make


@pytest.fixture
def monitor(make_monitor: Callable[..., FakeMonitor]) -> FakeMonitor:
    return make_monitor()


def toasts(app: WarroomApp) -> list[str]:
    """The notifications on screen, as "title: message"."""
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def settle(app: WarroomApp, pilot: Pilot[Any]) -> None:
    """Let workers finish and the next frame render, without sleeping on the wall clock."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    app.render_frame()
    await pilot.pause()


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Process messages until `condition` holds: a state to wait for, never a wall-clock sleep.

    Bounded, so a condition that never comes fails the test instead of hanging it.
    """
    for _ in range(500):
        if condition():
            return
        await pilot.pause()
    raise AssertionError(f"never happened: {what}")
