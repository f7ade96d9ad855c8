"""The typed configuration. Field names are the `config.toml` contract.

Every section is a frozen dataclass; `console.config.build` turns TOML into these
with strict unknown-key rejection. A field's `metadata["toml"]` names its TOML key
where Python cannot (`for`); `metadata["from_key"]` fills it from the table name.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from console.alerts.expr import Expression
from console.config.secret import Secret

Severity = Literal["P0", "P1", "P2"]
SEVERITIES: tuple[Severity, ...] = ("P0", "P1", "P2")


class Duration(float):
    """Seconds; written in TOML as `500ms`, `2s`, `5m`, `26h`, `30d`."""


def _default_operator() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def default_state_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "warroom" / "state.sqlite3"


def _key(name: str) -> dict[str, object]:
    return {"toml": name}


NAME = {"from_key": True}


@dataclass(frozen=True)
class ConsoleConfig:
    environment: str = "production"
    operator: str = field(default_factory=_default_operator)
    state_path: Path = field(default_factory=default_state_path)
    refresh: Duration = Duration(1.0)
    history: Duration = Duration(3600.0)


@dataclass(frozen=True)
class PostgresConfig:
    name: str = field(metadata=NAME)
    dsn: Secret
    driver: Literal["psycopg", "asyncpg"] = "psycopg"
    interval: Duration = Duration(10.0)
    timeout: Duration = Duration(5.0)
    critical_tables: tuple[str, ...] = ()
    long_query: Duration = Duration(60.0)
    exact_count_limit: int = 1_000_000
    row_drop_threshold: float = 0.01


@dataclass(frozen=True)
class HttpConfig:
    name: str = field(metadata=NAME)
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, Secret] = field(default_factory=dict)
    interval: Duration = Duration(15.0)
    timeout: Duration = Duration(5.0)
    expect_status: tuple[int, ...] = (200,)
    expect_body: str | None = None
    verify_tls: bool = True
    follow_redirects: bool = False
    availability_target: float = 0.995


@dataclass(frozen=True)
class SentryConfig:
    name: str = field(metadata=NAME)
    org: str
    project: str
    token: Secret
    base_url: str = "https://sentry.io"
    interval: Duration = Duration(60.0)
    timeout: Duration = Duration(10.0)
    spike_ratio: float = 3.0


@dataclass(frozen=True)
class BackupConfig:
    database: str
    destination: str
    dsn: Secret | None = None
    endpoint_url: str | None = None
    region: str | None = None
    retention_days: int = 30
    keep_min: int = 3
    max_age: Duration = Duration(26 * 3600.0)
    interval: Duration = Duration(60.0)
    timeout: Duration = Duration(30.0)
    checksums: Literal["when_supported", "when_required"] = "when_supported"
    sse: Literal["", "AES256", "aws:kms"] = ""
    kms_key_id: str | None = None
    storage_class: str | None = None
    part_size: int | None = None
    upload_concurrency: int = 4
    pg_bin: Path | None = None


@dataclass(frozen=True)
class DrillConfig:
    target_dsn: Secret
    rto_target: Duration = Duration(300.0)
    allow_same_server: bool = False
    keep: bool = False
    amcheck: bool = False
    jobs: int = 0


@dataclass(frozen=True)
class SlackConfig:
    webhook_url: Secret | None = None
    min_severity: Severity = "P2"
    channel_mentions: dict[Severity, str] = field(default_factory=dict)
    escalation_mentions: dict[Severity, str] = field(default_factory=dict)
    notify_acknowledged: bool = True
    timeout: Duration = Duration(10.0)
    give_up_after: Duration = Duration(3600.0)


@dataclass(frozen=True)
class AlertsConfig:
    ack_deadline: dict[Severity, Duration] = field(default_factory=dict)
    group_wait: dict[Severity, Duration] = field(default_factory=dict)
    repeat_interval: Duration = Duration(4 * 3600.0)

    def __post_init__(self) -> None:
        # A table that names one severity keeps the plan's defaults for the others.
        object.__setattr__(self, "ack_deadline", {**DEFAULT_ACK_DEADLINE, **self.ack_deadline})
        object.__setattr__(self, "group_wait", {**DEFAULT_GROUP_WAIT, **self.group_wait})


# The plan's response times: P0 now, P1 within 2 hours, P2 within 24 hours.
DEFAULT_ACK_DEADLINE: dict[Severity, Duration] = {
    "P0": Duration(300),
    "P1": Duration(7200),
    "P2": Duration(86400),
}
DEFAULT_GROUP_WAIT: dict[Severity, Duration] = {
    "P0": Duration(0),
    "P1": Duration(10),
    "P2": Duration(10),
}


@dataclass(frozen=True)
class TelemetryConfig:
    sentry_dsn: Secret | None = None
    environment: str | None = None


@dataclass(frozen=True)
class RuleConfig:
    name: str
    when: Expression
    severity: Severity
    summary: str
    probe: str | None = None
    kind: str | None = None
    warn_when: Expression | None = None
    for_: Duration = field(default=Duration(0.0), metadata=_key("for"))
    failures: int | None = None
    clear_after: Duration = Duration(0.0)
    successes: int | None = None
    depends_on: str | None = None
    enabled: bool = True
    runbook: str | None = None

    def matches(self, probe_name: str, probe_kind: str) -> bool:
        if self.probe is not None and self.probe not in ("*", probe_name):
            return False
        return self.kind is None or self.kind == probe_kind


# -- the rest of the go-live plan: vitals, funnel, support, checklist ----------------

VITALS: tuple[str, ...] = ("fcp", "lcp", "cls", "fid", "inp")
# Web-vitals report timings in milliseconds and CLS as a unitless score.
TIMING_VITALS: tuple[str, ...] = ("fcp", "lcp", "fid", "inp")
PLAN_FUNNEL: tuple[str, ...] = (
    "landing_intention_selected",
    "cta_clicked",
    "ceremony_started",
    "ceremony_completed",
    "oracle_conversation_started",
)
Phase = Literal["24h", "week", "month"]
PHASES: tuple[Phase, ...] = ("24h", "week", "month")


@dataclass(frozen=True)
class VitalThresholds:
    """The plan's "good" p75 bounds: timings as durations, CLS as a score."""

    fcp: Duration = Duration(1.8)
    lcp: Duration = Duration(2.5)
    fid: Duration = Duration(0.1)
    inp: Duration = Duration(0.2)
    cls: float = 0.1

    def of(self, vital: str) -> float:
        return float(getattr(self, vital))


