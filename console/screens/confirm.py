"""The one confirmation dialog: names its target, defaults to Cancel, can demand typing a name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from console.screens.base import configure_inputs


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only on an explicit confirm; Enter on the default button cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(
        self,
        title: str,
        body: Sequence[Content | str],
        *,
        confirm: str = "Confirm",
        type_to_confirm: str | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.body = body
        self.confirm_label = confirm
        self.type_to_confirm = type_to_confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            for line in self.body:
                yield Static(line, classes="dialog-body")
            if self.type_to_confirm is not None:
                yield Label(f"Type {self.type_to_confirm} to confirm:")
                yield Input(placeholder=self.type_to_confirm, id="typed")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error",
                    disabled=self.type_to_confirm is not None,
                )

    def on_mount(self) -> None:
        configure_inputs(self)
        target = "#typed" if self.type_to_confirm is not None else "#cancel"
        self.query_one(target).focus()

    def _typed_ok(self, value: str) -> bool:
        return self.type_to_confirm is None or value.strip() == self.type_to_confirm

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = not self._typed_ok(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._typed_ok(event.value):
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)
