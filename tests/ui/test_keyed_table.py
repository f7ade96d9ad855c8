"""KeyedTable repaints only what changed, never shows a stale cell, and keeps its caches small."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from widgets.format import Tone
from widgets.keyed_table import Column, KeyedTable, Row

SIZE = (80, 14)
Cells = list[list[tuple[str, Style]]]


class AgeTable(KeyedTable):
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        ("name", "name", 8),
        ("state", "state", 8),
        ("age", "age", 6),
    )


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield AgeTable()


def rows(
    table: AgeTable, tick: int, names: list[str], tones: dict[str, Tone] | None = None
) -> list[Row]:
    tones = tones or {}
    return [
        (name, [table.cell(name), table.cell("up", tones.get(name, "")), table.cell(f"{tick}s")])
        for name in names
    ]


def cells(table: AgeTable) -> Cells:
    """What the table paints, cell by cell: its lines as (character, style) pairs.

    Through the widget's line cache, as the compositor asks: lines not marked dirty
    come from there, so a repaint that missed a line shows here as a stale one.
    """
    lines = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return [[(ch, seg.style or Style()) for seg in strip for ch in seg.text] for strip in lines]


def fresh(table: AgeTable) -> Cells:
    """The same table painted with every cache dropped: what it should look like."""
    table._clear_caches()
    table._styles_cache.clear()
    return cells(table)


def dirty(table: AgeTable) -> Iterator[tuple[int, int]]:
    """The (x, y) cells a refresh asked to repaint, in the widget's coordinates."""
    offset = table.content_offset
    for region in table._repaint_regions:
        region = region.translate(-offset)
        for y in range(region.y, region.bottom):
            for x in range(region.x, region.right):
                yield x, y


def changed(before: Cells, after: Cells) -> set[tuple[int, int]]:
    return {
        (x, y)
        for y, (old, new) in enumerate(zip(before, after, strict=True))
        for x, (a, b) in enumerate(zip(old, new, strict=True))
        if a != b
    }


async def started(pilot: Pilot[Any], names: list[str]) -> AgeTable:
    table = pilot.app.query_one(AgeTable)
    table.sync(rows(table, 0, names))
    await pilot.pause()
    return table


