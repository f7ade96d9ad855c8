"""Progress reports from long actions, and the cancel signal they honour."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Phase = Literal[
    "prepare",
    "dump",
    "upload",
    "verify",
    "retention",
    "download",
    "restore",
    "check",
    "cleanup",
    "done",
]


@dataclass(frozen=True, slots=True)
class Progress:
    action: Literal["backup", "drill"]
    phase: Phase
    bytes_done: int
    bytes_total: int | None  # None when unknown (a stream)
    elapsed: float  # seconds since the action started
    message: str = ""

    @property
    def rate(self) -> float:
        """Bytes per second so far."""
        return self.bytes_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def fraction(self) -> float | None:
        if not self.bytes_total:
            return None
        return min(1.0, self.bytes_done / self.bytes_total)


ProgressCallback = Callable[[Progress], None]


class Cancelled(Exception):
    """The operator cancelled the action; everything it started has been undone."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the operator")
