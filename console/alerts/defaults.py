"""Built-in rules drawn from the go-live monitoring plan.

Written as TOML-shaped tables so they pass through the same validation as the
operator's `[[rules]]`; a user rule with the same name overrides fields of the
default, and `enabled = false` disables it.
"""

from __future__ import annotations

from typing import Any

# console.config.model.VITALS; not imported, because the config loader imports this module.
_VITALS = ("fcp", "lcp", "cls", "fid", "inp")

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "database-down",
        "kind": "postgres",
        "severity": "P0",
        "when": "not up",
        "failures": 2,
        "successes": 2,
        "summary": "Database {probe} is unreachable: {error}",
    },
    {
        "name": "data-loss",
        "kind": "postgres",
        "severity": "P0",
        "when": "critical_rows_drop_ratio > row_drop_threshold",
        "clear_after": "1h",
        "summary": "Rows vanished from a critical table on {probe}: {value} below the hour's peak",
    },
    {
        "name": "checksum-failures",
        "kind": "postgres",
        "severity": "P0",
        "when": "checksum_failures_delta > 0",
        "clear_after": "1h",
        "summary": "Data checksum failures on {probe}",
    },
    {
        "name": "connections-high",
        "kind": "postgres",
        "severity": "P1",
        "when": "connections_used_ratio > 90%",
        "warn_when": "connections_used_ratio > 75%",
        "for": "1m",
        "depends_on": "database-down",
        "summary": "{probe} connections at {value} of max_connections",
    },
    {
        "name": "replication-lag",
        "kind": "postgres",
        "severity": "P1",
        "when": "replication_lag_seconds > 5m",
        "warn_when": "replication_lag_seconds > 30s",
        "for": "2m",
        "depends_on": "database-down",
        "summary": "Replication lag on {probe} is {value}",
    },
    {
        "name": "wraparound",
        "kind": "postgres",
        "severity": "P1",
        "when": "xid_age > 1000000000",
        "warn_when": "xid_age > 500000000",
        "depends_on": "database-down",
        "summary": "Transaction ID age on {probe} is {value}: vacuum before wraparound",
    },
    {
        "name": "long-transaction",
        "kind": "postgres",
        "severity": "P2",
        "when": "longest_transaction_age > 1h",
        "warn_when": "longest_transaction_age > 10m",
        "depends_on": "database-down",
        "summary": "A transaction on {probe} has been open for {value}",
    },
    {
        "name": "api-down",
        "kind": "http",
        "severity": "P1",
        "when": "not up",
        "failures": 3,
        "successes": 2,
        "depends_on": "database-down",
        "summary": "{probe} is failing: {error}",
    },
    {
        "name": "api-slow",
        "kind": "http",
        "severity": "P1",
        "when": "latency_p95 > 5s",
        "warn_when": "latency_p95 > 2s",
        "for": "1m",
        "depends_on": "database-down",
        "summary": "Performance degradation >5s: {probe} p95 is {value}",
    },
    {
        "name": "api-availability",
        "kind": "http",
        "severity": "P1",
        "when": "availability < availability_target",
        "for": "2m",
        "depends_on": "database-down",
        "summary": "{probe} availability {value} is under target",
    },
    {
        "name": "tls-expiring",
        "kind": "http",
        "severity": "P2",
        "when": "tls_days_left < 14",
        "warn_when": "tls_days_left < 30",
        "summary": "TLS certificate of {probe} expires in {value} days",
    },
    {
        "name": "error-spike",
        "kind": "sentry",
        "severity": "P1",
        "when": "spike_ratio > spike_threshold and events_per_minute >= 1",
        "for": "2m",
        "summary": "Error rate spike on {probe}: {value}x the previous hour",
    },
    {
        "name": "backup-stale",
        "kind": "backups",
        "severity": "P0",
        # No backup at all counts: a fresh install with nothing restorable is the worst case.
        "when": "newest_age > max_age or newest_verification_failed or retained_count == 0",
        "summary": "No verified backup within max_age (age of the newest: {value})",
    },
    {
        "name": "drill-failed",
        "kind": "backups",
        "severity": "P1",
        "when": "drill_ok == false or drill_rto > rto_target",
        "summary": "Restore drill failed or exceeded its RTO target ({value})",
    },
    # "Performance degradation": one rule per Core Web Vital, so each poor vital is
    # its own alert with its own value and threshold. Below min_samples a p75 is noise.
    *(
        {
            "name": f"vitals-poor-{vital}",
            "kind": "vitals",
            "severity": "P2",
            "when": f"{vital}_p75 > {vital}_threshold and {vital}_samples >= min_samples",
            "for": "5m",
            "summary": f"Performance degradation: {vital.upper()} p75 on {{probe}} is {{value}}",
        }
        for vital in _VITALS
    ),
    {
        "name": "funnel-drop",
        "kind": "funnel",
        "severity": "P2",
        "when": "max_conversion_drop > drop_threshold",
        "for": "5m",
        "summary": "Journey funnel {probe}: a step's conversion fell by {value} "
        "against the previous window",
    },
    {
        "name": "analytics-silent",
        "kind": "funnel",
        "severity": "P2",
        "when": "events_in_window == 0",
        "for": "5m",
        "summary": "Analytics tracking failures: no funnel events in {probe}'s window",
    },
    {
        "name": "support-promise-broken",
        "kind": "support",
        "severity": "P1",
        "when": "breached_tickets > 0",
        "summary": "{value} support tickets on {probe} waited past the response promise",
    },
)
