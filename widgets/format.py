"""Formatting shared by the panels: units from docs/contracts.md, status as symbol + word + tone.

A tone names a theme variable (`$success`, `$warning`, `$error`), never a colour, and every
tone comes with a symbol and a word so 16-colour and monochrome terminals lose nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Literal

from textual.content import Content

from console.config.durations import format_duration
from probes.result import MetricValue, Status
from probes.units import unit_of

Tone = Literal["success", "warning", "error", "muted", ""]
Series = Callable[[str, str, int], list[float]]
"""`series(probe, metric, points)`: sparkline data, newest last (the app passes the monitor's)."""

DASH = "—"

_STATUS: dict[Status, tuple[str, str, Tone]] = {
    Status.OK: ("✓", "UP", "success"),
    Status.WARNING: ("▲", "WARN", "warning"),
    Status.CRITICAL: ("✗", "CRIT", "error"),
    Status.DOWN: ("✗", "DOWN", "error"),
    Status.UNKNOWN: ("?", "UNKNOWN", "muted"),
}


def status_badge(status: Status) -> tuple[str, str, Tone]:
    return _STATUS[status]


def styled(text: str, tone: Tone, *, bold: bool = False) -> Content:
    """Plain text (never parsed as markup) in a theme tone."""
    style = f"${'text-muted' if tone == 'muted' else tone}" if tone else ""
    if bold:
        style = f"{style} bold".strip()
    return Content.styled(text, style) if style else Content(text)


def badge(symbol: str, word: str, tone: Tone) -> Content:
    return styled(f"{symbol} {word}", tone, bold=True)


def join(*parts: Content | str, sep: str = "  ") -> Content:
    return Content(sep).join(p if isinstance(p, Content) else Content(p) for p in parts if p)


def lines(*rows: Content | str) -> Content:
    return join(*rows, sep="\n")


def number(metrics: Mapping[str, MetricValue], key: str) -> float | None:
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def seconds(value: float | None) -> str:
    return DASH if value is None else format_duration(value)


def size(value: float | None) -> str:
    if value is None:
        return DASH
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(amount) < 1000 or unit == "TB":
            return f"{amount:.0f}{unit}" if unit == "B" else f"{amount:.1f}{unit}"
        amount /= 1000
    raise AssertionError("unreachable")


def ratio(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def count(value: float | None) -> str:
    return DASH if value is None else f"{int(value):,}"


def delta(value: float | None) -> str:
    if value is None or value == 0:
        return "±0" if value == 0 else ""
    return f"{int(value):+,}"


def age(now: float, since: float | None) -> str:
    return DASH if since is None else format_duration(max(0.0, now - since))


def clock_text(at: float) -> str:
    """Wall time in UTC: a war room spans time zones, and tests must not depend on $TZ."""
    return time.strftime("%H:%M:%SZ", time.gmtime(at))


def stamp(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(at))


def fit(values: list[float], width: int) -> list[float]:
    """The newest `width` points (sparklines must never be handed more than they show)."""
    return values[-width:] if width > 0 else []


_BLOCKS = "▁▂▃▄▅▆▇█"


def spark_text(values: list[float], width: int) -> str:
    """A one-line sparkline for table cells, where a Sparkline widget cannot go."""
    points = fit(values, width)
    if not points:
        return ""
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    return "".join(_BLOCKS[round((v - low) / span * (len(_BLOCKS) - 1))] for v in points)


def metric_text(name: str, value: MetricValue) -> str:
    """A metric in its unit (probes.units.unit_of: the contract's seconds, bytes, ratios)."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    amount = float(value)
    unit = unit_of(name)
    if unit == "seconds":
        return seconds(amount)
    if unit == "bytes":
        return size(amount)
    if unit == "bytes_per_s":
        return f"{size(amount)}/s"
    if unit == "ratio":
        return ratio(amount, 2)
    return f"{int(amount):,}" if amount.is_integer() else f"{amount:.3g}"
