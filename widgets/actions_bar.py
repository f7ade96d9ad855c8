"""What the console is doing on the operator's behalf right now, and how to cancel it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from console.actions.progress import Progress
from widgets.backups import progress_text
from widgets.format import join, lines, styled
from widgets.panel import Line


@dataclass(frozen=True, slots=True)
class RunningAction:
    group: str  # the worker group: one action of each kind at a time
    label: str  # "backup of main", "acknowledge P0 database-down"
    progress: Progress | None = None
    cancel_key: str | None = None  # shown when the action can be cancelled
    cancelling: bool = False


class ActionsBar(Line):
    """Docked above the footer; hidden when idle (no spinner: text that changes with progress)."""

    DEFAULT_CSS = """
    ActionsBar { height: auto; max-height: 3; padding: 0 1; background: $boost; display: none; }
    ActionsBar.-busy { display: block; }
    """

    def show_running(self, running: Sequence[RunningAction]) -> None:
        self.set_class(bool(running), "-busy")
        rows = []
        for action in running:
            detail = progress_text(action.progress) if action.progress is not None else "working"
            hint = ""
            if action.cancelling:
                hint = "cancelling…"
            elif action.cancel_key:
                hint = f"{action.cancel_key} cancel"
            rows.append(
                join(
                    styled(f"▶ {action.label}", "warning", bold=True), detail, styled(hint, "muted")
                )
            )
        self.show(lines(*rows))
