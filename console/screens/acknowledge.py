"""Acknowledge an alert, with an optional note."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from console.alerts.model import Occurrence
from console.screens.base import configure_inputs


class AcknowledgeScreen(ModalScreen[str | None]):
    """Dismisses with the note ("" for none), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(self, alert: Occurrence) -> None:
        super().__init__(classes="dialog-screen")
        self.alert = alert

    def compose(self) -> ComposeResult:
        alert = self.alert
        with Vertical(classes="dialog"):
            yield Label(
                f"Acknowledge {alert.severity} {alert.rule} on {alert.probe}",
                classes="dialog-title",
            )
            yield Static(alert.summary, classes="dialog-body", markup=False)
            yield Input(placeholder="note (optional)", id="note")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Acknowledge", id="confirm", variant="primary")

    def on_mount(self) -> None:
        configure_inputs(self)
        self.query_one("#note").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm":
            self.dismiss(self.query_one("#note", Input).value.strip())
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
