"""A DataTable for live data: stable row keys, cell-level updates, the cursor kept on its row."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, cast

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist, RowKey

from widgets.format import Tone

if TYPE_CHECKING:
    from textual.css.styles import RenderStyles

Column = tuple[str, str, int]  # key, label, fixed width
Row = tuple[str, Sequence[Text]]  # row key, one cell per key of CELLS, in that order
Lines = list[list[Segment]]
# What a cell's render depends on besides its value: where it is, how wide, how drawn.
DrawKey = tuple[object, ...]
# Drawn states kept per cell (cursor on/off, hover, focus...) before they are dropped.
DRAWS_PER_CELL = 4


PLAIN = Style()  # an untoned cell's (Styles are immutable: one serves every cell)
# Characters rich's renderer treats specially (control codes, tabs, line breaks).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def draw_text_cell(text: Text, width: int, pad: int, pre: Style, post: Style) -> Lines | None:
    """The one line DataTable draws for a one-line cell, or None if `text` is not one.

    DataTable renders every cell through rich's general path (Styled(Padding(text))
    into console.render_lines): about 0.25 ms a cell here, and each second a dozen
    cells change. A cell made by `KeyedTable.cell` is one styled run of plain text,
    cut with an ellipsis, between padding: the same segments, built directly.
    tests/ui/test_keyed_table.py holds this to DataTable's own render.
    """
    plain = text.plain
    inner = width - 2 * pad
    if (
        inner < 1
        or text.spans
        or not text.no_wrap
        or text.overflow != "ellipsis"
        or text.justify is not None
        or text.end
        or not isinstance(text.style, Style)
        or _CONTROL.search(plain)
    ):
        return None
    if cell_len(plain) > inner:
        plain = set_cell_size(plain, inner - 1) + "…"
    edge = pre + post
    line = [Segment(" " * pad, edge)] if pad else []
    # rich drops the text's style from an empty text (its span is empty)
    line.append(Segment(plain, pre + text.style + post) if plain else Segment("", edge))
    fill = inner - cell_len(plain)
    if fill:
        line.append(Segment(" " * fill, edge))
    if pad:
        line.append(Segment(" " * pad, edge))
    return [line]


def same(old: Text, new: Text) -> bool:
    """Text's == compares text and spans only: a cell that changes tone alone (a theme
    change restyles every tone) is a changed cell too."""
    return old == new and old.style == new.style


class _PaintedStyles:
    """A component's styles for the length of one paint, its rich style worked out once.

    Everything else is read through from the styles themselves.
    """

    def __init__(self, styles: RenderStyles) -> None:
        self._styles = styles
        self.rich_style = styles.rich_style

    def __getattr__(self, name: str) -> object:
        return getattr(self._styles, name)


class KeyedTable(DataTable[Text]):
    """Subclasses set COLUMNS and call `sync` with the rows they want, in order.

    Rows are never cleared and re-added: a clear costs several times the CPU of
    keyed updates and throws the operator's cursor back to the first row. A row
    carries a cell for every key of `CELLS`; the table shows those of its current
    columns, so a narrow screen can drop columns without the rows changing shape.
    """

    COLUMNS: ClassVar[tuple[Column, ...]] = ()
    EXTRA: ClassVar[tuple[str, ...]] = ()  # cells for columns a subclass adds and sizes itself
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "tone--success",
        "tone--warning",
        "tone--error",
        "tone--muted",
    }
    DEFAULT_CSS = """
    KeyedTable { scrollbar-size-vertical: 1; }
    KeyedTable > .tone--success { color: $success; }
    KeyedTable > .tone--warning { color: $warning; }
    KeyedTable > .tone--error { color: $error; text-style: bold; }
    KeyedTable > .tone--muted { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        keys = [key for key, _, _ in self.COLUMNS] + list(self.EXTRA)
        self._cell_index = {key: i for i, key in enumerate(keys)}
        self._reselect: str | None = None
        self._tones: dict[str, tuple[object, Style]] = {}
        # DrawKey -> (the value drawn, its lines). See `_render_cell`.
        self._cell_draws: dict[DrawKey, tuple[object, Lines]] = {}
        # While render_lines runs: the widget's style and table options, read once a
        # paint instead of once a line or cell (each walks ancestors or reactives).
        self._paint: dict[str, object] | None = None

    def on_mount(self) -> None:
        self.set_columns(self.COLUMNS)
        self.add_extra_columns()

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Show `columns` (a subset of COLUMNS, in order); rows come back with the next sync.

        DataTable cannot insert a column between others, so a different set rebuilds
        the table: only a resize does this, never live data.
        """
        if [str(k.value) for k in self.columns] == [key for key, _, _ in columns]:
            return
        self._reselect = self.selected_key or self._reselect
        self.clear(columns=True)
        for key, label, width in columns:
            self.add_column(label, width=width, key=key)

    def add_extra_columns(self) -> None:
        """Columns a subclass sizes itself, after the fixed ones (none by default)."""

    def room(self, width: int) -> int:
        """What the fixed columns (with padding) and a vertical scrollbar leave of `width`."""
        pad = 2 * self.cell_padding
        return width - sum(w + pad for _, _, w in self.COLUMNS) - 1

    def set_tail(self, wanted: Sequence[Column]) -> None:
        """Make the EXTRA columns, after the fixed ones, `wanted`.

        Only a resize changes them, never live data; their cells come with the next sync.
        """
        current = [
            (str(k.value), c.width) for k, c in self.columns.items() if k.value in self.EXTRA
        ]
        if current == [(key, width) for key, _, width in wanted]:
            return
        for key, _ in current:
            self.remove_column(key)
        for key, label, width in wanted:
            self.add_column(label, width=width, key=key, default=self.cell(""))

    def cell(self, text: str, tone: Tone = "") -> Text:
        """A cell in a theme tone; plain text, so names with brackets are never markup."""
        return Text(text, style=self._tone_style(tone), no_wrap=True, overflow="ellipsis", end="")

    def _tone_style(self, tone: Tone) -> Style:
        """The tone's style, kept while its CSS is: every repaint empties Textual's own
        cache of component styles, and each frame builds a few hundred cells."""
        if not tone:
            return PLAIN
        name = f"tone--{tone}"
        source = self._component_styles.get(name)  # replaced whenever CSS is applied again
        kept = self._tones.get(name)
        if source is None:
            return self.get_component_rich_style(name, partial=True)
        if kept is None or kept[0] is not source:
            kept = self._tones[name] = (source, self.get_component_rich_style(name, partial=True))
        return kept[1]

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return key.value

    def select_key(self, key: str) -> bool:
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return False
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)
        return True

    def sync(self, rows: Sequence[Row]) -> None:
        """Make the table show `rows` in this order, touching only what changed.

        A changed cell repaints its own region only (DataTable's `update_cell` repaints
        the whole table); adding, removing or moving rows repaints the table.
        """
        selected = self.selected_key or self._reselect
        self._reselect = None
        wanted = {key for key, _ in rows}
        columns = [(str(key.value), self._cell_index[str(key.value)]) for key in self.columns]
        changed: list[tuple[str, str]] = []
        with self.app.batch_update():
            removed = [k for k in self.rows if k.value not in wanted]
            for row_key in removed:
                self.remove_row(row_key)
            added = False
            for key, cells in rows:
                if key not in self.rows:
                    self.add_row(*(cells[i] for _, i in columns), key=key)
                    added = True
                    continue
                data = self._data[RowKey(key)]
                for column, i in columns:
                    if not same(data[ColumnKey(column)], cells[i]):
                        # update_cell(), but for its refresh of the whole table
                        data[ColumnKey(column)] = cells[i]
                        changed.append((key, column))
            if changed:
                self._update_count += 1
            moved = self._reorder([key for key, _ in rows], columns[0][0] if columns else None)
            if changed:
                if removed or added or moved or self.fixed_rows or self.fixed_columns:
                    self.refresh()
                else:
                    self._refresh_cells(changed)
            if (removed or added or moved) and selected is not None and selected in wanted:
                self.select_key(selected)  # rows shifted under the cursor
            if changed or removed or added or moved:
                self._drop_stale_renders()

    def _refresh_cells(self, cells: Sequence[tuple[str, str]]) -> None:
        """Repaint just `cells` (row key, column key): one region per run of rows in a column."""
        y = self.header_height if self.show_header else 0
        tops: dict[str, tuple[int, int]] = {}
        for row in self.ordered_rows:
            tops[str(row.key.value)] = (y, row.height)
            y += row.height
        x = self._row_label_column_width
        lefts: dict[str, tuple[int, int]] = {}
        for column in self.ordered_columns:
            width = column.get_render_width(self)
            lefts[str(column.key.value)] = (x, width)
            x += width
        regions: list[Region] = []
        for left, width, top, height in sorted((*lefts[c], *tops[r]) for r, c in cells):
            last = regions[-1] if regions else None
            if last is not None and (last.x, last.width, last.bottom) == (left, width, top):
                regions[-1] = Region(left, last.y, width, last.height + height)
            else:
                regions.append(Region(left, top, width, height))
        for region in regions:
            self._refresh_region(region)  # skips what is scrolled out of view

    def _drop_stale_renders(self) -> None:
        """Forget DataTable's renders of the table before this sync: none can be used again.

        DataTable keys its cell, row and line caches by `_update_count`, which every
        changed cell bumps, so an age ticking each second leaves the whole table's
        renders unreachable every second. The LRU caps (10,000 cells, 1,000 rows and
        lines per table) only bound that garbage: ~12 MB a table. Clearing them holds
        only what the next paint renders; cursor moves and scrolling still hit. Cells
        are drawn from `_cell_draws`, which is bounded by its own limit.
        """
        self._cell_render_cache.clear()
        self._row_render_cache.clear()
        self._row_renderable_cache.clear()
        self._line_cache.clear()

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> Lines:
        """DataTable's render of a cell, reused while its value and drawing are unchanged.

        DataTable's own cache keys a cell by `_update_count`, so one changed cell (an
        age, each second) re-renders every cell of the table. Here the key is what the
        render depends on besides the value: position (the style carries row and column
        as meta), width, height, the row's style, cursor, hover, the widget's
        pseudo-classes and the table's options; the value is compared by identity
        (`sync` replaces a changed cell, never mutates one, and an entry holds its
        value, so the value's id cannot be reused). A changed value replaces its entry.
        Style changes (theme, CSS) and DataTable's own cache clears drop them all.
        """
        header = row_index == -1
        row_key = self._header_row_key if header else self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        value: object = None
        if header:
            column = self.columns.get(column_key) if column_key is not None else None
            value = None if column is None else column.label
            height = self.header_height
        else:
            row = self.rows.get(row_key) if row_key is not None else None
            if row is None:  # as DataTable: an error, not ours to draw
                return super()._render_cell(
                    row_index, column_index, base_style, width, cursor, hover
                )
            height = row.height
            if column_index == -1:
                value = row.label
            elif column_key is not None:
                value = self._data[row.key].get(column_key)
        key: DrawKey = (
            row_key,
            column_key,
            row_index,
            column_index,
            base_style,
            width,
            height,
            cursor,
            hover,
            self._draw_options(),
        )
        drawn = self._cell_draws.get(key)
        if drawn is not None and drawn[0] is value:
            return drawn[1]
        lines = None
        if column_index >= 0 and not header and height == 1 and isinstance(value, Text):
            lines = self._draw_text(
                value, row_index, column_index, base_style, width, cursor, hover
            )
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._cell_render_cache.clear()  # DataTable's copy, dead at the next changed cell
        if len(self._cell_draws) >= self._draws_limit():
            # Entries of rows gone or moved and of old cursor or hover states: past a
            # few per cell, start again from what is being painted.
            self._cell_draws.clear()
        self._cell_draws[key] = (value, lines)
        return lines

    def _draw_text(
        self,
        text: Text,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> Lines | None:
        """A body cell as DataTable's `_render_cell` draws it, by `draw_text_cell`."""
        if self.fixed_rows or self.fixed_columns:
            return None  # fixed cells have their own styles: DataTable's path
        component, post = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component
        return draw_text_cell(text, width, self.cell_padding, pre, post)

    def _draw_options(self) -> tuple[object, ...]:
        """The table's settings a cell's render depends on (read once a paint)."""
        paint = self._paint
        if paint is not None and "options" in paint:
            return paint["options"]  # type: ignore[return-value]
        options = (
            self.show_cursor,
            self._show_hover_cursor,
            self._pseudo_class_state,
            self.fixed_rows,
            self.fixed_columns,
            self.cell_padding,
            self.cursor_foreground_priority,
            self.cursor_background_priority,
        )
        if paint is not None:
            paint["options"] = options
        return options

    def _draws_limit(self) -> int:
        cells = (self.size.height + 1) * (len(self.columns) + 1)  # what one paint can draw
        return DRAWS_PER_CELL * cells + 64

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint = {}
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    @property
    def rich_style(self) -> Style:
        paint = self._paint
        if paint is None:
            return super().rich_style
        if "rich_style" not in paint:
            paint["rich_style"] = super().rich_style
        style = paint["rich_style"]
        assert isinstance(style, Style)
        return style

    @property
    def background_colors(self) -> tuple[Color, Color]:
        paint = self._paint
        if paint is None:
            return super().background_colors
        if "background_colors" not in paint:
            paint["background_colors"] = super().background_colors
        return paint["background_colors"]  # type: ignore[return-value]

    def get_component_styles(self, *names: str) -> RenderStyles:
        """While painting, one component's styles once: DataTable asks for the header's
        on every line it draws (used or not), and each ask merges styles and works out
        the rich style by walking every ancestor, about 40 % of a line's render."""
        paint = self._paint
        if paint is None:
            return super().get_component_styles(*names)
        key = f"component {names}"
        if key not in paint:
            paint[key] = _PaintedStyles(super().get_component_styles(*names))
        return cast("RenderStyles", paint[key])

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._cell_draws.clear()

    def notify_style_update(self) -> None:
        self._cell_draws.clear()
        super().notify_style_update()

    def _reorder(self, order: list[str], first_column: str | None) -> bool:
        """Put the rows in `order`; False if they were."""
        if first_column is None or [row.key.value for row in self.ordered_rows] == order:
            return False
        # DataTable.sort only hands the key function cell values, never row keys;
        # each row's first cell is its own object, so its identity names the row.
        rank = {id(self.get_cell(key, first_column)): i for i, key in enumerate(order)}
        self.sort(first_column, key=lambda cell: rank[id(cell)])
        return True
