"""Bindings from the keymap table (console/keymap.py), the one source of keys.

Classes declare their bindings with the table's default keys and ids; the main
screen applies the operator's `[keys]` to its bindings once (`binding_keymap`).
Each mutating action has a hidden twin on the same key that only fires in
read-only mode, so the key is refused out loud (a toast) instead of silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding

from console.keymap import ACTIONS, Action

# Handled as the key arrives, before the focused widget sees it: enter must beat a
# DataTable's own, and keys typed right after `/` must land in the filter input.
# check_action lets both through to a focused Input.
PRIORITY = frozenset({"details", "filter"})

# Keys that are not operator actions, for the help screen.
CANCEL_KEY = "x"


def refused_id(action_id: str) -> str:
    return f"{action_id}-refused"


def table_bindings(ids: Iterable[str]) -> list[Binding]:
    bindings: list[Binding] = []
    for action_id in ids:
        action = ACTIONS[action_id]
        bindings.append(
            Binding(
                action.key,
                action.id,
                action.description,
                id=action.id,
                priority=action.id in PRIORITY,
            )
        )
        if action.mutating:
            bindings.append(
                Binding(
                    action.key,
                    f"refuse('{action.id}')",
                    action.description,
                    show=False,
                    id=refused_id(action.id),
                )
            )
    return bindings


def binding_keymap(actions: Mapping[str, Action]) -> dict[str, str]:
    """Textual keymap (binding id -> keys) for the operator's keymap."""
    keys = {a.id: a.key for a in actions.values()}
    keys.update({refused_id(a.id): a.key for a in actions.values() if a.mutating})
    return keys
