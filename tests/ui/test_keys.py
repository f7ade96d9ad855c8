"""Keys: filter, inputs, read-only refusals, the keymap, help, palette, zoom, pause, screens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from textual.widgets import Input

from console.keymap import ACTIONS
from console.screens.acknowledge import AcknowledgeScreen
from console.screens.checklist import ChecklistScreen, ChecklistTable
from console.screens.detail import DetailScreen
from console.screens.help import HelpScreen
from console.screens.log import EventLogScreen, EventTable
from console.screens.main import MainScreen
from tests.ui import scenarios
from tests.ui.conftest import build_app, settle, toasts
from tests.ui.fakes import FakeMonitor
from widgets.alerts import AlertsTable
from widgets.api import ApiTable
from widgets.database import DatabasePanel
from widgets.header import StatusHeader


def focused(app: Any) -> object:
    """What has focus now (a call, so mypy does not carry an earlier narrowing over an await)."""
    return app.screen.focused


def maximized(app: Any) -> object:
    return app.screen.maximized


def rows(table: Any) -> list[str]:
    return [row.key.value for row in table.ordered_rows]


async def test_filter_then_single_letter_keys_still_work(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash")
        field = app.screen.query_one("#filter", Input)
        assert app.screen.focused is field
        await pilot.press(*"down")
        await settle(app, pilot)
        alerts = app.screen.query_one(AlertsTable)
        assert rows(alerts) == [scenarios.DB_DOWN]
        await pilot.press("enter")  # keeps the filter, closes the input
        assert not field.display and focused(app) is alerts
        assert rows(alerts) == [scenarios.DB_DOWN]
        await pilot.press("a")
        assert isinstance(app.screen, AcknowledgeScreen)


async def test_filter_narrows_api_rows_and_escape_clears(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        api = app.screen.query_one(ApiTable)
        assert rows(api) == ["api", "journeys"]
        await pilot.press("slash", *"journ")
        await settle(app, pilot)
        assert rows(api) == ["journeys"]
        await pilot.press("escape")
        await settle(app, pilot)
        assert rows(api) == ["api", "journeys"]
        assert not app.screen.query_one("#filter").display


async def test_action_keys_never_fire_while_typing(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", "q", "a", "b", "R", "question_mark", "p", "l")
        assert isinstance(app.screen, MainScreen) and app.is_running
        assert app.screen.query_one("#filter", Input).value == "qabR?pl"
        assert not app.paused and monitor.calls == []


async def test_read_only_hides_and_refuses_every_mutating_action(monitor: FakeMonitor) -> None:
    app = build_app(monitor, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        screen.query_one(AlertsTable).select_key(scenarios.DB_DOWN)
        shown = {b.binding.action for b in screen.active_bindings.values() if b.binding.show}
        for action in ACTIONS.values():
            if action.mutating:
                assert screen.check_action(action.id, ()) is False
                assert action.id not in shown
        for key in ("a", "u", "s", "b", "R"):
            await pilot.press(key)
            assert app.screen is screen
        await settle(app, pilot)
        assert monitor.calls == []
        assert len([t for t in toasts(app) if t.startswith("read-only")]) == 5
        assert "READ-ONLY" in str(screen.query_one(StatusHeader).render())


async def test_keymap_overrides_from_config(make_monitor: Callable[..., FakeMonitor]) -> None:
    monitor = make_monitor(keys={"acknowledge": "A", "help": "f1"})
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one(AlertsTable).select_key(scenarios.DB_DOWN)
        await pilot.press("a")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("A")
        assert isinstance(app.screen, AcknowledgeScreen)
        await pilot.press("escape", "f1")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        keys = {e.description: e.key for e in help_screen.entries}
        assert keys["Acknowledge"] == "A" and keys["Help"] == "f1"


async def test_help_lists_every_binding(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        described = {e.description for e in screen.entries}
        assert {a.description for a in ACTIONS.values()} <= described
        assert {e.key for e in screen.entries} >= {"a", "?", "/", "⏎", "x"}
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_palette_jumps_to_a_probe(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Go to main")
        await pilot.pause(0.3)  # the palette searches in a task of its own
        await pilot.press("enter")
        await settle(app, pilot)
        focused = app.screen.focused
        assert isinstance(focused, DatabasePanel) and focused.probe == "main"


async def test_palette_runs_an_action(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p", *"Event log")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, EventLogScreen)


async def test_zoom_maximizes_the_focused_panel(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.screen.query_one(DatabasePanel)
        panel.focus()
        await pilot.press("z")
        assert app.screen.maximized is panel
        await pilot.press("z")
        assert maximized(app) is None
        app.screen.query_one(AlertsTable).focus()
        await pilot.press("z")
        assert maximized(app) is app.screen.query_one("#alerts-panel")
        await pilot.press("escape")
        assert app.screen.maximized is None


async def test_pause_stops_rendering_until_resumed(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        header = app.screen.query_one(StatusHeader)
        assert "PAUSED" in str(header.render())
        await pilot.pause()
        assert any("rendering paused" in toast for toast in toasts(app))
        monitor.set_state(scenarios.healthy())
        await settle(app, pilot)
        alerts = app.screen.query_one(AlertsTable)
        assert alerts.row_count == len(scenarios.incident_alerts())  # still the incident
        await pilot.press("p")
        await settle(app, pilot)
        assert alerts.row_count == 0 and "PAUSED" not in str(header.render())


async def test_nothing_renders_under_a_modal(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        monitor.set_state(scenarios.healthy())
        await settle(app, pilot)
        main = app.screen_stack[0]
        assert main.query_one(AlertsTable).row_count == len(scenarios.incident_alerts())
        await pilot.press("escape")
        await settle(app, pilot)
        assert main.query_one(AlertsTable).row_count == 0


async def test_refresh_now_targets_the_focused_panel(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        app.screen.query_one(DatabasePanel).focus()
        await pilot.press("r")
        assert monitor.calls == [("refresh_now", None), ("refresh_now", "main")]


async def test_details_for_the_selected_alert(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(100, 40)) as pilot:
        app.screen.query_one(AlertsTable).select_key(scenarios.DATA_LOSS)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        assert (screen.probe, screen.alert_id) == ("main", scenarios.DATA_LOSS)
        text = str(screen.query_one("#alert").render())
        assert "acknowledged by bob" in text and "restoring from backup" in text
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_details_for_a_panel_show_metrics_and_queries(
    make_monitor: Callable[..., FakeMonitor],
) -> None:
    app = build_app(make_monitor(scenarios.healthy()))
    async with app.run_test(size=(100, 40)) as pilot:
        app.screen.query_one(DatabasePanel).focus()
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.kind == "postgres"
        assert "SELECT * FROM soul_memories" in str(screen.query_one("#queries").render())
        metrics = screen.query(".detail > KeyedTable").first()
        assert "cache_hit_ratio" in rows(metrics)


async def test_details_for_an_api_row(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ApiTable)
        table.focus()
        table.select_key("journeys")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, DetailScreen) and (screen.probe, screen.kind) == (
            "journeys",
            "http",
        )


async def test_checklist_and_log_screens(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")
        await settle(app, pilot)
        assert isinstance(app.screen, ChecklistScreen)
        table_rows = rows(app.screen.query_one(ChecklistTable))
        assert [r for r in table_rows if r.startswith("phase:")] == [
            "phase:24h",
            "phase:week",
            "phase:month",
        ]
        assert len(table_rows) == 3 + len(monitor.config.checklist)
        await pilot.press("q")  # back, not quit
        assert isinstance(app.screen, MainScreen) and app.is_running
        await pilot.press("l")
        await settle(app, pilot)
        assert isinstance(app.screen, EventLogScreen)
        assert app.screen.query_one(EventTable).row_count == len(monitor.state.events)


async def test_demo_keys_inject_faults_in_threads(monitor: FakeMonitor) -> None:
    class Demo:
        def __init__(self) -> None:
            self.calls: list[str] = []
            self.running = True

        def database_running(self) -> bool:
            return self.running

        def stop_database(self) -> None:
            self.calls.append("stop")
            self.running = False

        def start_database(self) -> None:
            self.calls.append("start")

        def set_api_latency(self, ms: int) -> None:
            self.calls.append(f"latency {ms}")

        def burst_errors(self, n: int = 200) -> None:
            self.calls.append(f"burst {n}")

        def delete_rows(self, table: str = "soul_memories", fraction: float = 0.3) -> int:
            self.calls.append(f"delete {table} {fraction}")
            return 2961

        def reset(self) -> None:
            self.calls.append("reset")

    demo = Demo()
    app = build_app(monitor, demo=demo)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "DEMO" in str(app.screen.query_one(StatusHeader).render())
        for key in ("1", "2", "3", "4", "0"):
            await pilot.press(key)
            await settle(app, pilot)
        assert demo.calls == [
            "stop",
            "latency 6000",
            "burst 200",
            "delete soul_memories 0.3",
            "reset",
        ]
        demo_events = [e.text for e in app.frame().events if e.kind == "demo"]
        assert "deleted 2961 rows (30%) from soul_memories" in demo_events
        assert any("database stopped" in t for t in toasts(app))


async def test_demo_keys_absent_without_a_demo(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.check_action("demo_database", ()) is False
        await pilot.press("1")
        await settle(app, pilot)
        assert not any("demo" in t for t in toasts(app))


async def test_deadline_passes_on_the_clock(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(AlertsTable)
        assert str(table.get_cell(scenarios.DB_DOWN, "due")) == "2m40s"
        monitor.clock.advance(200)
        await settle(app, pilot)
        assert str(table.get_cell(scenarios.DB_DOWN, "due")) == "!+40s"
        monitor.set_state(replace(monitor.state, alerts=()))
        await settle(app, pilot)
        assert table.row_count == 0
