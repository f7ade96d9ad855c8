"""Bounded per-probe history for sparklines and detail charts. Pure: no I/O, no Textual.

Each probe keeps a ring of `(observed_at, metrics)` covering the configured window
(`[console].history`, 1 h by default). Samples older than the window are dropped as
new ones arrive, and a hard cap on points bounds memory even if a probe is
triggered far more often than its interval, so memory never grows with uptime.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from console.clock import Clock, SystemClock
from probes.result import MetricValue, ProbeResult

Sample = tuple[float, Mapping[str, MetricValue]]

# One sample a second for an hour: far above any sane probe rate.
DEFAULT_MAX_POINTS = 3600


class History:
    def __init__(
        self,
        window: float = 3600.0,
        *,
        max_points: int = DEFAULT_MAX_POINTS,
        clock: Clock | None = None,
    ) -> None:
        if window <= 0 or max_points <= 0:
            raise ValueError("history window and max_points must be positive")
        self.span = window
        self._max_points = max_points
        self._clock = clock or SystemClock()
        self._samples: dict[str, deque[Sample]] = {}

    def add(self, result: ProbeResult) -> None:
        # The result's metrics mapping is shared, not copied: results are immutable.
        samples = self._samples.get(result.name)
        if samples is None:
            samples = self._samples[result.name] = deque(maxlen=self._max_points)
        samples.append((result.observed_at, result.metrics))
        horizon = result.observed_at - self.span
        while samples and samples[0][0] < horizon:
            samples.popleft()

    def latest(self, probe: str) -> Sample | None:
        samples = self._samples.get(probe)
        return samples[-1] if samples else None

    def series(self, probe: str, metric: str, points: int) -> list[float]:
        """The last `points` numeric values of a metric, oldest first (a sparkline's data)."""
        if points <= 0:
            return []
        found: list[float] = []
        for _, metrics in reversed(self._samples.get(probe, ())):
            value = _number(metrics.get(metric))
            if value is not None:
                found.append(value)
                if len(found) == points:
                    break
        found.reverse()
        return found

    def window(self, probe: str, metric: str, seconds: float) -> list[float]:
        """Numeric values of a metric observed in the last `seconds`, oldest first."""
        horizon = self._clock.now() - seconds
        found: list[float] = []
        for observed_at, metrics in reversed(self._samples.get(probe, ())):
            if observed_at < horizon:
                break
            value = _number(metrics.get(metric))
            if value is not None:
                found.append(value)
        found.reverse()
        return found

    def points(self, probe: str) -> int:
        return len(self._samples.get(probe, ()))


def _number(value: MetricValue) -> float | None:
    """Numbers and booleans (as 0/1, for `up` sparklines); strings and None are gaps."""
    if value is None or isinstance(value, str):
        return None
    return float(value)
