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

_FIELD = re.compile(r"\{([A-Za-z_]+)\}")

_SECONDS = frozenset({
    "rtt", "uptime", "longest_query_age", "longest_transaction_age", "replication_lag_seconds",
    "latency", "latency_connect", "latency_ttfb", "latency_p50", "latency_p95", "latency_p99",
    "stale_seconds", "newest_age", "verified_age", "max_age", "drill_rto", "rto_target",
    "drill_age",
})  # fmt: skip
_BYTES = frozenset({
    "database_size", "replication_lag_bytes", "slot_retained_bytes", "newest_size", "total_bytes",
})  # fmt: skip
_BYTES_PER_SECOND = frozenset({"temp_bytes_per_s", "database_growth_per_s"})
_RATIOS = frozenset({
    "connections_used_ratio", "cache_hit_ratio", "critical_rows_drop_ratio",
    "row_drop_threshold", "availability", "availability_target",
})  # fmt: skip
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
    name = metric or ""
    if name in _SECONDS or name.endswith("_seconds"):
        return format_duration(float(value))
    if name in _BYTES or name.endswith("_bytes"):
        return format_bytes(float(value))
    if name in _BYTES_PER_SECOND:
        return f"{format_bytes(float(value))}/s"
    if name in _RATIOS:
        return f"{value * 100:.1f}%"
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
