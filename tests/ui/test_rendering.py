"""What the panels say about stale, limited and failing probes, and what the header counts."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import replace

import pytest
from textual import events
from textual._compositor import ChopsUpdate, Compositor
from textual.app import App, ComposeResult
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from console.clock import FakeClock
from console.compositor import ChangedLinesCompositor
from console.snapshot import ProbeView
from tests.ui import scenarios
from tests.ui.conftest import build_app, settle
from tests.ui.fakes import FakeMonitor
from widgets.alerts import AlertsTable
from widgets.api import ApiTable
from widgets.database import DatabasePanel
from widgets.errors import ErrorsPanel
from widgets.format import Series
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


class OneLine(App[None]):
    def compose(self) -> ComposeResult:
        yield Line()


async def test_a_line_lays_out_again_only_when_its_height_changes() -> None:
    app = OneLine()
    async with app.run_test(size=(40, 10)) as pilot:
        line = app.query_one(Line)
        line.show(Content("x"))
        await pilot.pause()
        line.show(Content("y" * 40))  # one row, as before: a repaint alone
        assert not line._layout_required
        await pilot.pause()
        line.show(Content("z " * 40))  # wraps to two rows: what is below must move
        assert line._layout_required
        await pilot.pause()
        assert line.size.height == 2


async def test_a_repeated_resize_of_the_same_size_lays_nothing_out_again(
    monitor: FakeMonitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        for timer in app._timers:
            # The refresh tick shows a frame every second: on a loaded machine it can
            # land inside the pause below and pass for a frame the Resize asked for.
            timer.pause()
        screen = app.screen
        layouts: list[Size] = []
        renders: list[object] = []
        layout, show = screen._refresh_layout, screen.show

        def counting(size: Size | None = None, scroll: bool = False) -> None:
            if size is not None:  # a layout for a new size, not one a change of content asked for
                layouts.append(size)
            layout(size, scroll)

        monkeypatch.setattr(screen, "_refresh_layout", counting)
        monkeypatch.setattr(screen, "show", lambda frame: renders.append(show(frame)))
        screen.post_message(events.Resize(Size(120, 40), Size(120, 40)))
        await pilot.pause()
        assert (layouts, renders) == ([], [])
        screen.post_message(events.Resize(Size(100, 40), Size(100, 40)))  # a real change
        await pilot.pause()
        assert layouts == [Size(100, 40)] and renders


async def test_a_panel_redraws_for_a_new_result_or_a_stale_age_not_every_frame(
    make_monitor: Callable[..., FakeMonitor],
    ui_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = scenarios.healthy()
    monitor = make_monitor(state)
    app = build_app(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        panel = app.screen.query_one(DatabasePanel)
        drawn: list[float] = []
        draw = panel._draw

        def counting(view: ProbeView | None, now: float, series: Series) -> None:
            drawn.append(now)
            draw(view, now, series)

        monkeypatch.setattr(panel, "_draw", counting)

        async def tick() -> None:
            ui_clock.advance(1)
            app.render_frame()
            await pilot.pause()

        await tick()
        await tick()
        assert drawn == []  # the same result: nothing of the panel changed

        main = state.probes[0]
        assert main.last is not None
        newer = replace(main, last=replace(main.last, metrics={**main.last.metrics, "rtt": 0.009}))
        monitor.set_state(replace(state, probes=(newer, *state.probes[1:])))
        await tick()
        assert len(drawn) == 1  # a new result
        assert "rtt 9ms" in text(panel.query_one(".headline", Line))

        overdue = replace(newer, overdue=True)
        monitor.set_state(replace(state, probes=(overdue, *state.probes[1:])))
        await tick()
        first = text(panel.query_one(".headline", Line))
        await tick()
        assert len(drawn) == 3  # stale: its age counts from now, every frame
        assert first != text(panel.query_one(".headline", Line))


@pytest.mark.parametrize("freeze", [True, False])
async def test_start_up_objects_are_frozen_after_the_first_data_frame_when_asked(
    monitor: FakeMonitor, freeze: bool
) -> None:
    app = build_app(monitor)
    app.freeze_heap_after_start = freeze  # the warroom command's setting; tests run many apps
    before = gc.get_freeze_count()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            assert gc.get_freeze_count() == before  # not before every probe's result is in
            monitor.set_state(monitor.state)
            await settle(app, pilot)
            assert (gc.get_freeze_count() > before) is freeze
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(
    ("size", "classes"), [((80, 24), {"-narrow", "-short"}), ((250, 70), {"-huge", "-tall"})]
)
async def test_the_main_screen_is_styled_for_its_size_before_its_first_frame(
    monitor: FakeMonitor,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    classes: set[str],
) -> None:
    restyled: list[object] = []
    update = App.update_styles

    def recording(app: App[object], node: object, animate: bool = True) -> None:
        restyled.append(node)
        update(app, node, animate)  # type: ignore[arg-type]

    monkeypatch.setattr(App, "update_styles", recording)
    app = build_app(monitor)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        # Restyling the screen restyles every widget on it and lays them all out again.
        assert app.screen.classes >= classes and app.screen not in restyled


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (250, 70)])
async def test_a_partial_update_paints_what_textuals_compositor_paints_asking_fewer_widgets(
    monitor: FakeMonitor,
    ui_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
) -> None:
    app = build_app(monitor)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        compositor = app.screen._compositor
        assert isinstance(compositor, ChangedLinesCompositor)
        asked: list[Widget] = []
        render_lines = Widget.render_lines

        def counting(widget: Widget, crop: Region) -> list[Strip]:
            asked.append(widget)
            return render_lines(widget, crop)

        monkeypatch.setattr(Widget, "render_lines", counting)
        updates: list[tuple[ChopsUpdate, int, ChopsUpdate, int]] = []
        ours = compositor.render_partial_update

        def both() -> ChopsUpdate | None:
            dirty = compositor._dirty_regions.copy()
            asked.clear()
            update = ours()
            ours_asked = len(asked)
            compositor._dirty_regions.update(dirty)
            asked.clear()
            with monkeypatch.context() as textual:
                textual.setattr(ChangedLinesCompositor, "_get_renders", Compositor._get_renders)
                theirs = ours()
            if update is not None and theirs is not None:
                updates.append((update, ours_asked, theirs, len(asked)))
            return update

        monkeypatch.setattr(compositor, "render_partial_update", both)
        for _ in range(3):  # the clock, the ages and the countdowns move
            ui_clock.advance(1)
            app.render_frame()
            await pilot.pause()
        assert updates
        for update, ours_asked, theirs, theirs_asked in updates:
            assert update.render_segments(app.console) == theirs.render_segments(app.console)
            assert ours_asked < theirs_asked
