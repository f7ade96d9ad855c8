"""Deterministic configuration and snapshots for the UI tests: a healthy day and an incident.

Everything is relative to the FakeClock's start, so screenshots never see a wall clock.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from console.actions.progress import Progress
from console.alerts.defaults import DEFAULT_RULES
from console.alerts.model import Acknowledgement, AlertState, Matcher, Occurrence, Silence
from console.clock import FakeClock
from console.config.build import build
from console.config.golive import merge_checklist
from console.config.model import (
    BackupConfig,
    Config,
    ConsoleConfig,
    DrillConfig,
    Duration,
    FunnelConfig,
    HttpConfig,
    PostgresConfig,
    RuleConfig,
    SentryConfig,
    SupportConfig,
    VitalsConfig,
)
from console.config.secret import Secret
from console.snapshot import ActionView, EventLine, MonitorSnapshot, ProbeView
from console.state.records import ChecklistTick
from probes.result import MetricValue, ProbeResult, Status
from tests.ui.golive_scenarios import PREVIOUS_FUNNEL, funnel_data, support, vitals

T = FakeClock().now()
ANALYTICS = Secret("postgresql://warroom:pw@analytics.internal:5432/app")
# The built-in rules, as a loaded config has them: alert values are shown in their units.
RULES = tuple(build(RuleConfig, rule, ("defaults", rule["name"])) for rule in DEFAULT_RULES)


def ui_config(keys: dict[str, str] | None = None) -> Config:
    return Config(
        path=Path("ui-test.toml"),
        console=ConsoleConfig(
            environment="production",
            operator="alice",
            state_path=Path("/nonexistent/state.sqlite3"),
            refresh=Duration(1.0),
        ),
        postgres={
            "main": PostgresConfig(
                name="main",
                dsn=Secret("postgresql://app:hunter2@db.internal:5432/app"),
                critical_tables=("users", "soul_memories"),
            )
        },
        http={
            "api": HttpConfig(name="api", url="https://api.example.com/health"),
            "journeys": HttpConfig(name="journeys", url="https://api.example.com/api/journeys"),
        },
        sentry={
            "errors": SentryConfig(
                name="errors", org="acme", project="web", token=Secret("sntrys_secret")
            )
        },
        backup=BackupConfig(database="main", destination="s3://acme-backups/warroom/"),
        drill=DrillConfig(
            target_dsn=Secret("postgresql://drill:pw@scratch.internal:5433/postgres")
        ),
        keys=keys or {},
        vitals={"web": VitalsConfig(name="web", dsn=ANALYTICS)},
        funnel={"journey": FunnelConfig(name="journey", dsn=ANALYTICS)},
        support={"desk": SupportConfig(name="desk", dsn=ANALYTICS)},
        rules=RULES,
        checklist=merge_checklist([]),
    )


def result(
    name: str,
    kind: str,
    metrics: dict[str, MetricValue],
    *,
    status: Status = Status.OK,
    ago: float = 4.0,
    duration: float = 0.012,
    error: str | None = None,
    detail: dict[str, object] | None = None,
    unavailable: tuple[str, ...] = (),
) -> ProbeResult:
    return ProbeResult(
        name=name,
        kind=kind,
        status=status,
        observed_at=T - ago,
        duration=duration,
        metrics=metrics,
        detail=detail or {},
        error=error,
        unavailable=unavailable,
    )


def view(
    last: ProbeResult, interval: float, *, ok_ago: float | None = None, **kw: object
) -> ProbeView:
    ok_at = last.observed_at if ok_ago is None else T - ok_ago
    return ProbeView(
        name=last.name,
        kind=last.kind,
        interval=interval,
        last=last,
        last_ok_at=ok_at,
        age=T - last.observed_at,
        **kw,  # type: ignore[arg-type]
    )


DB_OK: dict[str, MetricValue] = {
    "up": True,
    "rtt": 0.0012,
    "server_version_num": 160004,
    "connections_total": 12,
    "max_connections": 100,
    "connections_used_ratio": 0.12,
    "blocked_sessions": 0,
    "longest_transaction_age": 3.2,
    "cache_hit_ratio": 0.998,
    "replication_lag_bytes": 0,
    "replication_lag_seconds": 0.0,
    "database_size": 1_250_000_000,
    "database_growth_per_s": 1024.0,
    "table.users.rows": 1204,
    "table.users.delta": 3,
    "table.users.exact": True,
    "table.soul_memories.rows": 9876,
    "table.soul_memories.delta": 0,
    "table.soul_memories.exact": True,
}
QUERIES = [
    {
        "pid": 4242,
        "age": "1m12s",
        "state": "active",
        "query": "SELECT * FROM soul_memories WHERE user_id = $1",
    }
]


def api_metrics(p50: float, p95: float, p99: float, availability: float) -> dict[str, MetricValue]:
    return {
        "up": True,
        "status_code": 200,
        "status_ok": True,
        "latency": p50,
        "latency_p50": p50,
        "latency_p95": p95,
        "latency_p99": p99,
        "availability": availability,
        "availability_target": 0.995,
        "tls_days_left": 63,
    }


BACKUPS: dict[str, MetricValue] = {
    "up": True,
    "newest_age": 3 * 3600 + 300,
    "newest_size": 48_200_000,
    "newest_verified": True,
    "retained_count": 14,
    "total_bytes": 680_000_000,
    "drill_ok": True,
    "drill_rto": 42.0,
    "rto_target": 300.0,
    "drill_age": 2 * 86400,
}


def funnel(counts: tuple[int, ...]) -> ProbeResult:
    """This hour's step counts against the hour before's (PREVIOUS_FUNNEL)."""
    metrics, detail = funnel_data(counts, PREVIOUS_FUNNEL)
    return result("journey", "funnel", metrics, ago=25, detail=detail)


STANDBY = "support-team-on-standby"  # a manual item, ticked by bob an hour and a half ago


def ticks() -> dict[str, ChecklistTick]:
    return {STANDBY: ChecklistTick(STANDBY, True, "bob", T - 5400)}


def healthy() -> MonitorSnapshot:
    probes = (
        view(result("main", "postgres", DB_OK, detail={"queries": QUERIES}), 10),
        view(result("api", "http", api_metrics(0.045, 0.120, 0.310, 0.9993)), 5),
        view(result("journeys", "http", api_metrics(0.210, 0.480, 0.900, 0.998)), 5),
        view(
            result(
                "errors",
                "sentry",
                {
                    "up": True,
                    "events_per_minute": 4.0,
                    "spike_ratio": 1.1,
                    "spike_threshold": 3.0,
                    "new_issues_last_hour": 0,
                    "events_last_hour": 240,
                },
                ago=20,
            ),
            60,
        ),
        view(result("backups", "backups", BACKUPS, ago=30), 60),
        view(result("web", "vitals", vitals(lcp=2.12), ago=25), 60),
        view(funnel((1204, 602, 290, 150)), 60),
        view(result("desk", "support", support(3, 0, 1500.0), ago=25), 60),
    )
    events = (
        EventLine(T - 600, "resolved", "api-slow on api resolved", "P1"),
        EventLine(T - 1500, "fired", "api-slow on api: p95 5.4s over 5s", "P1"),
        EventLine(T - 7200, "backup", "backup verified 48.2MB in 4.1s", actor="alice"),
    )
    return MonitorSnapshot(
        at=T,
        environment="production",
        operator="alice",
        read_only=False,
        probes=probes,
        events=events,
    )


def occurrence(
    id: str, rule: str, probe: str, severity: str, summary: str, **kw: object
) -> Occurrence:
    return Occurrence(
        id=id,
        rule=rule,
        probe=probe,
        severity=severity,  # type: ignore[arg-type]
        state=kw.pop("state", AlertState.FIRING),  # type: ignore[arg-type]
        summary=summary,
        **kw,  # type: ignore[arg-type]
    )


DB_DOWN = "occ-db-down"
POOR_LCP = "occ-poor-lcp"
DATA_LOSS = "occ-data-loss"
API_SLOW = "occ-api-slow"
SPIKE = "occ-spike"
LONG_TX = "occ-long-tx"


def incident_alerts() -> tuple[Occurrence, ...]:
    return (
        occurrence(
            DB_DOWN,
            "database-down",
            "main",
            "P0",
            "Database main is unreachable: connection refused",
            started_at=T - 150,
            fired_at=T - 140,
            value=False,
            deadline=T + 160,
        ),
        occurrence(
            DATA_LOSS,
            "data-loss",
            "main",
            "P0",
            "Rows vanished from a critical table on main: 0.3 below the hour's peak",
            started_at=T - 900,
            fired_at=T - 900,
            value=0.3,
            threshold=0.01,
            ack=Acknowledgement(by="bob", at=T - 700, note="restoring from backup"),
        ),
        occurrence(
            SPIKE,
            "error-spike",
            "errors",
            "P1",
            "Error rate on errors is 4.2x the baseline",
            started_at=T - 1200,
            fired_at=T - 1200,
            value=4.2,
            deadline=T - 75,
        ),
        occurrence(
            API_SLOW,
            "api-slow",
            "api",
            "P1",
            "api p95 latency is 6.2s",
            started_at=T - 600,
            fired_at=T - 590,
            value=6.2,
            deadline=T + 6600,
            silenced_by="sil-1",
        ),
        occurrence(
            LONG_TX,
            "long-transaction",
            "main",
            "P2",
            "A transaction on main has been open for 12m",
            state=AlertState.PENDING,
            started_at=T - 60,
            value=720,
        ),
        occurrence(
            POOR_LCP,
            "vitals-poor-lcp",
            "web",
            "P2",
            "LCP p75 on web is 2.7s (good is under 2.5s)",
            started_at=T - 420,
            fired_at=T - 120,
            value=2.67,
            threshold=2.5,
        ),
    )


def incident() -> MonitorSnapshot:
    base = healthy()
    down = result(
        "main",
        "postgres",
        {"up": False},
        status=Status.DOWN,
        ago=6,
        duration=5.0,
        error="connection refused: is the server running on db.internal:5432?",
    )
    slow = api_metrics(2.100, 6.200, 7.900, 0.981)
    spiking: dict[str, MetricValue] = {
        "up": True,
        "events_per_minute": 38.0,
        "spike_ratio": 4.2,
        "spike_threshold": 3.0,
        "new_issues_last_hour": 3,
        "events_last_hour": 1380,
        "stale_seconds": 120.0,
    }
    probes = (
        view(down, 10, ok_ago=186, last_error=down.error, last_error_at=T - 6),
        view(result("api", "http", slow, status=Status.WARNING), 5),
        view(result("journeys", "http", api_metrics(0.210, 0.480, 0.900, 0.998)), 5),
        view(result("errors", "sentry", spiking, ago=140), 60, overdue=False),
        view(result("backups", "backups", BACKUPS, ago=30), 60),
        view(result("web", "vitals", vitals(lcp=2.67), status=Status.WARNING, ago=25), 60),
        view(funnel((1204, 590, 62, 30)), 60),
        view(result("desk", "support", support(7, 2, 9600.0), status=Status.WARNING, ago=25), 60),
    )
    events = (
        EventLine(T - 140, "fired", "database-down on main: connection refused", "P0"),
        EventLine(
            T - 590, "silenced", "api-slow on api until 13:30Z: deploy rollback", "P1", "carol"
        ),
        EventLine(T - 700, "acknowledged", "data-loss on main: restoring from backup", "P0", "bob"),
        EventLine(T - 900, "fired", "data-loss on main: 0.3 below the hour's peak", "P0"),
        EventLine(T - 1200, "fired", "error-spike on errors: 4.2x baseline", "P1"),
    )
    silence = Silence(
        id="sil-1",
        matcher=Matcher(rule="api-slow", probe="api"),
        starts_at=T - 590,
        ends_at=T + 3010,
        author="carol",
        comment="deploy rollback",
    )
    return MonitorSnapshot(
        at=T,
        environment=base.environment,
        operator=base.operator,
        read_only=False,
        probes=probes,
        alerts=incident_alerts(),
        silences=(silence,),
        events=events,
        notifications="notifications failing: 403 invalid_token",
    )


def backup_running(snapshot: MonitorSnapshot) -> MonitorSnapshot:
    progress = Progress("backup", "upload", 21_000_000, 48_000_000, 6.0)
    return replace(snapshot, actions=(ActionView("backup", running=True, progress=progress),))