@dataclass(frozen=True, kw_only=True)
class EventsTable:
    """An analytics table of (time, name[, value]) rows, read only as aggregates."""

    table: str = "events"
    name_column: str = "name"
    time_column: str = "occurred_at"
    window: Duration = Duration(3600.0)
    interval: Duration = Duration(60.0)
    timeout: Duration = Duration(10.0)


@dataclass(frozen=True, kw_only=True)
class VitalsConfig(EventsTable):
    name: str = field(metadata=NAME)
    # Exactly one source: SQL over the events table, or a JSON endpoint.
    dsn: Secret | None = None
    url: str | None = None
    headers: dict[str, Secret] = field(default_factory=dict)
    value_column: str = "value"
    events: dict[str, str] = field(default_factory=lambda: {v: f"performance_{v}" for v in VITALS})
    thresholds: VitalThresholds = field(default_factory=VitalThresholds)
    min_samples: int = 20


@dataclass(frozen=True, kw_only=True)
class FunnelConfig(EventsTable):
    name: str = field(metadata=NAME)
    dsn: Secret
    steps: tuple[str, ...] = PLAN_FUNNEL
    drop_threshold: float = 0.5
    min_events: int = 20


@dataclass(frozen=True)
class SupportConfig:
    name: str = field(metadata=NAME)
    # Exactly one source: Zendesk's search count API, or SQL over a tickets table.
    url: str | None = None
    token: Secret | None = None
    email: str | None = None
    search: str = ""
    escalated_tag: str = "escalated"
    dsn: Secret | None = None
    table: str = "support_tickets"
    status_column: str = "status"
    created_column: str = "created_at"
    first_response_column: str = "first_response_at"
    escalated_column: str = "escalated"
    solved_statuses: tuple[str, ...] = ("solved", "closed")
    promise: Duration = Duration(7200.0)
    interval: Duration = Duration(60.0)
    timeout: Duration = Duration(10.0)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class ChecklistItem:
    """A go-live checklist line; proven automatically when it names a proof or rules."""

    text: str
    phase: Phase
    id: str = ""
    probe: str | None = None
    kind: str | None = None
    proof: Expression | None = None
    rules: tuple[str, ...] = ()
    enabled: bool = True

    def __post_init__(self) -> None:
        if not self.id:
            # The id keys manual ticks in the state file: derived once, stable.
            object.__setattr__(self, "id", slug(self.text))

    @property
    def automatic(self) -> bool:
        return self.proof is not None or bool(self.rules)


