"""Sentry API shapes (stats_v2, issues) computed from the demo's fault state.

Everything here is a pure function of the fault history and the clock, so a
panel polling it sees a steady line, not noise: the baseline per minute is a
hash of the minute, bursts decay on a fixed curve.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

PROJECT_ID = "4242"
FIELD = "sum(quantity)"
OUTCOMES = ("accepted", "rate_limited", "filtered")
# Share of a burst landing in each minute from its start: most of it at
# once, the tail over the next four minutes (cumulative, so counts sum exactly).
_BURST_CUMULATIVE = (0.0, 0.4, 0.65, 0.8, 0.92, 1.0)
BURST_MINUTES = len(_BURST_CUMULATIVE) - 1
_TITLES = (
    "TypeError: Cannot read properties of undefined (reading 'intention')",
    "ChunkLoadError: Loading chunk ceremony failed",
    "OracleTimeoutError: oracle did not answer within 30000ms",
    "PostgresError: remaining connection slots are reserved",
)
_UNITS = {"m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Burst:
    at: float
    size: int
    number: int


@dataclass(frozen=True)
class ServedErrors:
    """The 500s the demo API really returned, by epoch minute."""

    by_minute: Mapping[int, int]
    first_at: float | None
    last_at: float | None


def parse_duration(text: str, default: int) -> int:
    """'2h' -> 7200; Sentry's statsPeriod/interval syntax. Unknown text -> default."""
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if match is None:
        return default
    return int(match.group(1)) * _UNITS[match.group(2)]


def iso(epoch: float, *, micros: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    if micros:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def baseline(minute: int) -> int:
    """2 to 5 errors in every minute, fixed per minute (Knuth's multiplicative hash)."""
    return 2 + ((minute * 2654435761) >> 9) % 4


def burst_in_minute(burst: Burst, minute: int) -> int:
    offset = minute - int(burst.at // 60)
    if not 0 <= offset < BURST_MINUTES:
        return 0
    low = int(burst.size * _BURST_CUMULATIVE[offset])
    high = int(burst.size * _BURST_CUMULATIVE[offset + 1])
    return high - low


def burst_so_far(burst: Burst, now: float) -> int:
    current = int(now // 60)
    return sum(burst_in_minute(burst, m) for m in range(int(burst.at // 60), current + 1))


def _minute_outcomes(
    minute: int, bursts: Sequence[Burst], served: ServedErrors
) -> tuple[int, int, int]:
    bursting = sum(burst_in_minute(b, minute) for b in bursts)
    # Quotas drop a tenth of a burst; the SDK filter drops a little noise.
    rate_limited = bursting // 10
    filtered = 1 if minute % 7 == 0 else 0
    accepted = baseline(minute) + bursting - rate_limited + served.by_minute.get(minute, 0)
    return accepted, rate_limited, filtered


def stats_v2(
    now: float,
    query: Mapping[str, str],
    bursts: Sequence[Burst],
    served: ServedErrors,
) -> dict[str, object]:
    """The `organizations/{org}/stats_v2/` body grouped by outcome."""
    period = parse_duration(query.get("statsPeriod", "2h"), 7200)
    interval = max(60, parse_duration(query.get("interval", "1m"), 60))
    count = max(1, min(period // interval, 1440))
    start = (int(now) // interval) * interval - (count - 1) * interval
    is_error = query.get("category", "error") == "error"
    series: list[list[int]] = [[0] * count for _ in OUTCOMES]
    if is_error:
        for index in range(count):
            bucket = start + index * interval
            for minute in range(bucket // 60, (bucket + interval) // 60):
                if minute * 60 > now:
                    break
                for outcome, value in enumerate(_minute_outcomes(minute, bursts, served)):
                    series[outcome][index] += value
    groups = [
        {
            "by": {"outcome": outcome},
            "totals": {FIELD: sum(values)},
            "series": {FIELD: values},
        }
        for outcome, values in zip(OUTCOMES, series, strict=True)
    ]
    return {
        "start": iso(start),
        "end": iso(start + count * interval),
        "intervals": [iso(start + i * interval) for i in range(count)],
        "groups": groups,
    }


@dataclass(frozen=True)
class _Issue:
    number: int
    title: str
    first: float
    last: float
    count: int

    def body(self, project: str) -> dict[str, object]:
        return {
            "id": str(9000 + self.number),
            "shortId": f"{project.upper()}-{self.number:X}",
            "title": self.title,
            "culprit": "app/ceremony",
            "firstSeen": iso(self.first, micros=True),
            "lastSeen": iso(self.last, micros=True),
            # Sentry sends the event count as a string.
            "count": str(self.count),
            "level": "error",
            "status": "unresolved",
        }


def issues(
    now: float,
    query: Mapping[str, str],
    project: str,
    bursts: Sequence[Burst],
    served: ServedErrors,
) -> list[dict[str, object]]:
    """The `projects/{org}/{project}/issues/` list; supports firstSeen:/lastSeen:-N[mhd]."""
    # A long-standing issue, older than any "new issues" window.
    found = [_Issue(1, _TITLES[1], now - 3 * 86400, now - 120, 57)]
    for burst in bursts:
        last = min(now, burst.at + (BURST_MINUTES - 1) * 60)
        title = _TITLES[burst.number % len(_TITLES)]
        found.append(_Issue(10 + burst.number, title, burst.at, last, burst_so_far(burst, now)))
    if served.first_at is not None and served.last_at is not None:
        title = "HTTPError: 500 Internal Server Error on /api/journeys"
        total = sum(served.by_minute.values())
        found.append(_Issue(2, title, served.first_at, served.last_at, total))
    text = query.get("query", "")
    if match := re.search(r"firstSeen:-(\d+[mhd])", text):
        since = now - parse_duration(match.group(1), 0)
        found = [issue for issue in found if issue.first >= since]
    if match := re.search(r"lastSeen:-(\d+[mhd])", text):
        since = now - parse_duration(match.group(1), 0)
        found = [issue for issue in found if issue.last >= since]
    found.sort(key=lambda issue: issue.last, reverse=True)
    limit = int(query["limit"]) if query.get("limit", "").isdigit() else 100
    return [issue.body(project) for issue in found[:limit]]
