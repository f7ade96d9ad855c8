"""One connection to PostgreSQL behind the same tiny interface for psycopg and asyncpg.

Both open the DSN exactly as given, so libpq's environment, service files,
~/.pgpass, PGOPTIONS and connect_timeout apply as they do for pg_dump
(asyncpg implements its own subset: URI DSNs, PG* variables, .pgpass). What the
probe needs on top is passed as connection arguments: autocommit, no prepared
statements (PgBouncer transaction pooling hands each statement to any server
connection) and `application_name=warroom`.

Behind a pooler the session settings need more than that: a session-level SET
stays on the server connection that ran it, which other clients of the pool
get next, while the probe's following statements may run on a server that
never saw it (tested against a real pgbouncer in tests/test_pgbouncer.py).
`connect` recognises a pooler by the backend key it sent, which is not the
server process's; such a session runs each statement in its own read-only
transaction with the limits as `SET LOCAL`, rolled back after the statement.
The go-live probes' SQL source (probes.sources) opens, detects and wraps its
psycopg connection with the same functions: `open_psycopg`, `behind_pooler`,
`begin_read_only` and `in_transaction`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import psycopg

from probes.pg_queries import BACKEND_PID, PING, SESSION

if TYPE_CHECKING:
    import asyncpg

APPLICATION_NAME = "warroom"
Driver = Literal["psycopg", "asyncpg"]
# A `statement_timeout` or `lock_timeout` value as the probe writes them ("2160ms").
_DURATION = re.compile(r"[0-9]{1,9}(ms|s|min)?")
T = TypeVar("T")


class Session(Protocol):
    async def fetch_value(self, query: str, *args: Any) -> Any:
        """The first column of the first row (None when no row)."""
        ...

    @property
    def usable(self) -> bool:
        """False once the connection is closed or broken and must be replaced."""
        ...

    async def close(self) -> None:
        """Drop the connection at once, without a goodbye round trip.

        Safe while a query is in flight (after a cancellation): nothing here
        waits on the server.
        """
        ...


class Connection(Session, Protocol):
    """A driver's session, plus what `behind_pooler` and `in_transaction` need of it."""

    async def execute(self, script: str) -> None:
        """Run parameterless statements (the simple query protocol: several at once)."""
        ...

    @property
    def key_pid(self) -> int:
        """The process id in the backend key the server (or a pooler) sent at start-up."""
        ...


