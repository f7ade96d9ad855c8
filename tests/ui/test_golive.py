"""The go-live panels (vitals, funnel, support), probe health's verdicts, alert values, layout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from textual.containers import ScrollableContainer
from textual.widgets import DataTable

from console.screens.main import displayed
from console.snapshot import ProbeView
from probes.result import Status
from tests.ui import scenarios
from tests.ui.conftest import build_app, settle
from tests.ui.fakes import FakeMonitor
from widgets.alerts import AlertsTable, value_text
from widgets.api import ApiTable
from widgets.funnel import FunnelPanel
from widgets.panel import Line
from widgets.probe_health import health_of
from widgets.support import SupportPanel
from widgets.vitals import VitalsPanel

LIBPQ_REFUSED = (
    'connection failed: connection to server at "127.0.0.1", port 34861 failed: Connection '
    "refused Is the server running on that host and accepting TCP/IP connections?"
)


def body(panel: object) -> str:
    return str(panel.query_one(".body", Line).render())  # type: ignore[attr-defined]


def probe(state: object, name: str) -> ProbeView:
    view = state.probe(name)  # type: ignore[attr-defined]
    assert view is not None and view.last is not None
    return view  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("status", "error", "running", "overdue", "verdict"),
    [
        (Status.CRITICAL, "no backups in /srv/backups", False, False, "✓ reporting"),
        (Status.WARNING, "table users is missing", False, False, "✓ reporting"),
        (Status.DOWN, "connection refused", False, False, "✗ target down"),
        (Status.UNKNOWN, "KeyError: 'count'", False, False, "! probe broken"),
        (Status.OK, None, True, True, "◌ slow"),
        (Status.OK, None, False, True, "◌ overdue"),
    ],
)
def test_probe_health_tells_findings_from_broken_probes(
    status: Status, error: str | None, running: bool, overdue: bool, verdict: str
) -> None:
    view = probe(scenarios.healthy(), "backups")
    assert view.last is not None
    last = replace(view.last, status=status, error=error)
    assert health_of(replace(view, last=last, running=running, overdue=overdue))[0] == verdict


@pytest.mark.parametrize(
    ("value", "metric", "shown"),
    [
        (2.67, "lcp_p75", "2.7s"),
        (False, "up", "down"),
        (False, "newest_verified", "no"),
        (0.3, "critical_rows_drop_ratio", "30.0%"),
        (1.0, "max_conversion_drop", "100.0%"),
        (720, "longest_transaction_age", "12m"),
        (4.2, "spike_ratio", "4.2"),
        (3, "breached_tickets", "3"),
        (None, "up", "—"),
    ],
)
def test_alert_values_in_their_rules_unit(
    value: float | bool | None, metric: str, shown: str
) -> None:
    assert value_text(value, metric) == shown


async def test_vitals_rate_each_vital_against_its_threshold(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(250, 70)) as pilot:
        await settle(app, pilot)
        text = body(app.screen.query_one(VitalsPanel)).splitlines()
        assert text == [
            "FCP 1210ms / 1800ms ✓ good",
            "LCP 2670ms / 2500ms ✗ poor",
            "INP  118ms / 200ms  ✓ good",
            "CLS   0.04 / 0.10   ✓ good",
        ]  # FID is configured but has no data: not shown
        alerts = app.screen.query_one(AlertsTable)
        assert str(alerts.get_cell(scenarios.POOR_LCP, "value")) == "2.7s"
        assert str(alerts.get_cell(scenarios.DB_DOWN, "value")) == "down"


async def test_funnel_marks_the_largest_drop_or_says_it_is_too_quiet(
    make_monitor: Callable[..., FakeMonitor],
) -> None:
    state = scenarios.incident()
    monitor = make_monitor(state)
    app = build_app(monitor)
    async with app.run_test(size=(250, 70)) as pilot:
        await settle(app, pilot)
        panel = app.screen.query_one(FunnelPanel)
        text = body(panel).splitlines()
        assert text[2].startswith("3▼ceremony_started") and text[2].endswith("11% (51%)")
        assert text[-1] == "▼ largest drop 79% (alert over 50%)"
        funnel = probe(state, "journey")
        assert funnel.last is not None
        quiet = dict(funnel.last.metrics)
        del quiet["max_conversion_drop"]
        probes = tuple(
            replace(p, last=replace(funnel.last, metrics=quiet)) if p.name == "journey" else p
            for p in state.probes
        )
        monitor.set_state(replace(state, probes=probes))
        await settle(app, pilot)
        text = body(panel).splitlines()
        assert "▼" not in body(panel)
        assert text[-1] == "too quiet to compare with the window before"


async def test_support_shows_breaches_and_dashes_what_it_cannot_see(
    make_monitor: Callable[..., FakeMonitor],
) -> None:
    state = scenarios.incident()
    desk = probe(state, "desk")
    assert desk.last is not None
    zendesk = replace(desk.last, unavailable=("oldest_waiting_age",))
    probes = tuple(replace(p, last=zendesk) if p.name == "desk" else p for p in state.probes)
    app = build_app(make_monitor(replace(state, probes=probes)))
    async with app.run_test(size=(250, 70)) as pilot:
        await settle(app, pilot)
        panel = app.screen.query_one(SupportPanel)
        assert body(panel).splitlines() == [
            "open 14  waiting 7  escalated 1",
            "✗ breached 2  oldest wait —",
        ]
        assert panel.border_subtitle == "limited view"


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (250, 70)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_panels_fit_without_scrollbars(
    make_monitor: Callable[..., FakeMonitor], size: tuple[int, int]
) -> None:
    """No scrollbar in the panels' area: a scrollbar's thumb reads as a stray glyph.

    The body scrolled at every size (a thumb drawn one column right of the panels),
    and probe health scrolled sideways; the alerts table may scroll, inside its border.
    """
    state = scenarios.incident()
    main = probe(state, "main")
    assert main.last is not None
    # libpq's whole story, as the demo's stopped database tells it: five lines at 80 columns.
    long = replace(main.last, error=LIBPQ_REFUSED)
    probes = tuple(replace(p, last=long) if p.name == "main" else p for p in state.probes)
    app = build_app(make_monitor(replace(state, probes=probes)))
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        body_ = app.screen.query_one("#body", ScrollableContainer)
        assert body_.max_scroll_y == 0 and not body_.show_vertical_scrollbar
        for table in app.screen.query(DataTable):
            if displayed(table):
                assert not table.show_horizontal_scrollbar, table
                assert isinstance(table, AlertsTable) or not table.show_vertical_scrollbar, table
        api = app.screen.query_one(ApiTable)
        full = [key for key, _, _ in ApiTable.COLUMNS]
        compact = [key for key, _, _ in ApiTable.COMPACT]
        assert [str(k.value) for k in api.columns] == (full if size[0] >= 250 else compact)
