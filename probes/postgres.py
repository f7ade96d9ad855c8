"""The PostgreSQL probe: liveness, activity, counter rates, replication, critical tables.

One long-lived connection per probe. A run is at most four round trips
(`SELECT 1` for the round-trip time, then one JSON statement for the server
and one for the critical tables; a fresh connection adds one to configure the
session). Everything a run does shares one deadline a little inside the
probe's timeout, so the result is ready before the scheduler's hard timeout.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from console.clock import Clock, SystemClock
from console.config.model import PostgresConfig
from probes.pg_driver import Session, connect
from probes.pg_metrics import Sampler
from probes.pg_queries import PING, SESSION, TABLES, core_query
from probes.result import MetricValue, ProbeResult, Status, one_line

# Share of the timeout a run may use: the rest is the scheduler's margin.
_BUDGET = 0.9
# Server-side limits, as shares of the run's budget: a statement ends on the
# server before the client gives up on it, and a catalog or count(*) query never
# queues for long behind someone's ACCESS EXCLUSIVE lock.
_STATEMENT_SHARE = 0.8
_LOCK_TIMEOUT_MS = 1000
_BACKOFF_FIRST = 1.0
_BACKOFF_CAP = 30.0


class _Down(Exception):
    """No usable connection this run; the message is for the operator."""


@dataclass(frozen=True, slots=True)
class _SessionInfo:
    version: int
    read_all_stats: bool


class Backoff:
    """Delay between connection attempts: doubles from `first` up to `cap`."""

    def __init__(self, first: float, cap: float) -> None:
        self._first = first
        self._cap = cap
        self._delay = 0.0
        self._not_before = float("-inf")

    def ready(self, now: float) -> bool:
        return now >= self._not_before

    def failed(self, now: float) -> None:
        self._delay = min(self._cap, self._delay * 2) if self._delay else self._first
        self._not_before = now + self._delay

    def succeeded(self) -> None:
        self._delay = 0.0
        self._not_before = float("-inf")


class PostgresProbe:
    kind = "postgres"

    def __init__(self, config: PostgresConfig, clock: Clock | None = None) -> None:
        self.name = config.name
        self.interval = float(config.interval)
        self.timeout = float(config.timeout)
        self._config = config
        self._clock: Clock = clock or SystemClock()
        self._budget = self.timeout * _BUDGET
        statement_ms = max(1, int(self._budget * _STATEMENT_SHARE * 1000))
        self._session_args = (f"{statement_ms}ms", f"{min(_LOCK_TIMEOUT_MS, statement_ms)}ms")
        # Never wait longer than one interval: once the server is back, the next
        # run or the one after reconnects. Runs more frequent than the interval
        # (`warroom check` loops, manual refreshes) are what the backoff throttles.
        self._backoff = Backoff(
            min(_BACKOFF_FIRST, self.interval), min(_BACKOFF_CAP, self.interval)
        )
        self._session: Session | None = None
        self._info = _SessionInfo(version=0, read_all_stats=False)
        self._core_sql = ""
        self._last_error = "not connected yet"
        self._sampler = Sampler()

    async def run(self) -> ProbeResult:
        started = time.monotonic()
        deadline = asyncio.get_running_loop().time() + self._budget
        try:
            try:
                rtt = await self._ping(deadline)
            except _Down as down:
                return self._result(started, Status.DOWN, {"up": False}, [str(down)])
            return await self._measure(started, deadline, rtt)
        except asyncio.CancelledError:
            # Cancelled mid-query: the connection's protocol state is unknown.
            await self._drop()
            raise
        except Exception as exc:
            # A bug here must not end the scheduler's task: report it, start clean.
            await self._drop()
            return self._result(started, Status.UNKNOWN, {}, [f"probe error: {self._text(exc)}"])

    async def close(self) -> None:
        await self._drop()

    # -- connection ------------------------------------------------------------

    async def _ping(self, deadline: float) -> float:
        """Round-trip time of `SELECT 1`, reconnecting once if the kept connection died."""
        if self._session is not None:
            try:
                return await self._timed_ping(self._session, deadline)
            except Exception:
                # Typically a server restart since the last run: try a fresh connection.
                await self._drop()
        session = await self._connect(deadline)
        try:
            return await self._timed_ping(session, deadline)
        except Exception as exc:
            await self._drop()
            raise _Down(self._text(exc)) from None

    @staticmethod
    async def _timed_ping(session: Session, deadline: float) -> float:
        begun = time.monotonic()
        async with asyncio.timeout_at(deadline):
            await session.fetch_value(PING)
        return time.monotonic() - begun

    async def _connect(self, deadline: float) -> Session:
        now = self._clock.monotonic()
        if not self._backoff.ready(now):
            raise _Down(self._last_error)
        try:
            async with asyncio.timeout_at(deadline):
                session = await connect(self._config.driver, self._config.dsn.reveal())
                try:
                    info = json.loads(await session.fetch_value(SESSION, *self._session_args))
                except BaseException:
                    await session.close()
                    raise
        except Exception as exc:
            self._last_error = self._text(exc)
            self._backoff.failed(now)
            raise _Down(self._last_error) from None
        self._backoff.succeeded()
        self._session = session
        self._info = _SessionInfo(info["version"], info["read_all_stats"])
        self._core_sql = core_query(self._info.version)
        return session

    async def _drop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _fetch_json(self, deadline: float, query: str, *args: Any) -> Any:
        """One JSON statement; on a timeout or a broken connection the session is dropped."""
        session = self._session
        if session is None:
            raise ConnectionError("connection lost earlier in this run")
        try:
            async with asyncio.timeout_at(deadline):
                return json.loads(await session.fetch_value(query, *args))
        except TimeoutError:
            await self._drop()  # the statement may still be in flight
            raise
        except Exception:
            # A server error (lock or statement timeout) leaves the session usable.
            if not session.usable:
                await self._drop()
            raise

    # -- measurement -----------------------------------------------------------

    async def _measure(self, started: float, deadline: float, rtt: float) -> ProbeResult:
        config = self._config
        metrics: dict[str, MetricValue] = {
            "up": True,
            "rtt": rtt,
            "server_version_num": self._info.version,
            "row_drop_threshold": config.row_drop_threshold,
        }
        errors: list[str] = []
        unavailable: list[str] = []
        detail: dict[str, Any] = {"queries": [], "tables": []}
        try:
            snapshot = await self._fetch_json(deadline, self._core_sql, float(config.long_query))
        except Exception as exc:
            errors.append(f"server metrics: {self._text(exc)}")
        else:
            core = self._sampler.core(self._clock.monotonic(), snapshot, self._info.read_all_stats)
            metrics.update(core.metrics)
            unavailable.extend(core.unavailable)
            detail["queries"] = core.queries
        rows: list[Any] = []
        try:
            if config.critical_tables:
                names = list(config.critical_tables)
                rows = await self._fetch_json(deadline, TABLES, names, config.exact_count_limit)
        except Exception as exc:
            errors.append(f"critical tables: {self._text(exc)}")
        else:
            tables = self._sampler.tables(self._clock.monotonic(), rows)
            metrics.update(tables.metrics)
            detail["tables"] = tables.detail
            errors.extend(tables.errors)
        status = Status.WARNING if errors else Status.OK
        return self._result(started, status, metrics, errors, detail, unavailable)

    def _text(self, exc: BaseException) -> str:
        """An exception as one line an operator can read, with the DSN's password scrubbed."""
        if isinstance(exc, TimeoutError):
            return f"timed out after {self._budget:.1f}s"
        return one_line(exc, [self._config.dsn])

    def _result(
        self,
        started: float,
        status: Status,
        metrics: dict[str, MetricValue],
        errors: list[str],
        detail: dict[str, Any] | None = None,
        unavailable: list[str] | None = None,
    ) -> ProbeResult:
        return ProbeResult(
            name=self.name,
            kind=self.kind,
            status=status,
            observed_at=self._clock.now(),
            duration=time.monotonic() - started,
            metrics=metrics,
            detail=detail or {},
            error=one_line("; ".join(errors)) if errors else None,
            unavailable=tuple(unavailable or ()),
        )
