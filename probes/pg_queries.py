"""The probe's SQL: three statements a run, each returning one JSON text value.

Written with `$n` placeholders, which both drivers take as they are (psycopg's
raw cursor, asyncpg natively). Nothing from the configuration is ever spliced
into SQL text: values are parameters, and critical table names are resolved by
the server (`to_regclass`), which then quotes them itself for `count(*)`.
JSON comes back as text so both drivers decode it the same way.
"""

from __future__ import annotations

PING = "SELECT 1"

# Once per connection, to tell a pooler from the server (see probes.pg_driver).
BACKEND_PID = "SELECT pg_backend_pid()"

# Run once per connection, by the PostgreSQL probe and by the go-live SQL source
# (probes.sources). Session settings are set server-side here rather than
# as a startup `options` packet: that would override the operator's PGOPTIONS,
# and PgBouncer rejects it. Behind a pooler, session-level settings would stay on
# one server connection, for whichever client gets it next: there the driver runs
# every statement in a read-only transaction with $1 and $2 as `SET LOCAL` and
# rolls this statement's settings back (probes.pg_driver.PooledSession). The
# probe bounds every statement client-side as well.
SESSION = """
SELECT json_build_object(
  'version', current_setting('server_version_num')::int,
  'read_all_stats', pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'),
  'read_only', set_config('default_transaction_read_only', 'on', false),
  'statement_timeout', set_config('statement_timeout', $1::text, false),
  'lock_timeout', set_config('lock_timeout', $2::text, false)
)::text
"""

# pg_stat_database gained checksum_failures in PostgreSQL 12.
CHECKSUMS_SINCE = 120000
_CHECKSUMS = "(SELECT sum(checksum_failures) FROM pg_stat_database)"
_NO_CHECKSUMS = "NULL::numeric"

# $1: long_query threshold in seconds.
# Sessions other than the probe's own client backend. Without pg_read_all_stats,
# other roles' rows have NULL backend_type: those with a database are counted as
# connections (state and query stay NULL, so nothing else is counted from them).
# pg_blocking_pids is costly, so only sessions waiting on a lock call it.
_CORE = """
WITH act AS (
  SELECT pid, state, wait_event_type, wait_event, query, query_start, xact_start,
         extract(epoch FROM now() - query_start) AS query_age,
         extract(epoch FROM now() - xact_start) AS xact_age,
         CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END AS blocked_by
  FROM pg_stat_activity
  WHERE pid <> pg_backend_pid()
    AND coalesce(backend_type = 'client backend', datname IS NOT NULL)
), blockers AS (
  SELECT DISTINCT unnest(blocked_by) AS pid FROM act
), listed AS (
  SELECT act.pid, state, query_age, xact_age, blocked_by, left(query, 2000) AS query,
         concat_ws(':', wait_event_type, wait_event) AS wait_event
  FROM act
  WHERE (state = 'active' AND query_age > $1::float8)
     OR cardinality(blocked_by) > 0
     OR act.pid IN (SELECT pid FROM blockers)
  ORDER BY coalesce(xact_age, query_age) DESC NULLS LAST
  LIMIT 20
), wal AS (
  SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
              ELSE pg_current_wal_lsn() END AS lsn
)
SELECT json_build_object(
  'in_recovery', pg_is_in_recovery(),
  'postmaster_start', extract(epoch FROM pg_postmaster_start_time()),
  'uptime', extract(epoch FROM now() - pg_postmaster_start_time()),
  'max_connections', current_setting('max_connections')::int,
  'activity', (
    SELECT json_build_object(
      'total', count(*),
      'active', count(*) FILTER (WHERE state = 'active'),
      'idle', count(*) FILTER (WHERE state = 'idle'),
      'idle_in_transaction', count(*) FILTER (WHERE state LIKE 'idle in transaction%'),
      'blocked', count(*) FILTER (WHERE cardinality(blocked_by) > 0),
      'long', count(*) FILTER (WHERE state = 'active' AND query_age > $1::float8),
      'longest_query', coalesce(max(query_age) FILTER (WHERE state = 'active'), 0),
      'longest_transaction', coalesce(max(xact_age), 0))
    FROM act),
  'queries', (SELECT coalesce(json_agg(listed), '[]') FROM listed),
  'database', (
    SELECT json_build_object(
      'commits', xact_commit, 'rollbacks', xact_rollback, 'deadlocks', deadlocks,
      'temp_bytes', temp_bytes, 'blks_hit', blks_hit, 'blks_read', blks_read,
      'stats_reset', extract(epoch FROM stats_reset))
    FROM pg_stat_database WHERE datname = current_database()),
  'stats_resets', (SELECT array_agg(extract(epoch FROM stats_reset) ORDER BY datid)
                   FROM pg_stat_database),
  'checksum_failures', {checksums},
  'database_size', pg_database_size(current_database()),
  'xid_age', (SELECT max(age(datfrozenxid)) FROM pg_database),
  'archiver', (SELECT json_build_object(
                 'failed_count', failed_count, 'stats_reset', extract(epoch FROM stats_reset))
               FROM pg_stat_archiver),
  'slots', (SELECT json_build_object(
              'inactive', count(*) FILTER (WHERE NOT active),
              'retained', coalesce(sum(pg_wal_lsn_diff(wal.lsn, restart_lsn))
                                   FILTER (WHERE NOT active), 0))
            FROM pg_replication_slots, wal),
  'replication', CASE WHEN pg_is_in_recovery() THEN json_build_object(
      'standbys', NULL,
      'lag_bytes', pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()),
      'lag_seconds', CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END)
    ELSE (SELECT json_build_object(
      'standbys', count(*),
      'lag_bytes', max(pg_wal_lsn_diff(wal.lsn, replay_lsn)),
      'lag_seconds', max(extract(epoch FROM replay_lag)))
    FROM pg_stat_replication, wal) END
)::text
"""


def core_query(server_version_num: int) -> str:
    """The metrics statement for this server version (fragments are fixed text, never config)."""
    checksums = _CHECKSUMS if server_version_num >= CHECKSUMS_SINCE else _NO_CHECKSUMS
    return _CORE.replace("{checksums}", checksums)


# $1: configured table names (text[]), $2: exact_count_limit.
# The estimate is reltuples once the table was analyzed or vacuumed (it survives
# a stats reset), else the live-tuple counter. count(*) runs only on tables
# small enough and readable; format('%s', regclass) is the server's own quoting.
TABLES = """
SELECT coalesce(json_agg(t ORDER BY t.ord), '[]')::text FROM (
  SELECT n.ord, n.name, c.oid IS NOT NULL AS found, e.estimate,
         CASE WHEN e.estimate < $2::bigint AND has_table_privilege(c.oid, 'SELECT') THEN
           (xpath('/row/n/text()', query_to_xml(
              format('SELECT count(*) AS n FROM %s', c.oid::regclass), false, true, ''))
           )[1]::text::bigint
         END AS exact
  FROM unnest($1::text[]) WITH ORDINALITY AS n(name, ord)
  LEFT JOIN pg_class c ON c.oid = to_regclass(n.name)
  LEFT JOIN LATERAL (
    SELECT CASE WHEN c.reltuples > 0 THEN c.reltuples::bigint
                ELSE pg_stat_get_live_tuples(c.oid) END AS estimate
  ) e ON c.oid IS NOT NULL
) t
"""
