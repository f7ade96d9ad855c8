"""The journey funnel: events per step in the window and the window before, and conversions.

One aggregate query counts each step's events in [now - window, now) and in the
previous window [now - 2*window, now - window). It reads the name and time columns
only: no session, user or properties column, and no row leaves the database.

- `step<N>_conversion` = step N's count / step N-1's (N >= 2): step-to-step, so a
  broken CTA shows at the step it breaks, not diluted over the whole funnel.
- `max_conversion_drop` is the largest relative fall of a step conversion against the
  previous window, `1 - now / before`, over steps whose denominator had at least
  `min_events` in both windows; absent when no step qualifies (too quiet to judge).
"""

from __future__ import annotations

from typing import Any

from console.config.model import FunnelConfig
from probes.result import MetricValue, ProbeResult
from probes.sources import Measurement, SqlSource, events_sql, measure

_QUERY = """
SELECT {name},
       count(*) FILTER (WHERE {time} >= now() - make_interval(secs => %(window)s)),
       count(*) FILTER (WHERE {time} < now() - make_interval(secs => %(window)s))
FROM {table}
WHERE {name} = ANY(%(steps)s)
  AND {time} >= now() - make_interval(secs => %(window)s * 2)
GROUP BY {name}
"""


class FunnelProbe:
    kind = "funnel"

    def __init__(self, config: FunnelConfig) -> None:
        self.name = config.name
        self.interval = float(config.interval)
        self.timeout = float(config.timeout)
        self._config = config
        self._sql = SqlSource(config.dsn, self.timeout)
        self._query = events_sql(_QUERY, config)

    async def run(self) -> ProbeResult:
        return await measure(self.name, self.kind, self._measure)

    async def close(self) -> None:
        await self._sql.close()

    async def _measure(self) -> Measurement:
        config = self._config
        rows = await self._sql.fetch(
            self._query, {"steps": list(config.steps), "window": float(config.window)}
        )
        counts = {name: (int(now), int(before)) for name, now, before in rows}
        return funnel_measurement(config, [counts.get(step, (0, 0)) for step in config.steps])


def funnel_measurement(config: FunnelConfig, counts: list[tuple[int, int]]) -> Measurement:
    """Metrics from per-step (window, previous window) counts, in step order."""
    metrics: dict[str, MetricValue] = {
        "up": True,
        "steps": len(counts),
        "events_in_window": sum(now for now, _ in counts),
        "events_previous_window": sum(before for _, before in counts),
        "drop_threshold": config.drop_threshold,
        "min_events": config.min_events,
        "window": float(config.window),
    }
    rows: list[dict[str, Any]] = []
    drops: list[float] = []
    for n, (name, (now, before)) in enumerate(zip(config.steps, counts, strict=True), start=1):
        metrics[f"step{n}_count"] = now
        metrics[f"step{n}_previous"] = before
        row: dict[str, Any] = {"step": n, "name": name, "count": now, "previous": before}
        if n > 1:
            prev_now, prev_before = counts[n - 2]
            conversion = now / prev_now if prev_now else None
            earlier = before / prev_before if prev_before else None
            if conversion is not None:
                metrics[f"step{n}_conversion"] = conversion
            if earlier is not None:
                metrics[f"step{n}_conversion_previous"] = earlier
            drop = None
            comparable = min(prev_now, prev_before) >= max(1, config.min_events)
            if comparable and conversion is not None and earlier:
                drop = max(0.0, 1.0 - conversion / earlier)
                drops.append(drop)
            row |= {"conversion": conversion, "conversion_previous": earlier, "drop": drop}
        rows.append(row)
    first, last = counts[0][0], counts[-1][0]
    if first:
        metrics["overall_conversion"] = last / first
    if drops:
        metrics["max_conversion_drop"] = max(drops)
    return Measurement(metrics, {"steps": rows, "window": float(config.window)})
