"""The journey funnel panel: one per `funnel` probe, steps in order, the largest drop marked.

Aggregates only: counts per step in this window and the one before, and the
step-to-step conversions (there is nothing personal in the result to show).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual.content import Content

from console.snapshot import ProbeView
from probes.result import MetricValue
from widgets.format import DASH, count, lines, number, ratio, styled
from widgets.panel import ProbePanel

FIGURES = 18  # " 1,204  49% (50%)": count, conversion, and the previous window's in brackets


def step_rows(view: ProbeView | None) -> dict[int, Mapping[str, Any]]:
    """`detail["steps"]` by step number: each step's name and its drop (None: not compared)."""
    detail: Sequence[Any] = (view.last.detail.get("steps") or ()) if view and view.last else ()
    return {row["step"]: row for row in detail if isinstance(row, Mapping) and "step" in row}


def worst_step(rows: Mapping[int, Mapping[str, Any]]) -> int | None:
    """The step whose conversion fell the most, among those the probe compared."""
    drops = {n: row["drop"] for n, row in rows.items() if isinstance(row.get("drop"), float | int)}
    return max(drops, key=lambda n: drops[n]) if drops else None


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


class FunnelPanel(ProbePanel):
    # One row per step, clipped rather than wrapped: names are already cut to the width.
    DEFAULT_CSS = """
    FunnelPanel > .body { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, probe: str) -> None:
        super().__init__(probe, f"Funnel {probe}")

    def summary(self, metrics: Mapping[str, MetricValue]) -> Content | str:
        return f"overall {ratio(number(metrics, 'overall_conversion'))}"

    def body(
        self, metrics: Mapping[str, MetricValue], view: ProbeView | None, now: float
    ) -> Content:
        steps = int(number(metrics, "steps") or 0)
        if not steps:
            return styled("no steps measured", "muted")
        drop = number(metrics, "max_conversion_drop")
        limit = number(metrics, "drop_threshold")
        alarming = drop is not None and limit is not None and drop > limit
        detail = step_rows(view)
        worst = worst_step(detail) if alarming else None
        name_width = max(8, (self.content_size.width or 40) - FIGURES - 3)  # "3▼" and a space
        rows: list[Content | str] = []
        for n in range(1, steps + 1):
            name = str(detail.get(n, {}).get("name", f"step {n}"))
            conversion = ""
            if n > 1:
                now_, before = (
                    number(metrics, f"step{n}_conversion{s}") for s in ("", "_previous")
                )
                conversion = f"{ratio(now_, 0):>4} ({ratio(before, 0)})"
            events = count(number(metrics, f"step{n}_count"))
            mark = "▼" if n == worst else " "
            text = f"{n}{mark}{clip(name, name_width):<{name_width}} {events:>6} {conversion}"
            rows.append(styled(text, "error", bold=True) if n == worst else text.rstrip())
        if drop is None:
            rows.append(styled("too quiet to compare with the window before", "muted"))
        else:
            over = ratio(limit, 0) if limit is not None else DASH
            verdict = f"largest drop {ratio(drop, 0)} (alert over {over})"
            rows.append(styled(f"▼ {verdict}", "error", bold=True) if alarming else verdict)
        return lines(*rows)
