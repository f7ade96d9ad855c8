"""Scratch databases for restore drills: created only fresh, dropped only if we made them.

The rule that keeps a drill from ever dropping someone's database: a name is
registered in the store *before* `CREATE DATABASE`, and only registered names
matching `warroom_drill_<YYYYmmddHHMMSS>` are ever dropped. A crash between
registration and the drop leaves the name registered, so the next drill (or
`warroom drill --cleanup`) finds and drops it. Dropping uses `WITH (FORCE)`
(PostgreSQL 13+ on the drill server).
"""

from __future__ import annotations

import re
import time
from typing import Protocol

import psycopg
from psycopg import sql

from console.actions.pg_snapshot import connect
from console.actions.pg_tools import LibpqTarget
from console.actions.retention import AuditStore

PREFIX = "warroom_drill_"
_NAME = re.compile(rf"^{PREFIX}\d{{14}}$")


class ScratchError(RuntimeError):
    """A scratch database could not be created safely; the message is one line."""


class ScratchStore(AuditStore, Protocol):
    def register_scratch_database(self, name: str, server: str) -> object: ...
    def scratch_databases(self, server: str | None = None) -> list[str]: ...
    def forget_scratch_database(self, name: str) -> object: ...


def scratch_name(at: float) -> str:
    return PREFIX + time.strftime("%Y%m%d%H%M%S", time.gmtime(at))


def create_scratch(admin: LibpqTarget, name: str, store: ScratchStore) -> None:
    """CREATE DATABASE name TEMPLATE template0, registered first; refuses an existing name."""
    exists = ScratchError(f"database {name} already exists on {admin.server}: refusing to reuse it")
    with connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            raise exists
        store.register_scratch_database(name, admin.server)
        try:
            # template0: a restore into a copy of template1 collides with whatever was added there.
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        except psycopg.errors.DuplicateDatabase:
            # Someone else created it between our check and ours: not ours to drop, ever.
            store.forget_scratch_database(name)
            raise exists from None


def drop_scratch(admin: LibpqTarget, name: str, store: ScratchStore) -> None:
    """Drop a database this module created (registered, well-formed name), then forget it."""
    if name not in store.scratch_databases(admin.server) or not _NAME.match(name):
        raise ScratchError(f"refusing to drop {name}: not a scratch database Warroom created")
    with connect(admin, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))
    store.forget_scratch_database(name)


def cleanup_leftovers(admin: LibpqTarget, store: ScratchStore, operator: str) -> list[str]:
    """Drop every registered scratch database on this server (left by a crash); returns them."""
    dropped: list[str] = []
    for name in store.scratch_databases(admin.server):
        if not _NAME.match(name):
            # Registered by something else or corrupted: never drop, just stop tracking it.
            store.forget_scratch_database(name)
            store.audit(operator, "drill.cleanup", name, "refused", {"reason": "not a drill name"})
            continue
        drop_scratch(admin, name, store)
        store.audit(operator, "drill.cleanup", name, "dropped")
        dropped.append(name)
    return dropped
