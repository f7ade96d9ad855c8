"""The error-rate panel: one per sentry probe."""

from __future__ import annotations

from collections.abc import Mapping

from textual.content import Content

from console.snapshot import ProbeView
from probes.result import MetricValue
from widgets.format import DASH, count, join, lines, number, seconds, styled
from widgets.panel import ProbePanel


class ErrorsPanel(ProbePanel):
    SPARK = "events_per_minute"

    def __init__(self, probe: str) -> None:
        super().__init__(probe, f"Errors {probe}")

    def summary(self, metrics: Mapping[str, MetricValue]) -> Content | str:
        rate = number(metrics, "events_per_minute")
        return f"{DASH if rate is None else f'{rate:.0f}'}/min"

    def body(
        self, metrics: Mapping[str, MetricValue], view: ProbeView | None, now: float
    ) -> Content:
        spike, limit = number(metrics, "spike_ratio"), number(metrics, "spike_threshold")
        spiking = spike is not None and limit is not None and spike >= limit
        spike_text = DASH if spike is None else f"{spike:.1f}x"
        limit_text = "" if limit is None else f" (alert {limit:.1f}x)"
        rows: list[Content | str] = [
            styled(
                f"{'▲ ' if spiking else ''}spike {spike_text}{limit_text}",
                "error" if spiking else "",
            ),
            join(
                f"new issues 1h {count(number(metrics, 'new_issues_last_hour'))}",
                f"events 1h {count(number(metrics, 'events_last_hour'))}",
            ),
        ]
        dropped = number(metrics, "dropped_last_hour")
        if dropped:
            rows.append(styled(f"dropped 1h {count(dropped)}", "warning"))
        stale = number(metrics, "stale_seconds")
        if stale:  # 0 on a fresh answer; > 0 only while Sentry rate-limits us
            rows.append(styled(f"◌ rate limited, {seconds(stale)} old", "warning"))
        return lines(*rows)
