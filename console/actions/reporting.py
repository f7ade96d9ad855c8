"""Progress reporting for long actions: phase changes always, byte counts at most ~10 per second."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from console.actions.progress import Phase, Progress, ProgressCallback
from console.config.secret import Secret
from probes.result import one_line as _one_line

_INTERVAL = 0.1


class Reporter:
    def __init__(
        self,
        action: Literal["backup", "drill"],
        callback: ProgressCallback,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._action: Literal["backup", "drill"] = action
        self._callback = callback
        self._clock = clock
        self._started = clock()
        self._last = float("-inf")
        self._phase: Phase = "prepare"
        self._total: int | None = None
        self._done = 0

    def elapsed(self) -> float:
        return self._clock() - self._started

    def phase(self, phase: Phase, message: str = "", total: int | None = None) -> None:
        self._phase, self._total, self._done = phase, total, 0
        self._emit(message)

    def bytes(self, done: int) -> None:
        """Called per chunk; forwards only when the last report is older than the interval."""
        self._done = done
        if self._clock() - self._last >= _INTERVAL:
            self._emit("")

    def _emit(self, message: str) -> None:
        self._last = self._clock()
        self._callback(
            Progress(self._action, self._phase, self._done, self._total, self.elapsed(), message)
        )


def one_line(exc: BaseException | str, secrets: list[Secret]) -> str:
    """An exception as one short, secret-free line for the operator."""
    return _one_line(exc, secrets, limit=400)


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
