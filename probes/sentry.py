"""Error rates from Sentry's API: events per minute against the previous hour, new issues.

Three reads with a bearer token: the project's id (once), `stats_v2` per minute by
outcome over two hours, and, side by side with those, the unresolved issues first
seen in the last hour.

- `events_per_minute` is the average over the last 5 *complete* minutes (the current
  minute is still filling up and would read low); "events" are every outcome, so a
  spike shows even when quotas drop most of it.
- `baseline_per_minute` is the average over the hour before the last hour.
- `spike_ratio` = events_per_minute / max(baseline_per_minute, 1/60): a quiet project
  (baseline under one event an hour) does not divide by zero or by noise.
- A 429 is honoured: no call before its Retry-After; until then the last good
  metrics are served with status warning and their age in `stale_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from console.config.durations import format_duration
from console.config.model import SentryConfig
from probes.api_json import HttpStatusError, decoded, fetch, together
from probes.http_wire import Response, WireClient
from probes.result import MetricValue, ProbeResult, Status, failure, one_line
from probes.sources import RateLimited, SourceError

SERVICE = "Sentry"
FIELD = "sum(quantity)"
RECENT_MINUTES = 5
HOUR_MINUTES = 60
ISSUES_LIMIT = 100


class SentryProbe:
    kind = "sentry"

    def __init__(self, config: SentryConfig, client: WireClient) -> None:
        self.name = config.name
        self.interval = float(config.interval)
        self.timeout = float(config.timeout)
        self._config = config
        self._client = client
        self._base = config.base_url.rstrip("/")
        self._project_id: str | None = None
        self._retry_at = 0.0  # monotonic; no call before it (Retry-After)
        self._last_good: tuple[dict[str, MetricValue], dict[str, Any], float] | None = None

    async def run(self) -> ProbeResult:
        started = time.monotonic()
        if not self._config.token:
            return failure(self.name, self.kind, started, "no token configured", Status.UNKNOWN)
        if started < self._retry_at:
            return self._rate_limited(started)
        try:
            metrics, detail = await self._measure()
        except RateLimited as exc:
            self._retry_at = time.monotonic() + exc.retry_after
            return self._rate_limited(started)
        except SourceError as exc:
            return failure(self.name, self.kind, started, str(exc), exc.status)
        self._last_good = (metrics, detail, time.monotonic())
        return ProbeResult(
            name=self.name,
            kind=self.kind,
            status=Status.OK,
            observed_at=time.time(),
            duration=time.monotonic() - started,
            metrics={**metrics, "stale_seconds": 0.0},
            detail=detail,
        )

    async def close(self) -> None:
        # The client is shared; its owner closes it.
        return None

    async def _measure(self) -> tuple[dict[str, MetricValue], dict[str, Any]]:
        org, project = self._config.org, self._config.project
        # The issues do not need the project's id: both run while the id is looked up.
        stats_response, issues_response = await together(
            self._stats(),
            self._request(
                f"/api/0/projects/{org}/{project}/issues/",
                {"query": "is:unresolved firstSeen:-1h", "limit": str(ISSUES_LIMIT)},
            ),
        )
        stats = decoded(stats_response, SERVICE)
        issues = decoded(issues_response, SERVICE)
        if not isinstance(issues, list):
            raise SourceError("malformed issues response: not a list", Status.UNKNOWN)
        more = _has_next_page(issues_response.headers.get("link", ""))
        metrics = _rates(stats, time.time())
        metrics["spike_threshold"] = self._config.spike_ratio
        metrics["new_issues_last_hour"] = len(issues)
        detail: dict[str, Any] = {"new_issues_lower_bound": more}
        if more:
            detail["note"] = f"more than {len(issues)} new issues (only the first page counted)"
        return metrics, detail

    async def _stats(self) -> Response:
        org = self._config.org
        if self._project_id is None:
            body = await self._get(f"/api/0/projects/{org}/{self._config.project}/", {})
            project_id = body.get("id") if isinstance(body, dict) else None
            if not isinstance(project_id, str | int):
                raise SourceError("malformed project response: no id", Status.UNKNOWN)
            self._project_id = str(project_id)
        return await self._request(
            f"/api/0/organizations/{org}/stats_v2/",
            {
                "project": self._project_id,
                "category": "error",
                "field": FIELD,
                "groupBy": "outcome",
                "interval": "1m",
                "statsPeriod": "2h",
            },
        )

    async def _get(self, path: str, params: Mapping[str, str]) -> Any:
        return decoded(await self._request(path, params), SERVICE)

    async def _request(self, path: str, params: Mapping[str, str]) -> Response:
        headers = {"Authorization": f"Bearer {self._config.token.reveal()}"}
        try:
            return await fetch(
                self._client,
                self._base + path,
                service=SERVICE,
                headers=headers,
                params=params,
                timeout=self.timeout,
                secrets=[self._config.token],
            )
        except HttpStatusError as exc:
            if exc.code in (401, 403):
                self._project_id = None
                raise SourceError(
                    f"Sentry refused the token (HTTP {exc.code}): it is wrong, revoked or "
                    "lacks the org:read/project:read scope",
                    Status.UNKNOWN,
                ) from None
            if exc.code == 404:
                self._project_id = None
                raise SourceError(
                    f"Sentry has no project {self._config.org}/{self._config.project} (HTTP 404)",
                    Status.UNKNOWN,
                ) from None
            raise

    def _rate_limited(self, started: float) -> ProbeResult:
        wait = format_duration(max(0.0, self._retry_at - time.monotonic()))
        if self._last_good is None:
            return failure(
                self.name, self.kind, started, f"rate limited by Sentry; retry in {wait}",
                Status.UNKNOWN,
            )  # fmt: skip
        metrics, detail, at = self._last_good
        stale = time.monotonic() - at
        return ProbeResult(
            name=self.name,
            kind=self.kind,
            status=Status.WARNING,
            observed_at=time.time(),
            duration=time.monotonic() - started,
            metrics={**metrics, "stale_seconds": stale},
            detail=detail,
            error=f"rate limited by Sentry; showing data {format_duration(stale)} old, "
            f"next call in {wait}",
        )


def _has_next_page(link: str) -> bool:
    """Sentry's cursor pagination: `<url>; rel="next"; results="true"; cursor="..."`."""
    for part in link.split(","):
        params = {p.strip() for p in part.split(";")[1:]}
        if 'rel="next"' in params and 'results="true"' in params:
            return True
    return False


