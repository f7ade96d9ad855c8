"""What the go-live probes (vitals, funnel, support) read from: aggregate SQL or JSON over HTTP.

- `SqlSource`: one long-lived psycopg connection per probe, opened on first use and
  replaced once broken, opened and limited as the PostgreSQL probe's
  (probes.pg_driver): `application_name=warroom`, no prepared statements, and
  read-only with a `statement_timeout` and `lock_timeout` under the probe's
  timeout. Direct, those are session settings; behind a pooler (PgBouncer
  transaction pooling), where a session setting would stay on one server
  connection for other clients, each query runs in its own read-only
  transaction with the limits as `SET LOCAL`, rolled back after it.
  Identifiers from the configuration are quoted with `psycopg.sql`; values are
  always query parameters.
- JSON over HTTP: `probes.api_json.fetch`, one GET with the probe's headers.

Both raise `SourceError` only; `measure` turns that (or any surprise) into a
`ProbeResult`, so a probe's `run` never raises.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import errors, sql

from console.config.durations import format_duration
from console.config.golive import table_parts
from console.config.model import EventsTable
from console.config.secret import Secret
from probes.pg_driver import (
    PsycopgSession,
    begin_read_only,
    behind_pooler,
    in_transaction,
    open_psycopg,
)
from probes.pg_queries import SESSION
from probes.result import MetricValue, ProbeResult, Status, failure, one_line

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 60.0

# Errors that mean "the configuration or the grants are wrong", not "the server is down".
_CONFIG_ERRORS = (
    errors.InsufficientPrivilege,
    errors.UndefinedTable,
    errors.UndefinedColumn,
    errors.InvalidSchemaName,
    errors.DatatypeMismatch,
    errors.UndefinedFunction,
)


@dataclass(frozen=True, slots=True)
class Measurement:
    metrics: dict[str, MetricValue]
    detail: dict[str, Any] = field(default_factory=dict)
    unavailable: tuple[str, ...] = ()  # metrics this source cannot provide ("limited view")


class SourceError(Exception):
    def __init__(self, message: str, status: Status = Status.DOWN) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(SourceError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, Status.UNKNOWN)
        self.retry_after = retry_after


def events_sql(template: str, source: EventsTable, **columns: str) -> sql.Composed:
    """`template` with `{table}`, `{name}`, `{time}` and `columns` as quoted identifiers."""
    return sql.SQL(template).format(
        table=sql.Identifier(*table_parts(source.table)),
        name=sql.Identifier(source.name_column),
        time=sql.Identifier(source.time_column),
        **{key: sql.Identifier(column) for key, column in columns.items()},
    )


class SqlSource:
    def __init__(self, dsn: Secret, timeout: float) -> None:
        self._dsn = dsn
        self._timeout = timeout
        # The server gives up a little before the client does, so a slow query
        # reads "statement timeout" rather than an unexplained client timeout.
        self._statement_ms = max(100, int(timeout * 800))
        self._session: PsycopgSession | None = None
        # Behind a pooler: what opens each query's transaction (None: direct).
        self._begin: str | None = None

    async def fetch(
        self, query: sql.Composed, params: Sequence[Any] | Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        try:
            async with asyncio.timeout(self._timeout):
                session = await self._connection()
                if self._begin is None:
                    return await _rows(session, query, params)
                return await in_transaction(
                    session, self._begin, lambda: _rows(session, query, params)
                )
        except TimeoutError:
            await self.close()  # a query may still be in flight on it
            raise SourceError(
                f"no answer from the database within {format_duration(self._timeout)}"
            ) from None
        except asyncio.CancelledError:
            await self.close()
            raise
        except errors.QueryCanceled as exc:
            raise SourceError(self._line(exc), Status.DOWN) from None
        except _CONFIG_ERRORS as exc:
            raise SourceError(self._line(exc), Status.UNKNOWN) from None
        except psycopg.Error as exc:
            if self._session is not None and not self._session.usable:
                await self.close()
            raise SourceError(self._line(exc), Status.DOWN) from None

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            # psycopg's close() ends the libpq connection without waiting on the server.
            await session.close()

    async def _connection(self) -> PsycopgSession:
        if self._session is not None and self._session.usable:
            return self._session
        await self.close()
        session = await open_psycopg(self._dsn.reveal())
        limit = f"{self._statement_ms}ms"
        try:
            if await behind_pooler(session):
                begin: str | None = begin_read_only(limit, limit)
            else:
                # The probe's session statement: read-only and the two limits, set
                # by a statement, not a startup `options` packet (that would
                # override the operator's PGOPTIONS, and PgBouncer rejects it).
                begin = None
                await session.fetch_value(SESSION, limit, limit)
        except BaseException:
            await session.close()
            raise
        self._session, self._begin = session, begin
        return session

    def _line(self, exc: BaseException) -> str:
        return one_line(exc, [self._dsn])


async def _rows(
    session: PsycopgSession, query: sql.Composed, params: Sequence[Any] | Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    # A standard cursor: the compositions take psycopg's `%s` and `%(name)s`
    # placeholders, not the session's raw `$n` ones.
    async with psycopg.AsyncCursor(session.connection) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall()


async def measure(name: str, kind: str, run: Callable[[], Awaitable[Measurement]]) -> ProbeResult:
    """Run one measurement: an ok result with its metrics, or a failure with one line."""
    started = time.monotonic()
    try:
        measured = await run()
    except SourceError as exc:
        return failure(name, kind, started, str(exc), exc.status)
    except Exception as exc:  # a bug must cost one probe its data, not the console its loop
        log.exception("%s probe %s failed unexpectedly", kind, name)
        return failure(name, kind, started, f"probe error: {one_line(exc)}", Status.UNKNOWN)
    return ProbeResult(
        name=name,
        kind=kind,
        status=Status.OK,
        observed_at=time.time(),
        duration=time.monotonic() - started,
        metrics=measured.metrics,
        detail=measured.detail,
        unavailable=measured.unavailable,
    )