@pytest.fixture
def upstream_renders(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Each (row, column) drawn past KeyedTable's cache: by its shortcut or by DataTable."""
    calls: list[tuple[int, int]] = []
    render = DataTable._render_cell
    draw = KeyedTable._draw_text

    def counting(self: DataTable[Any], row: int, column: int, *args: Any, **kw: Any) -> Any:
        calls.append((row, column))
        return render(self, row, column, *args, **kw)

    def drawing(self: KeyedTable, text: Text, row: int, column: int, *args: Any) -> Any:
        lines = draw(self, text, row, column, *args)
        if lines is not None:
            calls.append((row, column))
        return lines

    monkeypatch.setattr(DataTable, "_render_cell", counting)
    monkeypatch.setattr(KeyedTable, "_draw_text", drawing)
    return calls


async def test_a_changed_cell_alone_is_rendered_and_repainted(
    upstream_renders: list[tuple[int, int]],
) -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = await started(pilot, ["a", "b", "c"])
        before = fresh(table)
        table._repaint_regions.clear()
        upstream_renders.clear()

        tick = rows(table, 0, ["a", "b", "c"])
        tick[1] = ("b", [*tick[1][1][:2], table.cell("1s")])
        table.sync(tick)

        assert table._repaint_regions, "the changed cell is repainted"
        assert set(dirty(table)) <= {(x, 2) for x in range(table.size.width)}  # b's line
        after = cells(table)
        assert upstream_renders == [(1, 2)]  # row b, column age: nothing else re-rendered
        assert changed(before, after) <= set(dirty(table))
        assert after == fresh(table)


async def test_a_tick_repaints_the_age_column_only() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        names = ["a", "b", "c", "d"]
        table = await started(pilot, names)
        before = fresh(table)
        table._repaint_regions.clear()
        table.sync(rows(table, 1, names))
        after = cells(table)
        diff = changed(before, after)
        assert diff and diff <= set(dirty(table))
        age_x = {x for x, _ in dirty(table)}
        width = table.columns[next(k for k in table.columns if k.value == "age")]
        assert len(age_x) == width.get_render_width(table)  # one column, not the table
        assert after == fresh(table)


async def test_rows_added_removed_and_reordered_paint_as_a_fresh_table() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = await started(pilot, ["a", "b", "c"])
        table.focus()
        table.select_key("b")
        await pilot.pause()
        cells(table)
        steps = [
            ["a", "b", "c", "d"],  # added
            ["d", "a", "b", "c"],  # moved
            ["d", "b", "c"],  # removed
            ["c", "b", "d", "e"],  # all at once
        ]
        for tick, names in enumerate(steps, start=1):
            table.sync(rows(table, tick, names))
            await pilot.pause()
            assert [str(r.key.value) for r in table.ordered_rows] == names
            assert table.selected_key == "b"  # the cursor stays on its row
            painted = cells(table)
            assert painted == fresh(table), f"after {names}"


async def test_cursor_hover_focus_and_columns_repaint() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        names = ["a", "b", "c"]
        table = await started(pilot, names)
        table.focus()
        await pilot.pause()
        cursor_bg = table.get_component_rich_style("datatable--cursor").bgcolor

        def row_bg(painted: Cells, row: int) -> object:
            return painted[1 + row][1][1].bgcolor  # header line first; past the padding

        for tick, row in enumerate([1, 2, 0, 2], start=1):
            table.move_cursor(row=row)
            table.sync(rows(table, tick, names))
            await pilot.pause()
            painted = cells(table)
            assert row_bg(painted, row) == cursor_bg
            assert all(row_bg(painted, r) != cursor_bg for r in range(3) if r != row)
            assert painted == fresh(table)

        await pilot.hover(AgeTable, offset=(2, 2))  # the mouse over row b
        await pilot.pause()
        assert cells(table) == fresh(table)

        table.blur()
        await pilot.pause()
        assert cells(table) == fresh(table)

        table.set_columns(AgeTable.COLUMNS[::2])  # a narrow screen drops a column
        table.sync(rows(table, 9, names))
        await pilot.pause()
        assert [str(k.value) for k in table.columns] == ["name", "age"]
        painted = cells(table)
        assert painted == fresh(table)
        assert "".join(ch for ch, _ in painted[1]).split() == ["a", "9s"]


async def test_a_theme_change_repaints_the_tones() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        names = ["c", "a"]  # a is off the cursor, whose colours would win
        table = await started(pilot, names)
        table.sync(rows(table, 1, names, {"a": "error"}))
        await pilot.pause()
        dark = cells(table)
        assert dark == fresh(table)

        app.theme = "nord"
        await pilot.pause()
        table.sync(rows(table, 2, names, {"a": "error"}))  # cells carry their tone's style
        await pilot.pause()
        nord = cells(table)
        assert nord == fresh(table)
        error = table.get_component_rich_style("tone--error", partial=True)
        x = 8 + 3 * table.cell_padding  # the state column's first character
        for painted in (dark, nord):
            assert painted[2][x][0] == "u" and painted[2][x][1].bold
        assert nord[2][x][1].color == error.color != dark[2][x][1].color
        assert nord[0][1][1].bgcolor != dark[0][1][1].bgcolor  # the header's new theme


async def test_caches_stay_small_however_long_it_runs() -> None:
    """An age ticking each second used to fill DataTable's LRUs to their caps (~12 MB).

    Here ages tick, the cursor moves, rows reorder and a row comes and one goes each tick
    (as in the event log): what is cached stays a few renders per cell on screen.
    """
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = await started(pilot, [f"row{i}" for i in range(8)])
        table.focus()
        for tick in range(1, 301):
            names = [f"row{i}" for i in range(tick, tick + 8)]
            if tick % 7 == 0:
                names.reverse()
            table.sync(rows(table, tick, names))
            table.move_cursor(row=tick % 8)
            cells(table)
        lines = table.size.height
        assert len(table._line_cache) <= lines
        assert len(table._row_render_cache) <= lines
        assert len(table._row_renderable_cache) <= lines
        assert len(table._cell_render_cache) <= 1
        assert len(table._cell_draws) <= 4 * (lines + 1) * (len(table.columns) + 1) + 64
        assert cells(table) == fresh(table)


WORDS = ["", "a", "up", "9s", "finding 5.8s ago: no backup", "漢字", "a漢b", "✓ reporting", "🙂x"]


async def test_cells_are_drawn_as_datatable_draws_them() -> None:
    """`draw_text_cell` is a shortcut past rich's renderer: whatever the text, width,
    tone, cursor or hover, its segments are the ones DataTable's own path makes."""
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = await started(pilot, ["a", "b"])
        tones: list[Tone] = ["", "success", "warning", "error", "muted"]
        shortcuts = []

        @settings(max_examples=400, deadline=None, derandomize=True)
        @given(
            text=st.sampled_from(WORDS) | st.text(st.characters(codec="utf-8"), max_size=12),
            tone=st.sampled_from(tones),
            width=st.integers(0, 14),
            cursor=st.booleans(),
            hover=st.booleans(),
            pad=st.integers(0, 2),
        )
        def check(text: str, tone: Tone, width: int, cursor: bool, hover: bool, pad: int) -> None:
            table.cell_padding = pad
            cell = table.cell(text, tone)
            table._data[RowKey("b")][ColumnKey("state")] = cell
            table._clear_caches()
            base = Style(bgcolor="black")
            theirs = DataTable._render_cell(table, 1, 1, base, width, cursor, hover)
            ours = table._draw_text(cell, 1, 1, base, width, cursor, hover)
            if ours is not None:
                shortcuts.append(text)
                assert ours == theirs

        check()
        assert len(shortcuts) > 100  # the cells wider than their padding take it
        for text in ("a\tb", "a\nb", "\x1b[1m"):  # what rich's renderer must handle
            assert table._draw_text(table.cell(text), 1, 1, Style(), 9, False, False) is None
        assert table._draw_text(Text("plain"), 1, 1, Style(), 9, False, False) is None
