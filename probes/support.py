"""The support queue against the plan's promise: "You'll hear back within 2 hours."

Two sources, one result shape:

- Zendesk's search count API, `GET {url}/api/v2/search/count.json?query=...` answering
  `{"count": N}`, four counts in parallel (searches, with `search` terms appended):
  open `type:ticket status<solved`, waiting `status:new` (no agent has answered),
  breached `status:new created<{now - promise}` and escalated `tags:{escalated_tag}`.
  Auth: `Authorization: Bearer {token}` (OAuth), or an API token as Basic
  `{email}/token:{token}` when `email` is set. Counts cannot tell ages, so
  `oldest_waiting_age` is listed as unavailable. A 429 is honoured: no request
  before its Retry-After.
- SQL over a tickets table: one aggregate query over the configured columns; a
  ticket is open unless its status is one of `solved_statuses`, waiting while it
  has no first response.
"""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime

from psycopg import sql

from console.config.durations import format_duration
from console.config.golive import table_parts
from console.config.model import SupportConfig
from probes.api_json import decoded, fetch, together
from probes.http_wire import WireClient
from probes.result import MetricValue, ProbeResult, Status, failure
from probes.sources import (
    Measurement,
    RateLimited,
    SourceError,
    SqlSource,
    measure,
)

SERVICE = "Zendesk"
_COUNT_PATH = "/api/v2/search/count.json"

_QUERY = """
SELECT count(*),
       count(*) FILTER (WHERE {first} IS NULL),
       count(*) FILTER (WHERE {first} IS NULL
                          AND {created} < now() - make_interval(secs => %(promise)s)),
       {escalated},
       extract(epoch FROM now() - min({created}) FILTER (WHERE {first} IS NULL))::float8
FROM {table}
WHERE {status} IS NULL OR NOT ({status} = ANY(%(solved)s))
"""


class SupportProbe:
    kind = "support"

    def __init__(self, config: SupportConfig, client: WireClient | None = None) -> None:
        self.name = config.name
        self.interval = float(config.interval)
        self.timeout = float(config.timeout)
        self._config = config
        self._client = client
        self._sql = SqlSource(config.dsn, self.timeout) if config.dsn else None
        self._query = _support_sql(config)
        self._retry_at = 0.0  # monotonic; no request before it (Retry-After)

    async def run(self) -> ProbeResult:
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            return failure(
                self.name,
                self.kind,
                time.monotonic(),
                f"rate limited by {SERVICE}; next request in {format_duration(wait)}",
                Status.UNKNOWN,
            )
        return await measure(self.name, self.kind, self._measure)

    async def close(self) -> None:
        # The HTTP client is shared; its owner closes it.
        if self._sql is not None:
            await self._sql.close()

    async def _measure(self) -> Measurement:
        if self._sql is not None:
            return await self._from_sql(self._sql)
        try:
            async with asyncio.timeout(self.timeout):
                return await self._from_zendesk()
        except TimeoutError:
            raise SourceError(
                f"{SERVICE} did not answer within {format_duration(self.timeout)}"
            ) from None
        except RateLimited as exc:
            self._retry_at = time.monotonic() + exc.retry_after
            raise

    async def _from_zendesk(self) -> Measurement:
        config = self._config
        if self._client is None or config.url is None:
            raise SourceError("no HTTP client for the support desk")  # a wiring bug
        url = config.url.rstrip("/") + _COUNT_PATH
        searches = zendesk_searches(config, time.time())
        counts = await together(
            *(self._count(self._client, url, query) for query in searches.values())
        )
        metrics: dict[str, MetricValue] = {
            "up": True,
            **{f"{key}_tickets": count for key, count in zip(searches, counts, strict=True)},
            "promise": float(config.promise),
        }
        return Measurement(metrics, {"source": "zendesk"}, unavailable=("oldest_waiting_age",))

    async def _count(self, client: WireClient, url: str, query: str) -> int:
        response = await fetch(
            client,
            url,
            service=SERVICE,
            headers=_auth(self._config),
            params={"query": query},
            timeout=self.timeout,
            secrets=[self._config.token] if self._config.token else [],
        )
        body = decoded(response, SERVICE)
        count = body.get("count") if isinstance(body, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise SourceError(f'malformed {SERVICE} count: no "count"', Status.UNKNOWN)
        return count

    async def _from_sql(self, source: SqlSource) -> Measurement:
        config = self._config
        rows = await source.fetch(
            self._query,
            {"promise": float(config.promise), "solved": list(config.solved_statuses)},
        )
        open_, waiting, breached, escalated, oldest = rows[0]
        metrics: dict[str, MetricValue] = {
            "up": True,
            "open_tickets": int(open_),
            "waiting_tickets": int(waiting),
            "breached_tickets": int(breached),
            # Nobody waiting: the oldest wait is zero, not unknown.
            "oldest_waiting_age": float(oldest or 0.0),
            "promise": float(config.promise),
        }
        if escalated is not None:
            metrics["escalated_tickets"] = int(escalated)
        return Measurement(metrics, {"source": "sql"})


def zendesk_searches(config: SupportConfig, now: float) -> dict[str, str]:
    """The search query per count, keyed by metric stem (`open` -> `open_tickets`)."""
    base = f"type:ticket {config.search}".strip()
    deadline = datetime.fromtimestamp(now - config.promise, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    searches = {
        "open": f"{base} status<solved",
        "waiting": f"{base} status:new",
        "breached": f"{base} status:new created<{deadline}",
    }
    if config.escalated_tag:
        searches["escalated"] = f"{base} status<solved tags:{config.escalated_tag}"
    return searches


def _auth(config: SupportConfig) -> dict[str, str]:
    token = config.token.reveal() if config.token else ""
    if not token:
        return {}
    if config.email:
        pair = base64.b64encode(f"{config.email}/token:{token}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    return {"Authorization": f"Bearer {token}"}


def _support_sql(config: SupportConfig) -> sql.Composed:
    escalated: sql.Composable = (
        sql.SQL("count(*) FILTER (WHERE {})").format(sql.Identifier(config.escalated_column))
        if config.escalated_column
        else sql.SQL("NULL::bigint")
    )
    return sql.SQL(_QUERY).format(
        table=sql.Identifier(*table_parts(config.table)),
        status=sql.Identifier(config.status_column),
        created=sql.Identifier(config.created_column),
        first=sql.Identifier(config.first_response_column),
        escalated=escalated,
    )
