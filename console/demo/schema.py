"""The demo application's schema and seed data, created in one round trip."""

from __future__ import annotations

from psycopg import sql

from console.demo.cluster import ThrowawayCluster

APP_DB = "app"
MONITOR_ROLE = "warroom_monitor"
LIMITED_ROLE = "warroom_limited"
MONITOR_PASSWORD = "demo-secret"

FUNNEL = (
    "landing_intention_selected",
    "cta_clicked",
    "ceremony_started",
    "ceremony_completed",
    "oracle_conversation_started",
)
VITALS = (
    "performance_fcp",
    "performance_lcp",
    "performance_cls",
    "performance_fid",
    "performance_inp",
)
CRITICAL_TABLES = ("users", "soul_memories", "events", "support_tickets")

# Everything uses generate_series so seeding is a single simple-protocol batch.
# Funnel counts fall step by step; vitals mostly sit inside the plan's "good"
# thresholds (FCP 1800, LCP 2500, FID 100, CLS 0.1) with a realistic tail.
_SEED_SQL = """
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email_hash text,
    created_at timestamptz
);
CREATE TABLE soul_memories (
    id bigserial PRIMARY KEY,
    user_id bigint REFERENCES users,
    body text,
    created_at timestamptz
);
CREATE TABLE events (
    id bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    name text NOT NULL,
    value double precision,
    session_hash text,
    properties jsonb
);
CREATE INDEX events_name_occurred_at ON events (name, occurred_at);
CREATE TABLE support_tickets (
    id bigserial PRIMARY KEY,
    status text,
    priority text,
    created_at timestamptz,
    first_response_at timestamptz NULL,
    escalated boolean
);

INSERT INTO users (email_hash, created_at)
SELECT md5('user-' || g), now() - g * interval '3 minutes'
FROM generate_series(1, 300) AS g;

INSERT INTO soul_memories (user_id, body, created_at)
SELECT 1 + (g * 7) % 300, 'memory #' || g, now() - g * interval '90 seconds'
FROM generate_series(1, 600) AS g;

INSERT INTO events (occurred_at, name, session_hash, properties)
SELECT now() - random() * interval '2 hours', f.name, md5('session-' || g),
       jsonb_build_object('source', 'seed')
FROM (VALUES ('landing_intention_selected', 1200), ('cta_clicked', 720),
             ('ceremony_started', 430), ('ceremony_completed', 260),
             ('oracle_conversation_started', 150)) AS f(name, n),
     LATERAL generate_series(1, f.n) AS g;

INSERT INTO events (occurred_at, name, value, session_hash, properties)
SELECT now() - random() * interval '2 hours', v.name,
       v.base * (0.5 + random() * random() * 1.6), md5('session-' || g),
       jsonb_build_object('source', 'seed')
FROM (VALUES ('performance_fcp', 1100.0), ('performance_lcp', 1700.0),
             ('performance_cls', 0.05), ('performance_fid', 45.0),
             ('performance_inp', 120.0)) AS v(name, base),
     LATERAL generate_series(1, 240) AS g;

INSERT INTO support_tickets (status, priority, created_at, first_response_at, escalated)
VALUES ('open', 'high', now() - interval '95 minutes', now() - interval '80 minutes', false),
       ('open', 'normal', now() - interval '70 minutes', now() - interval '50 minutes', false),
       ('pending', 'normal', now() - interval '40 minutes', now() - interval '35 minutes', false),
       ('open', 'low', now() - interval '25 minutes', NULL, false),
       ('new', 'normal', now() - interval '5 minutes', NULL, false);
ANALYZE;
"""


def seed_app(cluster: ThrowawayCluster, dbname: str = APP_DB) -> None:
    """Create the app database with schema and data, plus the monitoring roles."""
    with cluster.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    if MONITOR_ROLE not in cluster.passwords:
        cluster.create_role(MONITOR_ROLE, MONITOR_PASSWORD, grants=("pg_monitor",))
        cluster.create_role(LIMITED_ROLE, MONITOR_PASSWORD)
    with cluster.connect(dbname) as conn:
        conn.execute(_SEED_SQL.encode())
        # Row counts of critical tables are part of the probe, so the monitor
        # role reads them; the limited role deliberately gets nothing.
        tables = sql.SQL(", ").join(sql.Identifier(t) for t in CRITICAL_TABLES)
        conn.execute(
            sql.SQL("GRANT SELECT ON {} TO {}").format(tables, sql.Identifier(MONITOR_ROLE))
        )


def create_template(cluster: ThrowawayCluster, source: str, name: str) -> None:
    """Copy `source` into a template nobody connects to, so copies never wait for it."""
    with cluster.connect() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} IS_TEMPLATE true").format(
                sql.Identifier(name), sql.Identifier(source)
            )
        )
