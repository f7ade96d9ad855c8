"""Backup and restore drill: confirmation, progress, cancel, failure, and quitting mid-way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Button, Input, Static

from console.screens.confirm import ConfirmScreen
from tests.ui import scenarios
from tests.ui.conftest import build_app, settle, toasts
from tests.ui.fakes import FakeMonitor
from widgets.actions_bar import ActionsBar


def disabled(button: Button) -> bool:
    """A call, so mypy does not carry an earlier narrowing of `disabled` over an await."""
    return button.disabled


def dialog_text(screen: Any) -> str:
    return "\n".join(str(s.render()) for s in screen.query(Static))


async def test_backup_confirmation_names_target_and_defaults_to_cancel(
    make_monitor: Callable[..., FakeMonitor],
) -> None:
    monitor = make_monitor(scenarios.healthy())
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        text = dialog_text(screen)
        assert "postgresql://app:***@db.internal:5432/app" in text
        assert "hunter2" not in text
        assert "s3://acme-backups/warroom/" in text
        assert "estimated    1.2GB" in text  # the database_size metric
        assert screen.focused is not None and screen.focused.id == "cancel"
        await pilot.press("enter")  # the default button cancels
        await settle(app, pilot)
        assert monitor.calls == []


async def test_backup_runs_with_progress_then_reports(monitor: FakeMonitor) -> None:
    monitor.hold_long_actions = True
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await pilot.click("#confirm")
        await pilot.pause()
        app.render_frame()
        await pilot.pause()
        bar = app.screen.query_one(ActionsBar)
        assert bar.has_class("-busy")
        text = str(bar.render())
        assert "backup of main" in text and "dump 12.0MB/48.0MB" in text and "x cancel" in text
        assert app.screen.check_action("backup", ()) is None  # one at a time
        monitor.release.set()
        await settle(app, pilot)
        assert not bar.has_class("-busy")
        assert any("backup verified 48.0MB" in t for t in toasts(app))


async def test_backup_cancelled_with_x(monitor: FakeMonitor) -> None:
    monitor.hold_long_actions = True
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await pilot.click("#confirm")
        await pilot.pause()
        await pilot.press("x")
        await settle(app, pilot)
        assert ("backup cancelled",) in monitor.calls
        assert any("cancelled" in t for t in toasts(app))
        assert app.frame().events[0].kind == "cancelled"
        assert app.screen.check_action("cancel_action", ()) is False


async def test_backup_failure_shows_its_reason(monitor: FakeMonitor) -> None:
    monitor.fail["run_backup"] = "pg_dump: connection to server failed"
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await pilot.click("#confirm")
        await settle(app, pilot)
        assert any("failed: pg_dump: connection to server failed" in t for t in toasts(app))
        event = app.frame().events[0]
        assert event.kind == "failed" and "pg_dump" in event.text


async def test_drill_needs_the_target_name_typed(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("R")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert "postgresql://drill:***@scratch.internal:5433/postgres" in dialog_text(screen)
        confirm = screen.query_one("#confirm", Button)
        assert isinstance(screen.focused, Input)
        await pilot.press("m", "a", "i", "enter")
        assert confirm.disabled and app.screen is screen
        await pilot.press("n")
        assert not disabled(confirm)
        await pilot.press("enter")
        await settle(app, pilot)
        assert monitor.calls == [("drill",)]


async def test_quit_during_a_backup_asks_then_cancels_it(monitor: FakeMonitor) -> None:
    monitor.hold_long_actions = True
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await pilot.click("#confirm")
        await pilot.pause()
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # Cancel: keep running
        await pilot.pause()
        assert app.is_running and app.busy("backup")
        await pilot.press("q")
        await pilot.click("#confirm")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert ("backup cancelled",) in monitor.calls
    assert app.return_value == 0
    assert monitor.stopped


async def test_quit_when_idle_exits_at_once(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0
