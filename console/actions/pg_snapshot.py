"""What a backup records about its database, read in the very snapshot pg_dump dumps.

`exported_snapshot()` opens a REPEATABLE READ transaction, exports its
snapshot for `pg_dump --snapshot`, and counts the critical tables inside it:
the manifest's row counts are then exactly the rows in the dump, however busy
the database. The transaction stays open until the dump is finished.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from console.actions.pg_tools import LibpqTarget, connect_args

# Qualified with %I so the names are unambiguous and survive a round trip.
_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
ORDER BY 1
"""
_RESOLVE = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass(%s)
"""


@dataclass(frozen=True)
class SnapshotFacts:
    snapshot_id: str
    server_version_num: int
    server_version: str
    database_size: int
    tables: tuple[str, ...]
    critical_counts: dict[str, int]
    missing_critical: tuple[str, ...]  # configured critical tables that do not exist


Connection = psycopg.Connection[tuple[object, ...]]


def list_tables(conn: Connection) -> tuple[str, ...]:
    return tuple(str(row[0]) for row in conn.execute(_TABLES).fetchall())


def count_rows(conn: Connection, names: Sequence[str]) -> tuple[dict[str, int], tuple[str, ...]]:
    """Exact count(*) of each table named as configured (`users`, `app.users`); and the missing."""
    counts: dict[str, int] = {}
    missing: list[str] = []
    for name in names:
        row = conn.execute(_RESOLVE, (name,)).fetchone()
        if row is None:
            missing.append(name)
            continue
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(str(row[0])), sql.Identifier(str(row[1]))
        )
        counted = conn.execute(query).fetchone()
        counts[name] = int(str(counted[0])) if counted else 0
    return counts, tuple(missing)


def _row(conn: Connection, query: str) -> tuple[object, ...]:
    row = conn.execute(query).fetchone()
    if row is None:
        raise psycopg.ProgrammingError(f"no row from {query!r}")
    return row


def connect(target: LibpqTarget, *, autocommit: bool = False) -> Connection:
    return psycopg.connect(**connect_args(target), autocommit=autocommit)  # type: ignore[arg-type]


@contextlib.contextmanager
def exported_snapshot(target: LibpqTarget, critical: Sequence[str]) -> Iterator[SnapshotFacts]:
    conn = connect(target)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        # The first statement fixes the transaction's snapshot; exporting it there
        # makes the counts below and pg_dump's data the same instant.
        exported = _row(conn, "SELECT pg_export_snapshot()")
        version = _row(
            conn,
            "SELECT current_setting('server_version_num')::int, current_setting('server_version'),"
            " pg_database_size(current_database())",
        )
        counts, missing = count_rows(conn, critical)
        yield SnapshotFacts(
            snapshot_id=str(exported[0]),
            server_version_num=int(str(version[0])),
            server_version=str(version[1]),
            database_size=int(str(version[2])),
            tables=list_tables(conn),
            critical_counts=counts,
            missing_critical=missing,
        )
    finally:
        # The dump is over (or failed): the exporting transaction has no more use.
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
        conn.close()
