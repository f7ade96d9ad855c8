"""The one thing every probe returns: a `ProbeResult`, never an exception."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    # Imported where used: console.config's package imports this module.
    from console.config.secret import Secret

MetricValue = float | int | str | bool | None
ONE_LINE_LIMIT = 300


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


def one_line(
    error: BaseException | str, secrets: Iterable[Secret] = (), limit: int = ONE_LINE_LIMIT
) -> str:
    """An error as one short line for panels, logs and JSON, `secrets` scrubbed.

    Scrubbed before it is shortened: a cut through a secret would leave a piece
    of it that no longer matches.
    """
    from console.config.secret import scrub

    text = error if isinstance(error, str) else (str(error) or type(error).__name__)
    return " ".join(scrub(text, secrets).split())[:limit]


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


def scrubbed(result: ProbeResult, secrets: Sequence[Secret]) -> ProbeResult:
    """`result` with every string in its error, metrics and detail scrubbed of `secrets`.

    The scheduler applies it to every result, so no probe's own care (or lack of
    it) decides whether a password reaches a panel, the store or `check --json`.
    The same object comes back when nothing needed scrubbing.
    """
    if not secrets:
        return result
    from console.config.secret import scrub

    def clean(text: str) -> str:
        return scrub(text, secrets)

    error = clean(result.error) if result.error else result.error
    metrics = _scrub_value(result.metrics, clean)
    detail = _scrub_value(result.detail, clean)
    if error == result.error and metrics is result.metrics and detail is result.detail:
        return result
    return replace(result, error=error, metrics=metrics, detail=detail)


def _scrub_value(value: Any, clean: Callable[[str], str]) -> Any:
    """Strings cleaned inside mappings, lists and tuples; the same object if unchanged."""
    if isinstance(value, str):
        cleaned = clean(value)
        return value if cleaned == value else cleaned
    if isinstance(value, Mapping):
        items = {key: _scrub_value(item, clean) for key, item in value.items()}
        keys = {key: _scrub_value(key, clean) for key in items if isinstance(key, str)}
        if all(items[k] is value[k] for k in items) and all(keys[k] is k for k in keys):
            return value
        return {keys.get(k, k): v for k, v in items.items()}
    if isinstance(value, list | tuple):
        parts = [_scrub_value(item, clean) for item in value]
        if all(new is old for new, old in zip(parts, value, strict=True)):
            return value
        return tuple(parts) if isinstance(value, tuple) else parts
    return value
