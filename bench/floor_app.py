"""The least a Textual console with database data can do: the stack's first-frame floor.

    WARROOM_DB_DSN=postgresql://... .venv/bin/python bench/floor_app.py

Imports what any console on the same stack must (Textual, psycopg), opens one
connection, times one `SELECT 1` and shows it as `floor ✓ UP rtt 1.2 ms` in a single
widget. console_speed.py launches it like the consoles, so its first data frame is
the part of theirs that no code of theirs can remove.
"""

from __future__ import annotations

import os
import time

import psycopg
from textual.app import App, ComposeResult
from textual.widgets import Static


class Floor(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("floor: connecting", id="status")

    async def on_mount(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            os.environ["WARROOM_DB_DSN"], autocommit=True
        ) as conn:
            start = time.perf_counter()
            await conn.execute("SELECT 1")
            rtt = (time.perf_counter() - start) * 1000
        self.query_one("#status", Static).update(f"floor ✓ UP rtt {rtt:.1f} ms")


if __name__ == "__main__":
    Floor().run()
