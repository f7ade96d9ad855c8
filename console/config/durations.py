"""Durations as operators write them: `500ms`, `2s`, `5m`, `26h`, `30d`."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


class DurationError(ValueError):
    pass


def parse_duration(value: object) -> float:
    """Seconds from a duration string (`1h30m` too) or a bare number of seconds."""
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration (use e.g. 30s, 5m, 2h)")
    if isinstance(value, int | float):
        if value < 0:
            raise DurationError(f"{value!r} is negative")
        return float(value)
    if not isinstance(value, str):
        raise DurationError(f"{value!r} is not a duration (use e.g. 30s, 5m, 2h)")
    text = value.strip().lower()
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise DurationError(f'"{value}" is not a duration (use {_suggest(value)})')
    return total


def _suggest(value: str) -> str:
    words = value.lower().split()
    if len(words) == 2 and words[0].replace(".", "", 1).isdigit():
        unit = words[1]
        for prefix, short in (
            ("mil", "ms"),
            ("sec", "s"),
            ("min", "m"),
            ("hour", "h"),
            ("day", "d"),
        ):
            if unit.startswith(prefix):
                return f"{words[0]}{short}"
    return "e.g. 500ms, 30s, 5m, 26h, 30d"


def format_duration(seconds: float) -> str:
    """A compact human duration: `850ms`, `42s`, `5m`, `2h05m`, `3d4h`."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s".replace(".0s", "s")
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if secs and minutes < 10 else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"
