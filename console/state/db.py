"""The connection every part of the store shares, and the scrubbing on the way in.

Threading: one connection per Store, opened with `check_same_thread=False` and
guarded by one re-entrant lock. The console calls the store from worker threads
and `asyncio.to_thread`; its writes are a few small rows, so serialising them in
process costs nothing, SQLite serialises writers anyway, and one connection means
`close()` really closes everything. Other processes use their own Store; WAL
lets their readers run beside our writer, and `busy_timeout` makes writers wait
for each other instead of failing.

Durability: the connection is in autocommit mode. A single statement commits on
its own; several go through `_transaction()` (BEGIN IMMEDIATE ... COMMIT). Either
way a method has committed, with `synchronous=FULL`, before it returns.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from console.clock import Clock
from console.config.secret import Secret, scrub
from console.state.masking import plain

BUSY_TIMEOUT_MS = 10_000
Params = Sequence[object] | Mapping[str, object]


class Database:
    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock) -> None:
        self.path = path
        self.clock = clock
        self._conn = conn
        self._lock = threading.RLock()
        self._secrets: list[Secret] = []

    def register_secrets(self, secrets: Sequence[Secret]) -> None:
        """Secrets to scrub out of every free-text value before it is stored."""
        with self._lock:
            self._secrets.extend(s for s in secrets if s and s not in self._secrets)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: the write lock is taken up front, so a
        read-then-write (claims, leases) cannot interleave with another process."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _execute(self, sql: str, params: Params = ()) -> int:
        """One statement, committed on return; the number of rows it changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def _query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _clean(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _clean_opt(self, text: str | None) -> str | None:
        return None if text is None else self._clean(text)

    def _json(self, value: object) -> str:
        return json.dumps(plain(value, self._secrets), ensure_ascii=False, sort_keys=True)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) a private state file in WAL mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        # Created here rather than by sqlite so it is never world-readable, not even briefly.
        path.touch(mode=0o600)
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
    )
    conn.row_factory = sqlite3.Row
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot use WAL mode (journal_mode is {mode})")
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def loads_object(text: str) -> dict[str, object]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}
