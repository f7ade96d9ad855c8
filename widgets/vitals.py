"""The web vitals panel: one per `vitals` probe, each vital's p75 against the plan's threshold.

Ratings: "poor" above the threshold, exactly when the `vitals-poor-<v>` rule judges
it bad, so the panel and the alerts agree; "needs work" within the threshold but
in its last fifth, so a slide shows before the rule fires; "good" below that. A
vital with fewer than `min_samples` is not judged (the rules do not either).
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.content import Content

from console.config.model import TIMING_VITALS
from console.snapshot import ProbeView
from probes.result import MetricValue
from widgets.format import DASH, Tone, count, lines, number, styled
from widgets.panel import ProbePanel

# Display order: paint, largest paint, responsiveness, then layout stability.
ORDER = ("fcp", "lcp", "inp", "fid", "cls")
NEEDS_WORK = 0.8  # of the threshold


def vital_value(vital: str, value: float | None) -> str:
    """Timings in milliseconds (as web-vitals and the plan state them), CLS as a score."""
    if value is None:
        return DASH
    return f"{value * 1000:.0f}ms" if vital in TIMING_VITALS else f"{value:.2f}"


def rating(
    p75: float | None, threshold: float | None, samples: float | None, least: float
) -> tuple[str, Tone]:
    if p75 is None or threshold is None:
        return "· no data", "muted"
    if (samples or 0) < least:
        return f"… few ({count(samples)})", "muted"
    if p75 > threshold:
        return "✗ poor", "error"
    if p75 > threshold * NEEDS_WORK:
        return "▲ needs work", "warning"
    return "✓ good", "success"


def shown_vitals(metrics: Mapping[str, MetricValue]) -> list[str]:
    """The measured vitals in display order; FID only with data (INP replaced it)."""
    measured = [v for v in ORDER if f"{v}_threshold" in metrics]
    return [v for v in measured if v != "fid" or "fid_p75" in metrics]


class VitalsPanel(ProbePanel):
    SPARK = "lcp_p75"

    def __init__(self, probe: str) -> None:
        super().__init__(probe, f"Web vitals {probe} · p75")

    def summary(self, metrics: Mapping[str, MetricValue]) -> Content | str:
        return f"{count(number(metrics, 'samples'))} samples"

    def body(
        self, metrics: Mapping[str, MetricValue], view: ProbeView | None, now: float
    ) -> Content:
        least = number(metrics, "min_samples") or 0.0
        rows: list[Content | str] = []
        for vital in shown_vitals(metrics):
            p75, threshold = number(metrics, f"{vital}_p75"), number(metrics, f"{vital}_threshold")
            word, tone = rating(p75, threshold, number(metrics, f"{vital}_samples"), least)
            shown, limit = vital_value(vital, p75), vital_value(vital, threshold)
            figures = Content(f"{vital.upper():<4}{shown:>6} / {limit:<6} ")
            rows.append(figures + styled(word, tone, bold=tone == "error"))
        return lines(*rows) if rows else styled("no vitals measured", "muted")
