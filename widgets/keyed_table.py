"""A DataTable for live data: stable row keys, cell-level updates, the cursor kept on its row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from widgets.format import Tone

Column = tuple[str, str, int]  # key, label, fixed width
Row = tuple[str, Sequence[Text]]  # row key, one cell per key of CELLS, in that order


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
        style = self.get_component_rich_style(f"tone--{tone}", partial=True) if tone else Style()
        return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")

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
        self.move_cursor(row=index, animate=False)
        return True

    def sync(self, rows: Sequence[Row]) -> None:
        """Make the table show `rows` in this order, touching only what changed."""
        selected = self.selected_key or self._reselect
        self._reselect = None
        wanted = {key for key, _ in rows}
        columns = [(str(key.value), self._cell_index[str(key.value)]) for key in self.columns]
        updates = self._update_count
        with self.app.batch_update():
            for row_key in [k for k in self.rows if k.value not in wanted]:
                self.remove_row(row_key)
            for key, cells in rows:
                if key not in self.rows:
                    self.add_row(*(cells[i] for _, i in columns), key=key)
                    continue
                for column, i in columns:
                    if self.get_cell(key, column) != cells[i]:
                        self.update_cell(key, column, cells[i])
            self._reorder([key for key, _ in rows], columns[0][0] if columns else None)
            if selected is not None and selected in wanted:
                self.select_key(selected)
            if self._update_count != updates:
                self._drop_stale_renders()

    def _drop_stale_renders(self) -> None:
        """Forget renders of the table before this sync: none can be used again.

        DataTable keys its cell, row and line caches by `_update_count`, which every
        changed cell bumps, so an age ticking each second leaves the whole table's
        renders unreachable every second. The LRU caps (10,000 cells, 1,000 rows and
        lines per table) only bound that garbage: ~12 MB a table. Clearing them holds
        only what the next paint renders; cursor moves and scrolling still hit.
        """
        self._cell_render_cache.clear()
        self._row_render_cache.clear()
        self._row_renderable_cache.clear()
        self._line_cache.clear()

    def _reorder(self, order: list[str], first_column: str | None) -> None:
        if first_column is None or [row.key.value for row in self.ordered_rows] == order:
            return
        # DataTable.sort only hands the key function cell values, never row keys;
        # each row's first cell is its own object, so its identity names the row.
        rank = {id(self.get_cell(key, first_column)): i for i, key in enumerate(order)}
        self.sort(first_column, key=lambda cell: rank[id(cell)])