@dataclass(frozen=True)
class Config:
    path: Path
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    postgres: dict[str, PostgresConfig] = field(default_factory=dict)
    http: dict[str, HttpConfig] = field(default_factory=dict)
    sentry: dict[str, SentryConfig] = field(default_factory=dict)
    backup: BackupConfig | None = None
    drill: DrillConfig | None = None
    slack: SlackConfig = field(default_factory=SlackConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    rules: tuple[RuleConfig, ...] = ()
    keys: dict[str, str] = field(default_factory=dict)
    vitals: dict[str, VitalsConfig] = field(default_factory=dict)
    funnel: dict[str, FunnelConfig] = field(default_factory=dict)
    support: dict[str, SupportConfig] = field(default_factory=dict)
    checklist: tuple[ChecklistItem, ...] = ()

    def probe_kinds(self) -> dict[str, str]:
        """Every configured probe name with its kind."""
        kinds: dict[str, str] = {}
        for kind, table in (
            ("postgres", self.postgres),
            ("http", self.http),
            ("sentry", self.sentry),
            ("vitals", self.vitals),
            ("funnel", self.funnel),
            ("support", self.support),
        ):
            kinds.update(dict.fromkeys(table, kind))
        if self.backup is not None:
            kinds["backups"] = "backups"
        return kinds

    def secrets(self) -> list[Secret]:
        """Every secret in the configuration, for scrubbing free text."""
        found: list[Secret] = [p.dsn for p in self.postgres.values()]
        found += [s.token for s in self.sentry.values()]
        found += [v for h in self.http.values() for v in h.headers.values()]
        found += [v for t in self.vitals.values() for v in t.headers.values()]
        found += [f.dsn for f in self.funnel.values()]
        found += [v.dsn for v in self.vitals.values() if v.dsn]
        found += [s.dsn for s in self.support.values() if s.dsn]
        found += [s.token for s in self.support.values() if s.token]
        # An http(s) URL's userinfo (https://user:pw@host/health) is a password too.
        urls = [h.url for h in self.http.values()] + [s.base_url for s in self.sentry.values()]
        urls += [v.url for v in self.vitals.values() if v.url]
        urls += [s.url for s in self.support.values() if s.url]
        found += [Secret(password) for url in urls if (password := _url_password(url))]
        for maybe in (
            self.slack.webhook_url,
            self.telemetry.sentry_dsn,
            self.backup.dsn if self.backup else None,
            self.drill.target_dsn if self.drill else None,
        ):
            if maybe is not None:
                found.append(maybe)
        return [s for s in found if s]


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None
