"""The one thing every probe returns: a `ProbeResult`, never an exception."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

MetricValue = float | int | str | bool | None


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    DOWN = "down"
    UNKNOWN = "unknown"

    @property
    def evaluable(self) -> bool:
        """Whether metrics from a result with this status can resolve alerts."""
        return self not in (Status.DOWN, Status.UNKNOWN)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    name: str
    kind: str
    status: Status
    observed_at: float
    duration: float
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)
    # Structured extras for detail screens (query lists, per-table rows); never rule inputs.
    detail: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    # Metric names the probe could not see (missing privileges): shown as "limited view".
    unavailable: tuple[str, ...] = ()


class Probe(Protocol):
    """An async probe. `run` never raises except `asyncio.CancelledError`."""

    name: str
    kind: str
    interval: float
    timeout: float

    async def run(self) -> ProbeResult: ...

    async def close(self) -> None: ...


def one_line(error: BaseException | str) -> str:
    """An error as one short line for panels, logs and JSON."""
    text = error if isinstance(error, str) else (str(error) or type(error).__name__)
    first = " ".join(text.split())
    return first[:300]


def failure(
    name: str,
    kind: str,
    started: float,
    error: BaseException | str,
    status: Status = Status.DOWN,
    metrics: Mapping[str, MetricValue] | None = None,
) -> ProbeResult:
    """A result for a probe run that could not measure its target."""
    return ProbeResult(
        name=name,
        kind=kind,
        status=status,
        observed_at=time.time(),
        duration=time.monotonic() - started,
        metrics=dict(metrics or {}),
        error=one_line(error),
    )
