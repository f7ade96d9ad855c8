"""Go-live probe data for the UI scenarios: web vitals, the journey funnel, the support queue.

Shaped as probes/vitals.py, funnel.py and support.py emit them (docs/contracts.md).
"""

from __future__ import annotations

from probes.result import MetricValue


def vitals(lcp: float) -> dict[str, MetricValue]:
    """The plan's thresholds; FID configured but without data (INP replaced it)."""
    p75 = {"fcp": 1.21, "lcp": lcp, "inp": 0.118, "cls": 0.04}
    limits = {"fcp": 1.8, "lcp": 2.5, "inp": 0.2, "cls": 0.1, "fid": 0.1}
    metrics: dict[str, MetricValue] = {"up": True, "min_samples": 20, "samples": 960}
    for vital, limit in limits.items():
        metrics[f"{vital}_threshold"] = limit
        metrics[f"{vital}_samples"] = 240 if vital in p75 else 0
        if vital in p75:
            metrics[f"{vital}_p75"] = p75[vital]
    return metrics


STEPS = ("landing_intention_selected", "cta_clicked", "ceremony_started", "ceremony_completed")


def funnel_data(
    counts: tuple[int, ...], previous: tuple[int, ...]
) -> tuple[dict[str, MetricValue], dict[str, object]]:
    """Metrics and detail as probes/funnel.py builds them (min_events 20, drop_threshold 0.5)."""
    metrics: dict[str, MetricValue] = {
        "up": True,
        "steps": len(counts),
        "events_in_window": sum(counts),
        "events_previous_window": sum(previous),
        "drop_threshold": 0.5,
        "min_events": 20,
        "window": 3600.0,
        "overall_conversion": counts[-1] / counts[0],
    }
    rows: list[dict[str, object]] = []
    drops = []
    for n, (name, now, before) in enumerate(zip(STEPS, counts, previous, strict=True), start=1):
        metrics[f"step{n}_count"], metrics[f"step{n}_previous"] = now, before
        row: dict[str, object] = {"step": n, "name": name, "count": now, "previous": before}
        if n > 1:
            conversion, earlier = now / counts[n - 2], before / previous[n - 2]
            metrics[f"step{n}_conversion"] = conversion
            metrics[f"step{n}_conversion_previous"] = earlier
            drop = max(0.0, 1 - conversion / earlier)
            drops.append(drop)
            row |= {"conversion": conversion, "conversion_previous": earlier, "drop": drop}
        rows.append(row)
    metrics["max_conversion_drop"] = max(drops)
    return metrics, {"steps": rows}


def support(waiting: int, breached: int, oldest: float) -> dict[str, MetricValue]:
    return {
        "up": True,
        "open_tickets": 14,
        "waiting_tickets": waiting,
        "breached_tickets": breached,
        "escalated_tickets": 1,
        "oldest_waiting_age": oldest,
        "promise": 7200.0,
    }


PREVIOUS_FUNNEL = (1180, 590, 300, 150)
