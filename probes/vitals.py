"""Core Web Vitals: the p75 of each vital over a window, against the plan's thresholds.

Two sources, one result shape:

- SQL over the analytics events table: one aggregate query, `percentile_cont(0.75)`
  per event name. It reads the name, value and time columns and nothing else: no
  session, user or properties column is ever selected (privacy by design).
- A JSON endpoint answering `{"lcp": {"p75": 2710.5, "samples": 240}, ...}`: timings in
  milliseconds as web-vitals reports them, CLS as a score; missing vitals or a null
  `p75` mean "no data"; other keys are ignored.

Metrics follow the contract's units: timing vitals in seconds, CLS unitless.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from console.config.model import TIMING_VITALS, VITALS, VitalsConfig
from probes.api_json import decoded, fetch
from probes.http_wire import WireClient
from probes.result import MetricValue, ProbeResult, Status
from probes.sources import Measurement, SourceError, SqlSource, events_sql, measure

SERVICE = "the vitals endpoint"
# Samples of one vital: (p75 in the source's unit, or None; number of samples).
Samples = dict[str, tuple[float | None, int]]

_QUERY = """
SELECT {name}, count({value}), percentile_cont(0.75) WITHIN GROUP (ORDER BY {value})
FROM {table}
WHERE {name} = ANY(%(names)s)
  AND {time} >= now() - make_interval(secs => %(window)s)
GROUP BY {name}
"""


class VitalsProbe:
    kind = "vitals"

    def __init__(self, config: VitalsConfig, client: WireClient | None = None) -> None:
        self.name = config.name
        self.interval = float(config.interval)
        self.timeout = float(config.timeout)
        self._config = config
        self._client = client
        self._sql = SqlSource(config.dsn, self.timeout) if config.dsn else None
        self._query = events_sql(_QUERY, config, value=config.value_column)
        self._headers = {key: value.reveal() for key, value in config.headers.items()}

    async def run(self) -> ProbeResult:
        return await measure(self.name, self.kind, self._measure)

    async def close(self) -> None:
        # The HTTP client is shared; its owner closes it.
        if self._sql is not None:
            await self._sql.close()

    async def _measure(self) -> Measurement:
        if self._sql is not None:
            samples = await self._from_sql(self._sql)
            vitals = tuple(self._config.events)
        else:
            samples = await self._from_url()
            vitals = VITALS
        return _measurement(self._config, vitals, samples)

    async def _from_sql(self, source: SqlSource) -> Samples:
        by_event = {event: vital for vital, event in self._config.events.items()}
        rows = await source.fetch(
            self._query,
            {"names": list(by_event), "window": float(self._config.window)},
        )
        return {by_event[event]: (p75, int(count)) for event, count, p75 in rows}

    async def _from_url(self) -> Samples:
        if self._client is None or self._config.url is None:
            raise SourceError("no HTTP client for the vitals endpoint")  # a wiring bug
        response = await fetch(
            self._client,
            self._config.url,
            service=SERVICE,
            headers=self._headers,
            timeout=self.timeout,
            secrets=list(self._config.headers.values()),
        )
        return _parse(decoded(response, SERVICE))


def _parse(body: Any) -> Samples:
    if not isinstance(body, dict):
        raise _malformed("not an object")
    samples: Samples = {}
    for vital in VITALS:
        entry = body.get(vital)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise _malformed(f"{vital} is not an object")
        p75, count = entry.get("p75"), entry.get("samples")
        if (p75 is not None and not _number(p75)) or not _count(count):
            raise _malformed(f'{vital} needs "p75" (a number or null) and "samples" (a count)')
        samples[vital] = (None if p75 is None else float(p75), count)
    return samples


def _measurement(config: VitalsConfig, vitals: tuple[str, ...], samples: Samples) -> Measurement:
    metrics: dict[str, MetricValue] = {"up": True, "min_samples": config.min_samples}
    rows = []
    for vital in vitals:
        threshold = config.thresholds.of(vital)
        raw, count = samples.get(vital, (None, 0))
        metrics[f"{vital}_threshold"] = threshold
        metrics[f"{vital}_samples"] = count
        p75: float | None = None
        if raw is not None and count > 0:
            # Sources report timings in milliseconds; the contract's unit is seconds.
            p75 = raw / 1000 if vital in TIMING_VITALS else raw
            metrics[f"{vital}_p75"] = p75
        rows.append(
            {
                "vital": vital,
                "p75": p75,
                "threshold": threshold,
                "samples": count,
                "rating": _rating(p75, threshold, count, config.min_samples),
            }
        )
    metrics["samples"] = sum(count for _, count in samples.values())
    source = "sql" if config.dsn else "http"
    return Measurement(metrics, {"vitals": rows, "window": float(config.window), "source": source})


def _rating(p75: float | None, threshold: float, count: int, min_samples: int) -> str:
    """For panels: "good", "poor", "few samples" (rules do not judge it) or "no data"."""
    if p75 is None:
        return "no data"
    if count < min_samples:
        return "few samples"
    return "poor" if p75 > threshold else "good"


def _malformed(why: str) -> SourceError:
    return SourceError(f"malformed vitals response: {why}", Status.UNKNOWN)


def _number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
