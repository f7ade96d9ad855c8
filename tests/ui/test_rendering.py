"""What the panels say about stale, limited and failing probes, and what the header counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from textual.content import Content

from tests.ui import scenarios
from tests.ui.conftest import build_app, settle
from tests.ui.fakes import FakeMonitor
from widgets.alerts import AlertsTable
from widgets.api import ApiTable
from widgets.database import DatabasePanel
from widgets.errors import ErrorsPanel
from widgets.header import StatusHeader
from widgets.panel import Line


def text(widget: object) -> str:
    return str(widget.render())  # type: ignore[attr-defined]


async def test_overdue_probe_is_stale_with_its_age_never_fresh(
    make_monitor: Callable[..., FakeMonitor],
) -> None:
    state = scenarios.healthy()
    probes = tuple(
        replace(p, overdue=True) if p.name in ("main", "api") else p for p in state.probes
    )
    app = build_app(make_monitor(replace(state, probes=probes)))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        panel = app.screen.query_one(DatabasePanel)
        assert text(panel.query_one(".headline", Line)).startswith("◌ STALE  4s old")
        assert panel.has_class("-stale") and "stale 4s" in str(panel.border_subtitle)
        api = app.screen.query_one(ApiTable)
        assert str(api.get_cell("api", "status")) == "◌ stale"
        assert "DEGRADED" in text(app.screen.query_one(StatusHeader))


async def test_down_probe_shows_its_one_line_error(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.screen.query_one(DatabasePanel)
        headline = text(panel.query_one(".headline", Line))
        assert headline.startswith("✗ DOWN  connection refused")
        errors = text(app.screen.query_one(ErrorsPanel).query_one(".body", Line))
        assert "rate limited, 2m old" in errors and "▲ spike 4.2x" in errors
        await pilot.pause()


async def test_limited_view_is_marked(make_monitor: Callable[..., FakeMonitor]) -> None:
    state = scenarios.healthy()
    main = state.probes[0]
    assert main.last is not None
    limited = replace(main, last=replace(main.last, unavailable=("blocked_sessions",)))
    app = build_app(make_monitor(replace(state, probes=(limited, *state.probes[1:]))))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one(DatabasePanel).border_subtitle == "limited view"


async def test_header_counts_firing_alerts_and_flags(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(250, 70)) as pilot:
        await pilot.pause()
        header = text(app.screen.query_one(StatusHeader))
        for part in (
            "✗ CRITICAL",
            "production",
            "P0 2 P1 2",  # the silenced P1 still fires; the pending P2 does not count
            "notifications failing: 403 invalid_token",
            "24h: 4/5",
            "alice",
            "20:26:40Z",
        ):
            assert part in header


async def test_nothing_selected_dims_alert_actions(
    make_monitor: Callable[..., FakeMonitor],
) -> None:
    app = build_app(make_monitor(scenarios.healthy()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one(AlertsTable).row_count == 0
        for action in ("acknowledge", "unacknowledge", "silence"):
            assert app.screen.check_action(action, ()) is None
        await pilot.press("a", "s")
        assert app.screen is app.screen_stack[0]


async def test_a_line_lays_out_again_only_when_its_height_changes(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        line = app.screen.query_one(DatabasePanel).query_one(".headline", Line)
        width = line.content_size.width
        line.show(Content("x"))
        await pilot.pause()
        line.show(Content("y" * width))  # one row, as before: a repaint alone
        assert not line._layout_required
        await pilot.pause()
        line.show(Content("x " * width))  # wraps to two rows: the panel must grow
        assert line._layout_required
        await pilot.pause()
        assert line.size.height == 2