class PsycopgSession:
    def __init__(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        self._conn = conn

    @property
    def connection(self) -> psycopg.AsyncConnection[tuple[Any, ...]]:
        """The psycopg connection, for psycopg-only callers (its cursors take `$n`)."""
        return self._conn

    async def fetch_value(self, query: str, *args: Any) -> Any:
        cursor = await self._conn.execute(query, args or None)
        row = await cursor.fetchone()
        return None if row is None else row[0]

    async def execute(self, script: str) -> None:
        # No parameters: psycopg sends it as one simple query.
        await self._conn.execute(script)

    @property
    def key_pid(self) -> int:
        return self._conn.pgconn.backend_pid

    @property
    def usable(self) -> bool:
        return not (self._conn.closed or self._conn.broken)

    async def close(self) -> None:
        # psycopg's close() finishes the libpq connection synchronously.
        await self._conn.close()


class AsyncpgSession:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetch_value(self, query: str, *args: Any) -> Any:
        return await self._conn.fetchval(query, *args)

    async def execute(self, script: str) -> None:
        await self._conn.execute(script)

    @property
    def key_pid(self) -> int:
        return self._conn.get_server_pid()

    @property
    def usable(self) -> bool:
        return not self._conn.is_closed()

    async def close(self) -> None:
        # terminate(), not close(): close() waits for the server, which may be gone.
        self._conn.terminate()


class PooledSession:
    """A session through a pooler: no state is left on, or expected from, a server connection.

    Each statement but `PING` runs as `BEGIN READ ONLY` with the limits as `SET
    LOCAL` (one simple query), the statement, then `ROLLBACK`, so a pooler in
    transaction mode keeps one server connection for the three, and the
    session-level `set_config` calls of `SESSION` are undone with the rest.
    The limits are the ones the probe passes to `SESSION` ($1 statement timeout,
    $2 lock timeout), kept here instead of on the server. `PING` takes no lock
    and cannot run long: it stays one round trip, so `rtt` means the same.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._begin = "BEGIN READ ONLY"

    async def fetch_value(self, query: str, *args: Any) -> Any:
        if query == PING:
            return await self._conn.fetch_value(query, *args)
        if query == SESSION:
            self._begin = begin_read_only(*args)
        return await in_transaction(
            self._conn, self._begin, lambda: self._conn.fetch_value(query, *args)
        )

    @property
    def usable(self) -> bool:
        return self._conn.usable

    async def close(self) -> None:
        await self._conn.close()


async def in_transaction(conn: Connection, begin: str, statement: Callable[[], Awaitable[T]]) -> T:
    """`begin` (from `begin_read_only`), `statement()`, then `ROLLBACK`, all on `conn`.

    A pooler in transaction mode keeps one server connection for the three, and
    nothing the statement set stays on it. A server error in the statement (a
    timeout, read-only) aborts the transaction only: it is rolled back and the
    error raised. A failed rollback closes `conn`, which the caller then replaces:
    a connection left inside a transaction would pin its server connection.
    Cancellation is a BaseException: the caller drops the connection then.
    """
    try:
        await conn.execute(begin)
        value = await statement()
    except Exception:
        if conn.usable:
            await _rollback(conn)
        raise
    await _rollback(conn)
    return value


async def _rollback(conn: Connection) -> None:
    try:
        await conn.execute("ROLLBACK")
    except Exception:
        await conn.close()
        raise


def begin_read_only(statement_timeout: Any, lock_timeout: Any) -> str:
    """`BEGIN READ ONLY` with the limits as `SET LOCAL`, one simple query for `in_transaction`."""
    # SET takes no parameters: the values go into the text, so they are checked
    # to be plain durations first (the probes format them from numbers).
    for value in (statement_timeout, lock_timeout):
        if not (isinstance(value, str) and _DURATION.fullmatch(value)):
            raise ValueError(f"not a duration for SET LOCAL: {value!r}")
    return (
        "BEGIN READ ONLY;"
        f" SET LOCAL statement_timeout = '{statement_timeout}';"
        f" SET LOCAL lock_timeout = '{lock_timeout}'"
    )


async def connect(driver: Driver, dsn: str) -> Session:
    """Open a session; the caller bounds the time (asyncio.timeout) and handles errors."""
    conn = await _open(driver, dsn)
    try:
        pooled = await behind_pooler(conn)
    except BaseException:
        await conn.close()
        raise
    return PooledSession(conn) if pooled else conn


async def behind_pooler(conn: Connection) -> bool:
    """Whether `conn` reached the server through a pooler (one round trip)."""
    # A pooler answers start-up with its own backend key, not the server's.
    return bool(await conn.fetch_value(BACKEND_PID) != conn.key_pid)


async def _open(driver: Driver, dsn: str) -> Connection:
    if driver == "asyncpg":
        # Imported on use: most consoles run psycopg only, and asyncpg costs start-up time.
        import asyncpg

        conn = await asyncpg.connect(
            dsn or None,
            statement_cache_size=0,
            server_settings={"application_name": APPLICATION_NAME},
        )
        return AsyncpgSession(conn)
    return await open_psycopg(dsn)


async def open_psycopg(dsn: str) -> PsycopgSession:
    """A psycopg connection as the probes open it; the caller bounds the time."""
    # The raw cursor takes `$n` placeholders, as asyncpg does: one SQL text for both.
    conn = await psycopg.AsyncConnection.connect(
        dsn,
        autocommit=True,
        prepare_threshold=None,
        application_name=APPLICATION_NAME,
        cursor_factory=psycopg.AsyncRawCursor,
    )
    return PsycopgSession(conn)
