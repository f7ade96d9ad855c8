"""Silence matching alerts: matcher prefilled from the selected alert, a duration, a comment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from console.alerts.model import Matcher
from console.config.durations import DurationError, format_duration, parse_duration
from console.screens.base import configure_inputs

_FIELDS = (
    ("rule", "rule (or *)"),
    ("probe", "probe (or *)"),
    ("severity", "severity (or *)"),
    ("duration", "duration, e.g. 30m, 2h"),
    ("comment", "why (required)"),
)


@dataclass(frozen=True, slots=True)
class SilenceRequest:
    matcher: Matcher
    duration: float
    comment: str


def parse_request(values: dict[str, str]) -> SilenceRequest | str:
    """The request, or the one-line reason it cannot be made."""
    matcher = Matcher(
        rule=values["rule"].strip() or "*",
        probe=values["probe"].strip() or "*",
        severity=values["severity"].strip() or "*",
    )
    if matcher == Matcher():
        return "a silence must name a rule, a probe or a severity"
    if matcher.severity not in ("*", "P0", "P1", "P2"):
        return "severity is P0, P1, P2 or *"
    try:
        duration = parse_duration(values["duration"].strip())
    except DurationError as exc:
        return str(exc)
    if duration <= 0:
        return "duration must be more than 0"
    comment = values["comment"].strip()
    if not comment:
        return "a comment is required: say why"
    return SilenceRequest(matcher, duration, comment)


class SilenceScreen(ModalScreen[SilenceRequest | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(self, matcher: Matcher, *, duration: float = 3600.0) -> None:
        super().__init__(classes="dialog-screen")
        self.matcher = matcher
        self.duration = duration

    def compose(self) -> ComposeResult:
        initial = {
            "rule": self.matcher.rule,
            "probe": self.matcher.probe,
            "severity": self.matcher.severity,
            "duration": format_duration(self.duration),
            "comment": "",
        }
        with Vertical(classes="dialog"):
            yield Label("Silence notifications", classes="dialog-title")
            for name, placeholder in _FIELDS:
                with Horizontal(classes="dialog-field"):
                    yield Label(f"{name:>9}", classes="field-label")
                    yield Input(initial[name], placeholder=placeholder, id=name, compact=True)
            yield Label("", id="problem", classes="dialog-problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Silence", id="confirm", variant="warning")

    def on_mount(self) -> None:
        configure_inputs(self)
        self.query_one("#comment").focus()

    def _submit(self) -> None:
        values = {name: self.query_one(f"#{name}", Input).value for name, _ in _FIELDS}
        result = parse_request(values)
        if isinstance(result, str):
            self.query_one("#problem", Label).update(f"✗ {result}")
            return
        self.dismiss(result)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
