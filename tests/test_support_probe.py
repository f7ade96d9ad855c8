"""The support probe: Zendesk's count API on a real loopback server, the demo API, and SQL."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import psycopg
import pytest

from console.config.model import Duration, SupportConfig
from console.config.secret import Secret
from probes.http_wire import WireClient
from probes.result import Status
from probes.support import SupportProbe, zendesk_searches
from tests.fixtures.demo_api import DemoApi
from tests.fixtures.http_servers import HandlerServer, Reply, Seen, SilentServer

COUNT = "/api/v2/search/count.json"
TOKEN = "zd-token-s3cret"


@pytest.fixture
async def client() -> AsyncIterator[WireClient]:
    shared = WireClient(verify=True, per_origin=6)
    yield shared
    await shared.aclose()


def zendesk(url: str, **overrides: object) -> SupportConfig:
    values: dict[str, object] = {
        "name": "desk",
        "url": url,
        "token": Secret(TOKEN),
        "timeout": 1.0,
    } | overrides
    return SupportConfig(**values)  # type: ignore[arg-type]


def counting(seen: Seen) -> Reply:
    query = seen.query.get("query", "")
    if "created<" in query:
        return Reply(200, '{"count": 2}')
    if "tags:escalated" in query:
        return Reply(200, '{"count": 1}')
    if "status:new" in query:
        return Reply(200, '{"count": 4}')
    return Reply(200, '{"count": 9}')


async def test_counts_from_the_zendesk_shape(
    http_server: HandlerServer, client: WireClient
) -> None:
    http_server.routes[COUNT] = counting
    result = await SupportProbe(zendesk(http_server.url), client).run()
    assert result.status is Status.OK, result.error
    assert {k: result.metrics[k] for k in result.metrics if k.endswith("_tickets")} == {
        "open_tickets": 9,
        "waiting_tickets": 4,
        "breached_tickets": 2,
        "escalated_tickets": 1,
    }
    assert result.metrics["promise"] == 7200.0
    assert result.unavailable == ("oldest_waiting_age",)
    assert {s.headers["Authorization"] for s in http_server.seen} == {f"Bearer {TOKEN}"}
    assert all(s.query["query"].startswith("type:ticket ") for s in http_server.seen)


def test_breach_search_is_the_promise_ago_in_utc() -> None:
    now = datetime(2025, 3, 1, 12, 30, tzinfo=UTC).timestamp()
    searches = zendesk_searches(zendesk("http://z", search="group:support"), now)
    assert (
        searches["breached"] == "type:ticket group:support status:new created<2025-03-01T10:30:00Z"
    )
    assert searches["open"] == "type:ticket group:support status<solved"
    assert "escalated" not in zendesk_searches(zendesk("http://z", escalated_tag=""), now)


async def test_api_token_with_email_is_basic_auth(
    http_server: HandlerServer, client: WireClient
) -> None:
    http_server.routes[COUNT] = counting
    await SupportProbe(zendesk(http_server.url, email="ops@example.com"), client).run()
    expected = base64.b64encode(f"ops@example.com/token:{TOKEN}".encode()).decode()
    assert http_server.seen[0].headers["Authorization"] == f"Basic {expected}"


@pytest.mark.parametrize(
    ("reply", "status", "fragment"),
    [
        (Reply(401, '{"error": "Couldn\'t authenticate you"}'), Status.UNKNOWN, "HTTP 401"),
        (Reply(500, "oops"), Status.DOWN, "HTTP 500"),
        (Reply(200, "{not json"), Status.UNKNOWN, "malformed JSON"),
        (Reply(200, '{"results": []}'), Status.UNKNOWN, 'no "count"'),
        (Reply(200, "[1]"), Status.UNKNOWN, 'no "count"'),
        (Reply(200, '{"count": 1}', delay=2.0), Status.DOWN, "did not answer within 1s"),
    ],
    ids=["401", "500", "malformed-json", "wrong-shape", "not-an-object", "slow"],
)
async def test_failures_are_one_line_results(
    http_server: HandlerServer,
    client: WireClient,
    reply: Reply,
    status: Status,
    fragment: str,
) -> None:
    http_server.routes[COUNT] = reply
    result = await SupportProbe(zendesk(http_server.url), client).run()
    assert result.status is status
    assert result.error is not None and fragment in result.error, result.error
    assert "\n" not in result.error and TOKEN not in result.error
    assert result.metrics == {}
    assert result.duration < 1.8


async def test_hung_server_is_down_within_the_timeout(
    silent_server: SilentServer, client: WireClient
) -> None:
    result = await SupportProbe(zendesk(silent_server.url, timeout=0.5), client).run()
    assert result.status is Status.DOWN
    assert result.error is not None and "within" in result.error
    assert result.duration < 1.5


async def test_429_is_honoured_until_retry_after(
    http_server: HandlerServer, client: WireClient
) -> None:
    http_server.routes[COUNT] = Reply(429, "{}", headers={"Retry-After": "30"})
    probe = SupportProbe(zendesk(http_server.url), client)
    first = await probe.run()
    asked = len(http_server.seen)
    http_server.routes[COUNT] = counting
    second = await probe.run()
    assert first.status is Status.UNKNOWN and "rate limited" in (first.error or "")
    assert second.status is Status.UNKNOWN and "next request in" in (second.error or "")
    assert len(http_server.seen) == asked  # no request before Retry-After


async def test_demo_api_breach_fault(demo_api: DemoApi, client: WireClient) -> None:
    demo_api.faults.set(support_breach=3)
    result = await SupportProbe(zendesk(demo_api.url), client).run()
    assert result.status is Status.OK, result.error
    assert result.metrics["breached_tickets"] == 3
    assert result.metrics["open_tickets"] == 8


@pytest.mark.postgres
async def test_tickets_from_sql(pg_scratch_db: Callable[[], str]) -> None:
    dsn = pg_scratch_db()
    with psycopg.connect(dsn, autocommit=True) as conn:
        # The seed: five open tickets, two without a first response (25 and 5 minutes old).
        conn.execute(
            "INSERT INTO support_tickets (status, priority, created_at, first_response_at, escalated)"
            " VALUES ('open', 'high', now() - interval '3 hours', NULL, true),"
            "        ('solved', 'low', now() - interval '9 hours', NULL, true),"
            "        (NULL, 'low', now() - interval '1 minute', NULL, false)"
        )
    probe = SupportProbe(SupportConfig(name="desk", dsn=Secret(dsn), timeout=Duration(5.0)))
    try:
        result = await probe.run()
    finally:
        await probe.close()
    assert result.status is Status.OK, result.error
    m = result.metrics
    assert (m["open_tickets"], m["waiting_tickets"], m["breached_tickets"]) == (7, 4, 1)
    assert m["escalated_tickets"] == 1
    assert m["oldest_waiting_age"] == pytest.approx(3 * 3600, abs=60)
    assert result.unavailable == ()
