"""Alert summaries from rule templates: `"{probe} p95 is {value}"` -> `"api p95 is 5.3s"`.

Templates come from the operator's config, so formatting is deliberately dumb:
only `{probe}`, `{value}`, `{error}` and `{metric}` exist, an unknown field renders
empty, and no attribute or index lookups run (`{probe.__class__}` is left as text).
Values are shown in the metric's unit (contract units: seconds, bytes, ratios 0..1).
"""

from __future__ import annotations

import math
import re

from console.config.durations import format_duration
from probes.result import MetricValue
from probes.units import unit_of

_FIELD = re.compile(r"\{([A-Za-z_]+)\}")

_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def render_summary(
    template: str,
    *,
    probe: str,
    value: MetricValue,
    error: str | None,
    metric: str | None,
) -> str:
    fields = {
        "probe": probe,
        "value": format_value(value, metric),
        "error": error or "",
        "metric": metric or "",
    }
    text = _FIELD.sub(lambda match: fields.get(match.group(1), ""), template)
    return " ".join(text.split())


def format_value(value: MetricValue, metric: str | None = None) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    # Formatting runs inside the engine: inf, NaN or a huge int must not raise.
    if isinstance(value, int) and abs(value) >= 1e300:
        number = math.inf if value > 0 else -math.inf
    else:
        number = float(value)
    if not math.isfinite(number):
        return "unknown" if math.isnan(number) else ("∞" if number > 0 else "-∞")
    unit = unit_of(metric or "")
    if unit == "seconds":
        return format_duration(number)
    if unit == "bytes":
        return format_bytes(number)
    if unit == "bytes_per_s":
        return f"{format_bytes(number)}/s"
    if unit == "ratio":
        return f"{number * 100:.1f}%"
    return format_number(value)


def format_bytes(size: float) -> str:
    unit = 0
    while abs(size) >= 1000 and unit < len(_BYTE_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.0f} B" if unit == 0 else f"{size:.1f} {_BYTE_UNITS[unit]}"


def format_number(value: float | int) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"