def _rates(stats: Any, now: float) -> dict[str, MetricValue]:
    """Per-outcome counts from `stats_v2` over complete minutes only."""
    try:
        starts = [datetime.fromisoformat(text).timestamp() for text in stats["intervals"]]
        by_outcome: dict[str, list[float]] = {}
        for group in stats["groups"]:
            series = [float(v) for v in group["series"][FIELD]]
            if len(series) != len(starts):
                raise ValueError("series and intervals differ in length")
            by_outcome[str(group["by"]["outcome"])] = series
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"malformed stats_v2 response: {one_line(exc)}", Status.UNKNOWN) from None
    width = starts[1] - starts[0] if len(starts) > 1 else 60.0
    complete = sum(1 for start in starts if start + width <= now)
    outcomes = {name: series[:complete] for name, series in by_outcome.items()}
    totals = [sum(column) for column in zip(*outcomes.values(), strict=True)] or [0.0] * complete

    def window(outcome: str | None, lo: int, hi: int) -> float:
        """Events in minutes [lo, hi) counted back from the newest complete one."""
        series = totals if outcome is None else outcomes.get(outcome, [])
        return sum(series[max(0, complete - hi) : max(0, complete - lo)])

    last_hour = window(None, 0, HOUR_MINUTES)
    accepted = window("accepted", 0, HOUR_MINUTES)
    recent_minutes = min(RECENT_MINUTES, complete)
    metrics: dict[str, MetricValue] = {
        "up": True,
        "events_last_hour": int(last_hour),
        "accepted_last_hour": int(accepted),
        "dropped_last_hour": int(last_hour - accepted),
        "rate_limited_last_hour": int(window("rate_limited", 0, HOUR_MINUTES)),
    }
    recent = window(None, 0, recent_minutes) / recent_minutes if recent_minutes else None
    if recent is not None:
        metrics["events_per_minute"] = recent
    previous_minutes = min(HOUR_MINUTES, max(0, complete - HOUR_MINUTES))
    if previous_minutes:
        baseline = window(None, HOUR_MINUTES, 2 * HOUR_MINUTES) / previous_minutes
        metrics["baseline_per_minute"] = baseline
        if recent is not None:
            metrics["spike_ratio"] = recent / max(baseline, 1 / 60)
    return metrics
