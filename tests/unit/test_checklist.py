"""The go-live checklist: proofs from probe results, rules and facts, manual ticks, progress."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from console.alerts.expr import parse_expression
from console.checklist import ItemState, evaluate, progress
from console.config import load_config
from console.config.model import ChecklistItem, Config
from console.state.records import ChecklistTick
from probes.result import MetricValue, ProbeResult, Status

CONFIG = """\
[postgres.main]
dsn = "postgresql://app@db/app"

[http.api]
url = "http://127.0.0.1:9/health"

[sentry.errors]
org = "o"
project = "p"
token = "t"

[funnel.journey]
dsn = "postgresql://app@db/app"

[backup]
database = "main"
destination = "/var/backups/warroom"
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return load_config(path, env={})


def result(
    name: str, kind: str, status: Status = Status.OK, at: float = 1000.0, **metrics: MetricValue
) -> ProbeResult:
    error = None if status.evaluable else "connection refused"
    return ProbeResult(name, kind, status, at, 0.01, metrics, error=error)


def states(
    config: Config,
    probes: Mapping[str, ProbeResult | None],
    *,
    telemetry: bool = True,
    ticks: Mapping[str, ChecklistTick] | None = None,
) -> dict[str, ItemState]:
    found = evaluate(
        config.checklist,
        probes,
        probe_kinds=config.probe_kinds(),
        rules=config.rules,
        telemetry_configured=telemetry,
        ticks=ticks or {},
    )
    return {state.item.id: state for state in found}


HEALTHY = {
    "errors": result("errors", "sentry", up=True),
    "backups": result(
        "backups",
        "backups",
        at=1200.0,
        newest_verified=True,
        drill_ok=True,
        drill_rto=90.0,
        rto_target=300.0,
    ),
    "journey": result("journey", "funnel", events_in_window=1340),
    "main": None,
    "api": None,
}


def test_the_plans_items_verbatim_in_three_phases(config: Config) -> None:
    texts = {phase: [i.text for i in config.checklist if i.phase == phase] for phase in ("24h", "week", "month")}  # fmt: skip
    assert texts["24h"] == [
        "Real-time error monitoring active",
        "Performance alerts configured",
        "Database backup verified",
        "Support team on standby",
        "Analytics tracking confirmed",
    ]
    assert texts["week"] == [
        "User journey funnel analysis",
        "Performance optimization based on real data",
        "Support ticket pattern analysis",
        "Backup/restore procedures tested",
    ]
    assert texts["month"] == [
        "Full analytics review",
        "Disaster recovery drill",
        "Support process optimization",
        "Monitoring alert tuning",
    ]
    assert config.checklist[8].id == "backup-restore-procedures-tested"


def test_proofs_tick_items_with_evidence(config: Config) -> None:
    got = states(config, HEALTHY)
    backup = got["database-backup-verified"]
    assert backup.done and backup.by == "proof" and backup.at == 1200.0
    assert backup.evidence == "backups: newest_verified"
    assert backup.line(lambda at: f"t{at:.0f}") == "backups: newest_verified at t1200"
    assert (
        got["real-time-error-monitoring-active"].evidence == "errors: up and telemetry_configured"
    )
    assert (
        got["performance-alerts-configured"].evidence == "rules api-slow, api-availability enabled"
    )
    assert got["analytics-tracking-confirmed"].done
    assert got["disaster-recovery-drill"].done and got["backup-restore-procedures-tested"].done
    manual = got["support-team-on-standby"]
    assert (manual.proof, manual.done, manual.by) == ("manual", False, None)


def test_proofs_fail_with_the_reason(config: Config) -> None:
    probes = dict(HEALTHY)
    probes["backups"] = result("backups", "backups", newest_verified=False, drill_ok=True, drill_rto=400.0, rto_target=300.0)  # fmt: skip
    probes["errors"] = result("errors", "sentry", Status.DOWN)
    probes["journey"] = result("journey", "funnel", events_in_window=0)
    got = states(config, probes, telemetry=False)
    assert got["database-backup-verified"].proof == "unproven"
    assert got["database-backup-verified"].evidence == "backups: newest_verified is false"
    assert got["disaster-recovery-drill"].evidence == (
        "backups: drill_ok and drill_rto <= rto_target is false"
        " (drill_ok=true, drill_rto=400.0, rto_target=300.0)"
    )
    assert got["disaster-recovery-drill"].proof == "unproven"
    assert got["real-time-error-monitoring-active"].evidence == "errors is down: connection refused"
    assert not got["analytics-tracking-confirmed"].done


