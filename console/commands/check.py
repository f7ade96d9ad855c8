"""`warroom check [--json]`: every probe once, rules judged once; a monitoring-plugin exit code.

One pass cannot wait out a rule's `for`, count its `failures` or follow
`depends_on`, so each enabled rule is judged on this one result:

- `when` true: P0/P1 -> critical, P2 -> warning ("firing");
- only `warn_when` true: warning ("degraded");
- a probe `down` is critical, `unknown` is unknown, even with no rule about it.

The overall status is the worst of all of them, critical > warning > unknown > ok
(so one probe without a token does not hide a database that is down).
Exit 0 ok, 1 warning, 2 critical, 3 unknown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.config.model import Config
    from probes.result import MetricValue, ProbeResult

EXIT = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
_RANK = {"ok": 0, "unknown": 1, "warning": 2, "critical": 3}
_PROBE_LEVEL = {"ok": "ok", "warning": "warning", "critical": "critical", "down": "critical"}
# What the table shows for a healthy probe, by kind.
_HEADLINE = {
    "postgres": ("rtt", "connections_used_ratio"),
    "http": ("status_code", "latency", "latency_p95"),
    "sentry": ("events_per_minute", "spike_ratio"),
    "backups": ("newest_age", "retained_count"),
    "vitals": ("lcp_p75", "inp_p75", "cls_p75"),
    "funnel": ("events_in_window", "overall_conversion"),
    "support": ("open_tickets", "breached_tickets"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    from console.config import find_config, load_config

    config = load_config(find_config(args.config))
    checked_at = datetime.now(UTC)
    results = asyncio.run(_probe_all(config))
    report = build_report(config, results, checked_at)
    print(json.dumps(report, indent=2) if args.json else render_table(report))
    return EXIT[report["status"]]


async def _probe_all(config: Config) -> list[ProbeResult]:
    from console.scheduler import Scheduler
    from probes.factory import open_probes

    async with open_probes(config) as probes:
        scheduler = Scheduler(probes, on_result=lambda _: None, secrets=config.secrets())
        try:
            return await scheduler.run_once()
        finally:
            await scheduler.stop()


def build_report(
    config: Config, results: Sequence[ProbeResult], checked_at: datetime
) -> dict[str, Any]:
    from console.alerts.summary import render_summary
    from console.config.secret import scrub

    secrets = config.secrets()
    status = "ok"
    probes: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for result in results:
        error = scrub(result.error, secrets) if result.error else None
        status = _worse(status, _PROBE_LEVEL.get(result.status.value, "unknown"))
        probes.append(
            {
                "name": result.name,
                "kind": result.kind,
                "status": result.status.value,
                "duration_ms": round(result.duration * 1000, 1),
                "metrics": {key: _json_safe(value) for key, value in result.metrics.items()},
                "error": error,
            }
        )
        for rule in config.rules:
            if not rule.enabled or not rule.matches(result.name, result.kind):
                continue
            if rule.when.evaluate(result.metrics):
                state, expression = "firing", rule.when
                level = "warning" if rule.severity == "P2" else "critical"
            elif rule.warn_when is not None and rule.warn_when.evaluate(result.metrics):
                state, expression, level = "degraded", rule.warn_when, "warning"
            else:
                continue
            status = _worse(status, level)
            summary = render_summary(
                rule.summary,
                probe=result.name,
                value=expression.value_of(result.metrics),
                error=error,
                metric=expression.metric(),
            )
            alerts.append(
                {
                    "rule": rule.name,
                    "probe": result.name,
                    "severity": rule.severity,
                    "state": state,
                    "summary": scrub(summary, secrets),
                    "since": _iso(result.observed_at),
                }
            )
    return {
        "status": status,
        "checked_at": checked_at.isoformat(timespec="seconds"),
        "probes": probes,
        "alerts": alerts,
    }


def render_table(report: dict[str, Any]) -> str:
    from console.alerts.summary import format_value

    rows = [("STATUS", "PROBE", "KIND", "TIME", "DETAIL")]
    for probe in report["probes"]:
        metrics = probe["metrics"]
        detail = probe["error"] or ", ".join(
            f"{name} {format_value(metrics[name], name)}"
            for name in _HEADLINE.get(probe["kind"], ())
            if name in metrics
        )
        rows.append(
            (probe["status"], probe["name"], probe["kind"], f"{probe['duration_ms']:.0f}ms", detail)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  "
             + row[4] for row in rows]  # fmt: skip
    if report["alerts"]:
        lines += ["", "ALERTS"]
        lines += [
            f"{a['severity']} {a['state']:<8} {a['rule']} ({a['probe']}): {a['summary']}"
            for a in report["alerts"]
        ]
    lines += ["", f"warroom check: {report['status']}"]
    return "\n".join(line.rstrip() for line in lines)


def _worse(current: str, other: str) -> str:
    return other if _RANK[other] > _RANK[current] else current


def _json_safe(value: MetricValue) -> MetricValue:
    # JSON has no Infinity or NaN; an unmeasurable number is null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
