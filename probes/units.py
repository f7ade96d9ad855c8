"""The unit of each metric, from the naming contract in docs/contracts.md.

Metrics carry base units (seconds, bytes, ratios 0..1); this tells a formatter
which one a name means, so summaries, panels and Slack show `5.3s`, not `5.3`.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

Unit = Literal["seconds", "bytes", "bytes_per_s", "ratio", "number"]

_SECONDS = frozenset({
    "rtt", "uptime", "latency", "latency_connect", "latency_ttfb", "latency_p50", "latency_p95",
    "latency_p99", "max_age", "rto_target", "drill_rto", "promise", "window", "long_query",
    "fcp_p75", "lcp_p75", "fid_p75", "inp_p75",
    "fcp_threshold", "lcp_threshold", "fid_threshold", "inp_threshold",
})  # fmt: skip
_RATIOS = frozenset({
    "availability", "availability_target", "row_drop_threshold", "drop_threshold",
    "max_conversion_drop", "overall_conversion",
})  # fmt: skip
_BYTES_PER_SECOND = frozenset({"temp_bytes_per_s", "database_growth_per_s"})
# Named "ratio" but a multiple of the baseline (3.0 = three times), not a share.
_MULTIPLES = frozenset({"spike_ratio", "spike_threshold"})


@cache
def unit_of(metric: str) -> Unit:
    name = metric.rsplit(".", 1)[-1]  # `table.users.rows` -> `rows`
    if name in _BYTES_PER_SECOND:
        return "bytes_per_s"
    if name in _MULTIPLES:
        return "number"
    if name in _SECONDS or name.endswith(("_age", "_seconds", "_rto")):
        return "seconds"
    if name.endswith(("_bytes", "_size")) or name == "database_size":
        return "bytes"
    if name in _RATIOS or name.endswith(("_ratio", "_conversion", "_conversion_previous")):
        return "ratio"
    return "number"