def test_missing_results_and_metrics_are_unknown_not_false(config: Config) -> None:
    probes = dict(HEALTHY, backups=None, journey=result("journey", "funnel"))
    got = states(config, probes)
    assert got["database-backup-verified"].proof == "unknown"
    assert got["database-backup-verified"].evidence == "backups: no result yet"
    assert got["analytics-tracking-confirmed"].evidence == "journey: events_in_window not measured"
    probes["backups"] = ProbeResult(
        "backups", "backups", Status.CRITICAL, 1.0, 0.1, {}, error="no backups"
    )
    assert states(config, probes)["database-backup-verified"].evidence == (
        "backups: newest_verified not measured (no backups)"
    )


def test_telemetry_fact_is_part_of_the_error_monitoring_proof(config: Config) -> None:
    got = states(config, HEALTHY, telemetry=False)
    assert got["real-time-error-monitoring-active"].proof == "unproven"


def test_rules_disabled_or_watching_nothing_do_not_prove(config: Config) -> None:
    rules = tuple(replace(r, enabled=False) if r.name == "api-slow" else r for r in config.rules)
    got = states(replace(config, rules=rules), HEALTHY)
    assert got["performance-alerts-configured"].evidence == "rule api-slow is disabled"
    got = states(replace(config, http={}), HEALTHY)
    assert (
        got["performance-alerts-configured"].evidence == "rule api-slow watches no configured probe"
    )


def test_kind_without_a_probe_is_unproven(config: Config) -> None:
    got = states(replace(config, sentry={}), HEALTHY)
    assert got["real-time-error-monitoring-active"].evidence == "no sentry probe configured"


def test_every_probe_of_the_kind_must_prove_it(config: Config) -> None:
    item = ChecklistItem(
        text="All funnels live", phase="24h", kind="funnel", proof=parse_expression("up")
    )
    two = replace(config, funnel={**config.funnel, "shop": config.funnel["journey"]})
    probes = {"journey": result("journey", "funnel", up=True), "shop": None}
    [state] = evaluate([item], probes, probe_kinds=two.probe_kinds(), rules=(), telemetry_configured=False, ticks={})  # fmt: skip
    assert state.proof == "unknown" and state.evidence == "shop: no result yet"


def test_manual_ticks_count_and_untick_clears(config: Config) -> None:
    ticks = {
        "support-team-on-standby": ChecklistTick("support-team-on-standby", True, "alice", 5000.0),
        "full-analytics-review": ChecklistTick("full-analytics-review", False, "bob", 5100.0),
        # A proof that fails can still be signed off by hand.
        "database-backup-verified": ChecklistTick(
            "database-backup-verified", True, "carol", 5200.0
        ),
    }
    probes = dict(HEALTHY, backups=result("backups", "backups", newest_verified=False))
    got = states(config, probes, ticks=ticks)
    standby = got["support-team-on-standby"]
    assert standby.done and standby.by == "alice" and standby.at == 5000.0
    assert standby.line(lambda at: "09:30") == "ticked by alice at 09:30"
    assert not got["full-analytics-review"].done and got["full-analytics-review"].tick is None
    signed = got["database-backup-verified"]
    assert signed.done and signed.proof == "unproven" and signed.by == "carol"
    assert signed.line(lambda at: "10:00") == (
        "ticked by carol at 10:00; backups: newest_verified is false"
    )


def test_progress_per_phase_in_plan_order(config: Config) -> None:
    ticks = {"monitoring-alert-tuning": ChecklistTick("monitoring-alert-tuning", True, "al", 1.0)}
    counts = progress(list(states(config, HEALTHY, ticks=ticks).values()))
    assert list(counts) == ["24h", "week", "month"]
    assert counts == {"24h": (4, 5), "week": (1, 4), "month": (2, 4)}
    assert progress([]) == {}
