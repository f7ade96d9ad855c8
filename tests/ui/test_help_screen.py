"""The help: every entry of the binding table on screen, opaque, closed by ? and Escape."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from console.keymap import ACTIONS
from console.screens.help import HelpScreen
from console.screens.main import HELP_SCREEN, MainScreen
from tests.ui.conftest import build_app, settle
from tests.ui.fakes import FakeMonitor


async def test_help_shows_every_entry_on_one_line_each(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.press("question_mark")
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        lines = str(screen.query_one(".help-rows", Static).render()).splitlines()
        width = max(len(e.key) for e in screen.entries)
        assert len(lines) == len(screen.entries)
        for line, entry in zip(lines, screen.entries, strict=True):
            assert line.startswith(f"{entry.key.rjust(width)}  {entry.description}")
            assert line.endswith(entry.note)
        assert {a.description for a in ACTIONS.values()} <= {e.description for e in screen.entries}


async def test_help_is_opaque_so_the_screen_below_is_not_repainted(monitor: FakeMonitor) -> None:
    """A translucent modal renders the whole screen below, tinted, on each paint."""
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.styles.background.a == 1


@pytest.mark.parametrize("key", ["question_mark", "escape", "q"])
async def test_help_closes(monitor: FakeMonitor, key: str) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press(key)
        assert isinstance(app.screen, MainScreen)


async def test_help_reopens_as_it_was_without_composing_again(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        first = app.screen
        rows = str(first.query_one(".help-rows", Static).render())
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("question_mark")
        assert app.screen is first and first.is_mounted
        assert str(first.query_one(".help-rows", Static).render()) == rows
        await pilot.press("question_mark")  # closes it, as the first time
        assert isinstance(app.screen, MainScreen)


async def test_help_is_composed_before_the_first_press(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert not app.is_screen_installed(HELP_SCREEN)  # not before the first data frame
        monitor.set_state(monitor.state)  # every probe's result is in
        await settle(app, pilot)
        help_screen = app.get_screen(HELP_SCREEN)
        assert help_screen.is_running and help_screen not in app.screen_stack
        assert help_screen.query_one(".help-rows", Static)  # composed, off the stack
        await pilot.press("question_mark")
        assert app.screen is help_screen
