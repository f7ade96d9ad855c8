"""Demo-only fault keys: break the embedded stack on purpose and watch the console react.

DemoControl's methods block (they talk to the stack's supervisor), so each runs
in a thread worker; the outcome is a toast and a line in the event log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol

from textual.binding import Binding, BindingType

from console.screens.base import LiveScreen

SLOW_API_MS = 6000


class DemoControl(Protocol):
    """What the console needs of console.demo.stack.DemoControl."""

    def stop_database(self) -> None: ...
    def start_database(self) -> None: ...
    def database_running(self) -> bool: ...
    def set_api_latency(self, ms: int) -> None: ...
    def burst_errors(self, n: int = 200) -> None: ...
    def delete_rows(self, table: str = "soul_memories", fraction: float = 0.3) -> int: ...
    def reset(self) -> None: ...


# key, action, footer description
DEMO_KEYS: tuple[tuple[str, str, str], ...] = (
    ("1", "demo_database", "DB stop/start"),
    ("2", "demo_slow_api", "Slow API"),
    ("3", "demo_errors", "Error burst"),
    ("4", "demo_delete_rows", "Delete rows"),
    ("0", "demo_reset", "Reset faults"),
)


class DemoFaults(LiveScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, action, description, id=action) for key, action, description in DEMO_KEYS
    ]

    def _fault(self, action: str, label: str, work: Callable[[DemoControl], str]) -> None:
        demo = self.warroom.demo
        if demo is not None:
            self.warroom.start_thread_action(action, f"demo: {label}", lambda: work(demo))

    def action_demo_database(self) -> None:
        def toggle(demo: DemoControl) -> str:
            if demo.database_running():
                demo.stop_database()
                return "database stopped"
            demo.start_database()
            return "database started"

        self._fault("demo_database", "database stop/start", toggle)

    def action_demo_slow_api(self) -> None:
        # The toggle is the console's own state; flip it here, on the event loop.
        slow = self.warroom.demo_slow_api = not self.warroom.demo_slow_api
        ms = SLOW_API_MS if slow else 0

        def apply(demo: DemoControl) -> str:
            demo.set_api_latency(ms)
            return f"API latency set to {ms} ms" if ms else "API latency back to normal"

        self._fault("demo_slow_api", "slow API", apply)

    def action_demo_errors(self) -> None:
        def burst(demo: DemoControl) -> str:
            demo.burst_errors(200)
            return "sent a burst of 200 errors"

        self._fault("demo_errors", "error burst", burst)

    def action_demo_delete_rows(self) -> None:
        def delete(demo: DemoControl) -> str:
            deleted = demo.delete_rows("soul_memories", 0.3)
            return f"deleted {deleted} rows (30%) from soul_memories"

        self._fault("demo_delete_rows", "delete rows", delete)

    def action_demo_reset(self) -> None:
        def reset(demo: DemoControl) -> str:
            demo.reset()
            return "faults reset: database running, API normal"

        self.warroom.demo_slow_api = False
        self._fault("demo_reset", "reset", reset)
