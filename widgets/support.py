"""The support queue panel: one per `support` probe, against the plan's response promise."""

from __future__ import annotations

from collections.abc import Mapping

from textual.content import Content

from console.snapshot import ProbeView
from probes.result import MetricValue
from widgets.format import DASH, Tone, count, join, lines, number, seconds, styled
from widgets.panel import ProbePanel

CLOSE_TO_PROMISE = 0.75  # the oldest wait turns amber at three quarters of the promise


class SupportPanel(ProbePanel):
    SPARK = "waiting_tickets"

    def __init__(self, probe: str) -> None:
        super().__init__(probe, f"Support {probe}")

    def summary(self, metrics: Mapping[str, MetricValue]) -> Content | str:
        return f"promise {seconds(number(metrics, 'promise'))}"

    def body(
        self, metrics: Mapping[str, MetricValue], view: ProbeView | None, now: float
    ) -> Content:
        unavailable = set(view.last.unavailable) if view and view.last else set()

        def n(key: str) -> float | None:
            return None if key in unavailable else number(metrics, key)

        breached, promise, oldest = n("breached_tickets"), n("promise"), n("oldest_waiting_age")
        breach = styled(
            f"✗ breached {count(breached)}" if breached else f"breached {count(breached)}",
            "error" if breached else "",
            bold=bool(breached),
        )
        tone: Tone = ""
        if oldest is not None and promise:
            tone = (
                "error"
                if oldest > promise
                else "warning"
                if oldest > promise * CLOSE_TO_PROMISE
                else ""
            )
        oldest_text = DASH if oldest is None else seconds(oldest)
        escalated = (
            f"escalated {count(n('escalated_tickets'))}"
            if "escalated_tickets" in metrics or "escalated_tickets" in unavailable
            else ""
        )
        return lines(
            join(
                f"open {count(n('open_tickets'))}",
                f"waiting {count(n('waiting_tickets'))}",
                escalated,
            ),
            join(breach, styled(f"oldest wait {oldest_text}", tone)),
        )
