"""Action ids and their default keys: the one table the footer, help and palette come from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    key: str
    description: str
    mutating: bool = False  # refused in --read-only


_ACTIONS: tuple[Action, ...] = (
    Action("acknowledge", "a", "Acknowledge", mutating=True),
    Action("unacknowledge", "u", "Unacknowledge", mutating=True),
    Action("silence", "s", "Silence", mutating=True),
    Action("backup", "b", "Backup now", mutating=True),
    Action("drill", "R", "Restore drill", mutating=True),
    Action("details", "enter", "Details"),
    Action("filter", "slash", "Filter"),
    Action("checklist", "c", "Checklist"),
    Action("log", "l", "Event log"),
    Action("pause", "p", "Pause"),
    Action("refresh", "r", "Refresh now"),
    Action("zoom", "z", "Zoom panel"),
    Action("help", "question_mark", "Help"),
    Action("quit", "q", "Quit"),
)

ACTIONS: Mapping[str, Action] = {a.id: a for a in _ACTIONS}


def keymap(overrides: Mapping[str, str]) -> dict[str, Action]:
    """Actions with the operator's `[keys]` applied."""
    return {
        a.id: Action(a.id, overrides.get(a.id, a.key), a.description, a.mutating) for a in _ACTIONS
    }
