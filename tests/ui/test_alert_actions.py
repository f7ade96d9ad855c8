"""Acknowledge, unacknowledge and silence from the keyboard, on the fake and the real Monitor."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from console.alerts.model import Matcher
from console.clock import FakeClock
from console.config import load_config
from console.monitor import create_monitor
from console.screens.acknowledge import AcknowledgeScreen
from console.screens.silence import SilenceScreen
from probes.result import Status
from tests.scripted import ScriptedProbe
from tests.ui import scenarios
from tests.ui.conftest import build_app, settle, toasts
from tests.ui.fakes import FakeMonitor
from widgets.alerts import AlertsTable


def cell(table: AlertsTable, key: str, column: str) -> str:
    return str(table.get_cell(key, column))


async def test_acknowledge_with_a_note(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(AlertsTable)
        assert table.select_key(scenarios.DB_DOWN)
        await pilot.press("a")
        assert isinstance(app.screen, AcknowledgeScreen)
        await pilot.press(*"on it", "enter")
        await settle(app, pilot)
        assert monitor.calls[-1] == ("acknowledge", scenarios.DB_DOWN, "on it")
        assert cell(table, scenarios.DB_DOWN, "state") == "✓ acked"
        assert cell(table, scenarios.DB_DOWN, "owner") == "alice"
        assert table.selected_key == scenarios.DB_DOWN
        assert any("acknowledged database-down" in t for t in toasts(app)), toasts(app)


async def test_acknowledge_cancelled_with_escape(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one(AlertsTable).select_key(scenarios.DB_DOWN)
        await pilot.press("a", "escape")
        await settle(app, pilot)
        assert monitor.calls == []


async def test_acknowledge_dimmed_for_an_acknowledged_alert(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one(AlertsTable).select_key(scenarios.DATA_LOSS)
        assert app.screen.check_action("acknowledge", ()) is None
        await pilot.press("a")
        assert not isinstance(app.screen, AcknowledgeScreen)
        await pilot.press("u")
        await settle(app, pilot)
        assert monitor.calls[-1] == ("unacknowledge", scenarios.DATA_LOSS)


async def test_failure_shows_its_one_line_reason(monitor: FakeMonitor) -> None:
    monitor.fail["acknowledge"] = "refused: occurrence occ-db-down is resolved"
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one(AlertsTable).select_key(scenarios.DB_DOWN)
        await pilot.press("a", "enter")
        await settle(app, pilot)
        assert any("failed: refused: occurrence occ-db-down is resolved" in t for t in toasts(app))
        assert app.frame().events[0].kind == "failed"


async def test_silence_prefilled_from_the_selected_alert(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one(AlertsTable).select_key(scenarios.SPIKE)
        await pilot.press("s")
        screen = app.screen
        assert isinstance(screen, SilenceScreen)
        assert [screen.query_one(f"#{n}").value for n in ("rule", "probe", "severity")] == [  # type: ignore[attr-defined]
            "error-spike",
            "errors",
            "P1",
        ]
        await pilot.press("enter")  # no comment yet: refused in the dialog
        assert app.screen is screen
        assert "comment is required" in str(screen.query_one("#problem").render())
        await pilot.press(*"known bad deploy", "enter")
        await settle(app, pilot)
        kind, matcher, duration, comment = monitor.calls[-1]
        assert (kind, matcher, duration, comment) == (
            "silence",
            Matcher("error-spike", "errors", "P1"),
            3600.0,
            "known bad deploy",
        )
        table = app.screen.query_one(AlertsTable)
        assert cell(table, scenarios.SPIKE, "state") == "◌ silenced"


async def test_cursor_stays_on_its_alert_when_rows_arrive(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(AlertsTable)
        table.select_key(scenarios.SPIKE)
        index = table.cursor_row
        older = replace(
            monitor.state.alerts[0], id="occ-older", rule="checksum-failures", started_at=0.0
        )
        monitor.set_state(replace(monitor.state, alerts=(older, *monitor.state.alerts)))
        await settle(app, pilot)
        assert table.ordered_rows[0].key.value == "occ-older"
        assert table.selected_key == scenarios.SPIKE
        assert table.cursor_row == index + 1


async def test_real_monitor_acknowledge_and_silence(tmp_path: Path) -> None:
    """The production Monitor with scripted probes: the intent reaches the store and the table."""
    clock = FakeClock()
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[console]
environment = "test"
operator = "alice"
state_path = "{tmp_path / "state.sqlite3"}"

[postgres.main]
dsn = "postgresql://app:pw@127.0.0.1:1/app"

[http.api]
url = "http://127.0.0.1:9/health"
"""
    )
    config = load_config(path, env={})
    db = ScriptedProbe("main", "postgres", clock)
    api = ScriptedProbe("api", "http", clock, {"latency_p95": 0.1, "status_ok": True})
    monitor = create_monitor(config, clock=clock, probes=[db, api])
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        db.set(Status.DOWN, error="connection refused")
        for _ in range(2):  # database-down needs two consecutive failures
            clock.advance(10)
            await monitor.check_once()
            await monitor.sync()
        await settle(app, pilot)
        table = app.screen.query_one(AlertsTable)
        (alert,) = monitor.snapshot().alerts
        assert table.selected_key == alert.id
        await pilot.press("a", *"on it", "enter")
        await settle(app, pilot)
        acked = monitor.snapshot().alerts[0]
        assert acked.ack is not None and acked.ack.note == "on it"
        assert cell(table, alert.id, "state") == "✓ acked"
        assert any("acknowledged database-down on main" in t for t in toasts(app))

        await pilot.press("s", *"maintenance", "enter")
        await settle(app, pilot)
        assert monitor.snapshot().silences
        assert cell(table, alert.id, "state") == "◌ silenced"
