"""The key footer: the screen's shown bindings on one line, drawn as one widget.

Textual's Footer is a container of one widget per key that it rebuilds (mount, CSS,
layout) whenever the bindings change, including on screens that are hidden: that was
a tenth of a second of the console's start-up and the slow tail of opening a screen.
This draws the same line from `screen.active_bindings` (the binding table the help
screen and the palette read too) and repaints only when the line changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget


@dataclass(frozen=True, slots=True)
class FooterKey:
    key: str  # what a click presses
    display: str
    description: str
    enabled: bool


def footer_keys(screen: Screen[object], palette_binding: str | None) -> list[FooterKey]:
    """The bindings a footer shows, one per action, in binding order; the palette last."""
    keys: list[FooterKey] = []
    actions: set[str] = set()
    palette: FooterKey | None = None
    for key, active in screen.active_bindings.items():
        binding: Binding = active.binding
        item = FooterKey(
            binding.key, screen.app.get_key_display(binding), binding.description, active.enabled
        )
        if key == palette_binding:
            palette = item
        elif binding.show and binding.action not in actions:
            actions.add(binding.action)
            keys.append(item)
    return keys + ([palette] if palette is not None else [])


def layout_keys(keys: list[FooterKey], width: int) -> list[tuple[int, FooterKey]]:
    """(column, key) of each key that fits whole in `width`; the palette key (last) is
    kept at the right edge when there is room for it, the others drop from the end."""
    placed: list[tuple[int, FooterKey]] = []
    if not keys:
        return placed
    *others, last = keys
    right = width - _cells(last)
    column = 0
    for item in others:
        if column + _cells(item) > right:
            break
        placed.append((column, item))
        column += _cells(item)
    if right >= column:
        placed.append((right, last))
    return placed


def _cells(item: FooterKey) -> int:
    # " key description " (Textual's footer spacing); " key " alone without a description
    return cell_len(item.display) + 2 + (cell_len(item.description) + 1 if item.description else 0)


class KeyFooter(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-footer--key", "key-footer--description"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: list[FooterKey] = []
        self._placed: list[tuple[int, FooterKey]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        palette = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        keys = footer_keys(screen, palette)
        if keys != self._keys:
            self._keys = keys
            self.refresh()

    def render(self) -> Content:
        key_style = self.get_visual_style("key-footer--key")
        text_style = self.get_visual_style("key-footer--description")
        self._placed = layout_keys(self._keys, self.size.width)
        parts: list[Content] = []
        column = 0
        for start, item in self._placed:
            parts.append(Content(" " * (start - column)))
            key = Content.styled(f" {item.display} ", key_style)
            text = Content.styled(f"{item.description} " if item.description else "", text_style)
            part = key + text
            parts.append(part if item.enabled else part.stylize("dim"))
            column = start + _cells(item)
        return Content("").join(parts)

    def on_click(self, event: events.Click) -> None:
        for start, item in self._placed:
            if start <= event.x < start + _cells(item):
                event.stop()
                if item.enabled:
                    self.app.simulate_key(item.key)
                else:
                    self.app.bell()
                return
