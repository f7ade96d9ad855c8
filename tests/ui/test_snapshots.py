"""Screenshots with deterministic data and a frozen clock: layouts, modals, help.

Update with `pytest tests/ui --snapshot-update`, then read the SVGs' text before committing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from console.clock import FakeClock
from console.screens.checklist import ChecklistScreen, ChecklistTable
from console.screens.confirm import ConfirmScreen
from console.screens.detail import DetailScreen
from console.screens.main import MainScreen
from console.snapshot import MonitorSnapshot
from tests.ui import scenarios
from tests.ui.conftest import build_app, until
from tests.ui.fakes import FakeMonitor
from widgets.alerts import AlertsTable

SIZES = [(80, 24), (120, 40), (250, 70)]
Snap = Callable[..., bool]


def app_for(state: MonitorSnapshot, **kwargs: Any) -> Any:
    monitor = FakeMonitor(scenarios.ui_config(), FakeClock(), state)
    return build_app(monitor, **kwargs)


def select(alert_id: str, *keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await pilot.pause()  # run_before starts before the main screen is mounted
        pilot.app.screen.query_one(AlertsTable).select_key(alert_id)
        await pilot.pause()
        if keys:
            await pilot.press(*keys)

    return run


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_healthy(snap_compare: Snap, size: tuple[int, int]) -> None:
    assert snap_compare(app_for(scenarios.healthy()), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_incident(snap_compare: Snap, size: tuple[int, int]) -> None:
    """Database down, P0 firing, one acknowledged, one silenced, a deadline passed."""
    assert snap_compare(app_for(scenarios.incident()), terminal_size=size)


def test_read_only_paused_backup_running(snap_compare: Snap) -> None:
    async def pause(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await pilot.press("p")
        pilot.app.clear_notifications()  # toasts expire on the wall clock: keep them out

    app = app_for(scenarios.backup_running(scenarios.healthy()), read_only=True)
    assert snap_compare(app, terminal_size=(120, 40), run_before=pause)


def test_acknowledge_modal(snap_compare: Snap) -> None:
    run = select(scenarios.DB_DOWN, "a", *"on it")
    assert snap_compare(app_for(scenarios.incident()), run_before=run)


def test_silence_modal(snap_compare: Snap) -> None:
    run = select(scenarios.SPIKE, "s")
    assert snap_compare(app_for(scenarios.incident()), run_before=run)


def test_backup_confirmation(snap_compare: Snap) -> None:
    assert snap_compare(app_for(scenarios.healthy()), press=["b"])


def test_drill_confirmation(snap_compare: Snap) -> None:
    assert snap_compare(app_for(scenarios.healthy()), press=["R", "m", "a"])


def test_help(snap_compare: Snap) -> None:
    assert snap_compare(app_for(scenarios.healthy()), terminal_size=(80, 40), press=["?"])


def test_alert_details(snap_compare: Snap) -> None:
    run = select(scenarios.DB_DOWN, "enter")
    assert snap_compare(app_for(scenarios.incident()), terminal_size=(120, 40), run_before=run)


@pytest.mark.parametrize("size", [(80, 24), (250, 70)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_checklist(snap_compare: Snap, size: tuple[int, int]) -> None:
    """Phases with done/total, each item proven, ticked by hand or waiting; one highlighted."""

    async def open_checklist(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: isinstance(pilot.app.screen, MainScreen), "the main screen")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(pilot.app.screen, ChecklistScreen), "the checklist")
        pilot.app.screen.query_one(ChecklistTable).select_key("database-backup-verified")

    assert snap_compare(
        app_for(scenarios.incident()), terminal_size=size, run_before=open_checklist
    )


def test_golive_details_at_80x24(snap_compare: Snap) -> None:
    """Below 120 columns the go-live panels are a jump away: their details show the panel."""

    async def jump(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: isinstance(pilot.app.screen, MainScreen), "the main screen")
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        screen.jump_to("web")
        await until(pilot, lambda: isinstance(pilot.app.screen, DetailScreen), "the details")

    assert snap_compare(app_for(scenarios.incident()), terminal_size=(80, 24), run_before=jump)


def test_quit_confirmation_during_a_backup(snap_compare: Snap) -> None:
    """Each step waits for the state it needs: under CPU load a fixed pause is not enough."""
    monitor = FakeMonitor(scenarios.ui_config(), FakeClock(), scenarios.healthy())
    monitor.hold_long_actions = True
    app = build_app(monitor)

    def backup_reported() -> bool:
        running = app.frame().running
        return not isinstance(app.screen, ConfirmScreen) and any(
            r.group == "backup" and r.progress is not None for r in running
        )

    async def start_backup_then_quit(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the backup dialog")
        await pilot.click("#confirm")
        await until(pilot, backup_reported, "the backup running with its first progress")
        app.render_frame()
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the quit dialog")

    assert snap_compare(app, run_before=start_backup_then_quit)
