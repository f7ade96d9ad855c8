"""Command palette: every action of the keymap table, and a jump to every probe."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from console.app import WarroomApp


class WarroomCommands(Provider):
    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        from console.screens.main import MainScreen

        app = cast("WarroomApp", self.app)
        screen = self.screen
        if not isinstance(screen, MainScreen):
            return []
        commands: list[tuple[str, str, Callable[[], Any]]] = []
        for action in app.keys.values():
            if action.mutating and app.read_only:
                continue  # read-only hides them here as in the footer
            key = app.key_display(action.key)
            commands.append(
                (action.description, f"key {key}", partial(app.run_action, action.id, screen))
            )
        for name, kind in app.config.probe_kinds().items():
            commands.append((f"Go to {name}", f"{kind} probe panel", partial(screen.jump_to, name)))
        return commands

    async def discover(self) -> Hits:
        for title, help_text, command in self._commands():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, help=help_text)
