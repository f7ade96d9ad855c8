"""Forward-only schema migrations: step N takes the schema from version N to N+1.

Append a step to change the schema; never edit one that has shipped. A state file
written by a newer Warroom (a higher version than `len(MIGRATIONS)`) is refused
rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from console.state.records import SchemaTooNewError

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE occurrences (
        id TEXT PRIMARY KEY,
        rule TEXT NOT NULL,
        probe TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL,
        summary TEXT NOT NULL,
        started_at REAL NOT NULL,
        fired_at REAL,
        resolved_at REAL,
        value TEXT NOT NULL,          -- JSON, keeps int/float/str/bool/null apart
        threshold TEXT NOT NULL,      -- JSON
        degraded INTEGER NOT NULL,
        ack_by TEXT,
        ack_at REAL,
        ack_note TEXT,
        deadline REAL,
        escalated_at REAL,
        notified INTEGER NOT NULL,
        last_notified_at REAL,
        silenced_by TEXT,
        suppressed_by TEXT
    );
    CREATE INDEX occurrences_open ON occurrences (state) WHERE state != 'resolved';
    CREATE INDEX occurrences_started ON occurrences (started_at);

    CREATE TABLE silences (
        id TEXT PRIMARY KEY,
        rule TEXT NOT NULL,
        probe TEXT NOT NULL,
        severity TEXT NOT NULL,
        starts_at REAL NOT NULL,
        ends_at REAL NOT NULL,
        author TEXT NOT NULL,
        comment TEXT NOT NULL,
        lifted_at REAL
    );

    CREATE TABLE intents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('ack', 'unack', 'silence', 'lift')),
        target TEXT NOT NULL,
        author TEXT NOT NULL,
        note TEXT NOT NULL,
        payload TEXT NOT NULL,        -- JSON object
        created_at REAL NOT NULL,
        applied_at REAL,
        outcome TEXT
    );
    CREATE INDEX intents_pending ON intents (id) WHERE applied_at IS NULL;

    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        occurrence_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        probe TEXT NOT NULL,
        severity TEXT NOT NULL,
        actor TEXT,
        note TEXT NOT NULL
    );
    CREATE INDEX events_at ON events (at);

    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL          -- JSON object, masked and scrubbed
    );

    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- delivery order within an occurrence
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        occurrence_id TEXT NOT NULL,
        severity TEXT NOT NULL,
        payload TEXT NOT NULL,        -- JSON, scrubbed
        created_at REAL NOT NULL,
        next_attempt_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claimed_until REAL,
        last_attempt_at REAL,         -- when the newest attempt finished
        finish_seq INTEGER,           -- orders finished attempts even on equal clocks
        last_error TEXT,
        delivered_at REAL,
        failed_at REAL
    );
    CREATE INDEX outbox_due ON outbox (next_attempt_at)
        WHERE delivered_at IS NULL AND failed_at IS NULL;
    CREATE INDEX outbox_finished ON outbox (finish_seq);

    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at REAL NOT NULL
    );

    CREATE TABLE backups (
        key TEXT PRIMARY KEY,
        database TEXT NOT NULL,
        outcome TEXT NOT NULL,
        size INTEGER,
        sha256 TEXT,
        started_at REAL NOT NULL,
        finished_at REAL NOT NULL,
        error TEXT
    );

    CREATE TABLE drills (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        backup_key TEXT NOT NULL,
        database TEXT NOT NULL,
        ok INTEGER NOT NULL,
        rto REAL,
        phases TEXT NOT NULL,         -- JSON object: phase -> seconds
        error TEXT,
        started_at REAL NOT NULL,
        finished_at REAL NOT NULL
    );

    CREATE TABLE scratch_databases (
        name TEXT PRIMARY KEY,
        server TEXT NOT NULL,
        registered_at REAL NOT NULL
    );

    CREATE TABLE checklist (
        item_id TEXT PRIMARY KEY,
        ticked INTEGER NOT NULL,
        by TEXT NOT NULL,
        at REAL NOT NULL
    );
    """,
)

LATEST = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """Split a script into statements; sqlite decides where one ends (quotes, comments)."""
    found: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement in migration: {current.strip()[:60]}")
    return found


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the schema to LATEST; returns the version found before.

    The whole upgrade is one IMMEDIATE transaction, so two processes opening a new
    state file at once cannot both apply a step. `conn` must be in autocommit mode.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        found = int(row[0]) if row else 0
        if found > LATEST:
            raise SchemaTooNewError(
                f"{path}: state schema version {found} is newer than this warroom knows "
                f"({LATEST}); upgrade warroom or use another [console].state_path"
            )
        for step in MIGRATIONS[found:]:
            for statement in statements(step):
                conn.execute(statement)
        if row is None:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (LATEST,))
        else:
            conn.execute("UPDATE schema_version SET version = ?", (LATEST,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found
