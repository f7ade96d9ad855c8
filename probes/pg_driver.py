"""One connection to PostgreSQL behind the same tiny interface for psycopg and asyncpg.

Both open the DSN exactly as given, so libpq's environment, service files,
~/.pgpass, PGOPTIONS and connect_timeout apply as they do for pg_dump
(asyncpg implements its own subset: URI DSNs, PG* variables, .pgpass). What the
probe needs on top is passed as connection arguments: autocommit, no prepared
statements (PgBouncer transaction pooling hands each statement to any server
connection) and `application_name=warroom`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol

import psycopg

if TYPE_CHECKING:
    import asyncpg

APPLICATION_NAME = "warroom"
Driver = Literal["psycopg", "asyncpg"]


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


class PsycopgSession:
    def __init__(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        self._conn = conn

    async def fetch_value(self, query: str, *args: Any) -> Any:
        cursor = await self._conn.execute(query, args or None)
        row = await cursor.fetchone()
        return None if row is None else row[0]

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

    @property
    def usable(self) -> bool:
        return not self._conn.is_closed()

    async def close(self) -> None:
        # terminate(), not close(): close() waits for the server, which may be gone.
        self._conn.terminate()


async def connect(driver: Driver, dsn: str) -> Session:
    """Open a session; the caller bounds the time (asyncio.timeout) and handles errors."""
    if driver == "asyncpg":
        # Imported on use: most consoles run psycopg only, and asyncpg costs start-up time.
        import asyncpg

        conn = await asyncpg.connect(
            dsn or None,
            statement_cache_size=0,
            server_settings={"application_name": APPLICATION_NAME},
        )
        return AsyncpgSession(conn)
    # The raw cursor takes `$n` placeholders, as asyncpg does: one SQL text for both.
    psycopg_conn = await psycopg.AsyncConnection.connect(
        dsn,
        autocommit=True,
        prepare_threshold=None,
        application_name=APPLICATION_NAME,
        cursor_factory=psycopg.AsyncRawCursor,
    )
    return PsycopgSession(psycopg_conn)
