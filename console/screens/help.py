"""Every key, generated from the same keymap table the bindings and the palette come from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from widgets.format import styled


@dataclass(frozen=True, slots=True)
class HelpEntry:
    key: str  # as displayed ("?", "ctrl+p")
    description: str
    note: str = ""  # "refused: read-only", "demo only", ...


def help_text(entries: Sequence[HelpEntry]) -> Content:
    """One line an entry: the key right-aligned and bold, what it does, a muted note."""
    width = max((len(e.key) for e in entries), default=1)
    return Content("\n").join(
        Content.assemble(
            styled(entry.key.rjust(width), "", bold=True),
            "  ",
            entry.description,
            "  " if entry.note else "",
            styled(entry.note, "muted"),
        )
        for entry in entries
    )


class HelpScreen(ModalScreen[None]):
    """The key list in a dialog.

    Opaque (app.tcss), so showing it does not repaint the screen below through a tint,
    and one Static holds every line: the dialog composes four widgets however many keys.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="close"),
    ]

    def __init__(self, entries: Sequence[HelpEntry]) -> None:
        super().__init__(classes="dialog-screen")
        self.entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label("Keys", classes="dialog-title")
            with VerticalScroll():
                yield Static(help_text(self.entries), classes="help-rows")
            yield Label("Esc closes", classes="dialog-hint")
