"""The key footer: generated from the binding table, whole keys only, clickable."""

from __future__ import annotations

from collections.abc import Callable

from console.app import WarroomApp
from console.screens.checklist import ChecklistScreen
from tests.ui.conftest import build_app, until
from tests.ui.fakes import FakeMonitor
from widgets.key_footer import FooterKey, KeyFooter, layout_keys


def key(display: str, description: str) -> FooterKey:
    return FooterKey(display, display, description, enabled=True)


KEYS = [key("a", "Acknowledge"), key("s", "Silence"), key("b", "Backup now"), key("^p", "palette")]


def test_keys_that_fit_are_laid_out_whole_with_the_palette_at_the_right_edge() -> None:
    placed = layout_keys(KEYS, 40)
    # " a Acknowledge " is 15 cells, " s Silence " 11; " b Backup now " (14) would overlap
    # the palette key (" ^p palette ", 12 cells, at column 28), so it drops whole.
    assert placed == [(0, KEYS[0]), (15, KEYS[1]), (28, KEYS[3])]


def test_a_footer_too_narrow_for_the_palette_key_shows_what_fits_before_it() -> None:
    assert layout_keys(KEYS, 12) == [(0, KEYS[3])]
    assert layout_keys(KEYS, 11) == []
    assert layout_keys([], 80) == []


def footer_text(app: WarroomApp) -> str:
    return str(app.screen.query_one(KeyFooter).render())


async def test_footer_follows_the_keymap_and_read_only(
    make_monitor: Callable[..., FakeMonitor],
) -> None:
    app = build_app(make_monitor(keys={"acknowledge": "A"}))
    async with app.run_test(size=(120, 40)):
        text = footer_text(app)
        assert " A Acknowledge " in text and " a Acknowledge " not in text
        assert text.rstrip().endswith("^p palette")
    app = build_app(make_monitor(), read_only=True)
    async with app.run_test(size=(120, 40)):
        text = footer_text(app)
        assert "Acknowledge" not in text and "Backup now" not in text
        assert "Checklist" in text


async def test_clicking_a_footer_key_presses_it(monitor: FakeMonitor) -> None:
    app = build_app(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        column = next(x for x, item in footer._placed if item.description == "Checklist")
        await pilot.click(KeyFooter, offset=(column + 2, 0))
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "the checklist")
