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
Row = tuple[str, Sequence[Text]]  # row key, one cell per column


class KeyedTable(DataTable[Text]):
    """Subclasses set COLUMNS and call `sync` with the rows they want, in order.

    Rows are never cleared and re-added: a clear costs several times the CPU of
    keyed updates and throws the operator's cursor back to the first row.
    """

    COLUMNS: ClassVar[tuple[Column, ...]] = ()
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

    def on_mount(self) -> None:
        for key, label, width in self.COLUMNS:
            self.add_column(label, width=width, key=key)
        self.add_extra_columns()

    def add_extra_columns(self) -> None:
        """Columns a subclass sizes itself, after the fixed ones (none by default)."""

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
        selected = self.selected_key
        wanted = {key for key, _ in rows}
        columns = [str(key.value) for key in self.columns]
        with self.app.batch_update():
            for row_key in [k for k in self.rows if k.value not in wanted]:
                self.remove_row(row_key)
            for key, cells in rows:
                if key not in self.rows:
                    self.add_row(*cells[: len(columns)], key=key)
                    continue
                for column, cell in zip(columns, cells, strict=False):
                    if self.get_cell(key, column) != cell:
                        self.update_cell(key, column, cell)
            self._reorder([key for key, _ in rows], columns[0] if columns else None)
            if selected is not None and selected in wanted:
                self.select_key(selected)

    def _reorder(self, order: list[str], first_column: str | None) -> None:
        if first_column is None or [row.key.value for row in self.ordered_rows] == order:
            return
        # DataTable.sort only hands the key function cell values, never row keys;
        # each row's first cell is its own object, so its identity names the row.
        rank = {id(self.get_cell(key, first_column)): i for i, key in enumerate(order)}
        self.sort(first_column, key=lambda cell: rank[id(cell)])
