"""Scripted probes: deterministic results for Monitor, agent and UI tests."""

from __future__ import annotations

from collections.abc import Mapping

from console.clock import Clock
from probes.result import MetricValue, ProbeResult, Status


class ScriptedProbe:
    """Returns whatever the test set last; `set()` changes the world between runs."""

    def __init__(
        self,
        name: str,
        kind: str,
        clock: Clock,
        metrics: Mapping[str, MetricValue] | None = None,
        *,
        interval: float = 3600.0,
        timeout: float = 5.0,
    ) -> None:
        self.name = name
        self.kind = kind
        self.interval = interval
        self.timeout = timeout
        self.clock = clock
        self.runs = 0
        self.closed = False
        self._status = Status.OK
        self._metrics: dict[str, MetricValue] = {"up": True, **(metrics or {})}
        self._error: str | None = None

    def set(
        self,
        status: Status = Status.OK,
        error: str | None = None,
        **metrics: MetricValue,
    ) -> None:
        self._status, self._error = status, error
        if status in (Status.DOWN, Status.UNKNOWN):
            self._metrics = {"up": False}
        else:
            self._metrics = {"up": True, **{k: v for k, v in self._metrics.items() if k != "up"}}
        self._metrics.update(metrics)

    async def run(self) -> ProbeResult:
        self.runs += 1
        return ProbeResult(
            name=self.name,
            kind=self.kind,
            status=self._status,
            observed_at=self.clock.now(),
            duration=0.004,
            metrics=dict(self._metrics),
            error=self._error,
        )

    async def close(self) -> None:
        self.closed = True
