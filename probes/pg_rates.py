"""Rates from cumulative server counters, and the recent peak of a row count.

PostgreSQL's statistics counters only grow, except when they are reset
(`pg_stat_reset()`, a crash, a restart after an immediate shutdown). A delta
across a reset is meaningless: negative, or, if the reset went unnoticed, the
whole history at once. So a delta is only taken between two samples of the same
*epoch* (stats_reset and postmaster start time), and a counter that went down
is skipped on its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

Counters = Mapping[str, float | None]


@dataclass(frozen=True, slots=True)
class Deltas:
    """Per-counter increases over `elapsed` seconds; None where no honest delta exists."""

    elapsed: float
    values: Mapping[str, float | None]

    def delta(self, name: str) -> float | None:
        return self.values.get(name)

    def rate(self, name: str) -> float | None:
        value = self.values.get(name)
        return None if value is None else value / self.elapsed


class CounterDeltas:
    """Remembers the previous sample of a group of counters that reset together."""

    def __init__(self) -> None:
        self._previous: tuple[float, Hashable, Counters] | None = None

    def update(self, at: float, epoch: Hashable, counters: Counters) -> Deltas | None:
        """Deltas since the previous sample, or None on the first sample and after a reset.

        `at` is monotonic seconds; `epoch` changes whenever the server's counters restarted.
        """
        previous, self._previous = self._previous, (at, epoch, dict(counters))
        if previous is None:
            return None
        before_at, before_epoch, before = previous
        elapsed = at - before_at
        if before_epoch != epoch or elapsed <= 0:
            return None
        values: dict[str, float | None] = {}
        for name, value in counters.items():
            old = before.get(name)
            values[name] = None if value is None or old is None or value < old else value - old
        return Deltas(elapsed, values)


class PeakWindow:
    """The maximum of a series over the last `window` seconds, in bounded memory.

    A monotonic queue: a sample older than the window, or smaller than a later
    one, can never be the peak again, so it is dropped. The queue holds at most
    one entry per sample inside the window.
    """

    def __init__(self, window: float) -> None:
        self._window = window
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, at: float, value: float) -> float:
        """Record `value` at monotonic time `at`; return the peak of the window."""
        while self._samples and self._samples[-1][1] <= value:
            self._samples.pop()
        self._samples.append((at, value))
        while self._samples[0][0] < at - self._window:
            self._samples.popleft()
        return self._samples[0][1]

    def __len__(self) -> int:
        return len(self._samples)


def drop_ratio(peak: float, current: float) -> float:
    """How far `current` is below `peak`, as a share of the peak (0 when not below)."""
    return (peak - current) / peak if peak > 0 and current < peak else 0.0
