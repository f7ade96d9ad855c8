"""The checklist screen: phases, items and their proof, ticking by hand, refusals."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from console.screens.checklist import ChecklistScreen, ChecklistTable
from tests.ui import scenarios
from tests.ui.conftest import build_app, settle, toasts
from tests.ui.fakes import FakeMonitor

FUNNEL_REVIEW = "user-journey-funnel-analysis"  # manual, not ticked
BACKUP_VERIFIED = "database-backup-verified"  # proven by backups: newest_verified


async def open_on(app: Any, pilot: Pilot[Any], item_id: str) -> ChecklistTable:
    await pilot.press("c")
    await settle(app, pilot)
    assert isinstance(app.screen, ChecklistScreen)
    table = app.screen.query_one(ChecklistTable)
    assert table.select_key(item_id)
    await pilot.pause()
    return table


def cells(table: ChecklistTable, key: str) -> tuple[str, str]:
    return str(table.get_cell(key, "mark")), str(table.get_cell(key, "how"))


async def test_phases_items_and_how_each_was_done(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await open_on(app, pilot, FUNNEL_REVIEW)
        assert str(table.get_cell("phase:24h", "item")).startswith("24h   4/5")
        assert cells(table, BACKUP_VERIFIED) == ("✓", "proof: backups: newest_verified at 20:26Z")
        assert cells(table, scenarios.STANDBY) == ("✓", "ticked by bob at 18:56Z")
        assert cells(table, FUNNEL_REVIEW) == ("○", "manual: tick it when it is done")
        mark, how = cells(table, "real-time-error-monitoring-active")
        assert mark == "○" and how.startswith("not yet: errors: up and telemetry_configured")


async def test_tick_and_untick_a_manual_item(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_on(app, pilot, FUNNEL_REVIEW)
        await pilot.press("space")
        await settle(app, pilot)
        assert monitor.calls[-1] == ("set_checklist_item", FUNNEL_REVIEW, True)
        assert cells(table, FUNNEL_REVIEW) == ("✓", "ticked by alice at 20:26Z")
        assert str(table.get_cell("phase:week", "item")).startswith("week  2/4")
        assert any("ticked “User journey funnel analysis”" in t for t in toasts(app))
        await pilot.press("t")
        await settle(app, pilot)
        assert monitor.calls[-1] == ("set_checklist_item", FUNNEL_REVIEW, False)
        assert cells(table, FUNNEL_REVIEW)[0] == "○"
        assert str(app.screen.query_one("#checklist-selected").render()).startswith("○ open")


async def test_a_proven_item_cannot_be_unticked_by_hand(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_on(app, pilot, BACKUP_VERIFIED)
        await pilot.press("t")
        await settle(app, pilot)
        assert not [c for c in monitor.calls if c[0] == "set_checklist_item"]
        assert any("proven by a probe" in t and "newest_verified" in t for t in toasts(app))


async def test_read_only_refuses_ticks_out_loud(monitor: FakeMonitor) -> None:
    app = build_app(monitor, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_on(app, pilot, FUNNEL_REVIEW)
        await pilot.press("t", "space")
        await settle(app, pilot)
        assert not [c for c in monitor.calls if c[0] == "set_checklist_item"]
        assert cells(table, FUNNEL_REVIEW)[0] == "○"
        assert len([t for t in toasts(app) if "read-only" in t]) == 2


async def test_a_failed_tick_says_why(monitor: FakeMonitor) -> None:
    monitor.fail["set_checklist_item"] = "state file is locked"
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_on(app, pilot, FUNNEL_REVIEW)
        await pilot.press("t")
        await settle(app, pilot)
        assert cells(table, FUNNEL_REVIEW)[0] == "○"
        assert any("failed: state file is locked" in t for t in toasts(app))
