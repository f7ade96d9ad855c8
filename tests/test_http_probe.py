"""HttpProbe against real loopback servers (tests/fixtures/http_servers.py)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from console.config.model import Duration, HttpConfig
from console.config.secret import Secret
from probes.http import HttpProbe
from probes.http_client import HttpClients
from probes.result import Status
from probes.tls import not_after
from tests.fixtures.http_servers import TLS_DAYS_LEFT, HandlerServer, Reply, SilentServer

CONTRACT = {
    "up", "status_code", "status_ok", "body_ok", "latency", "latency_connect", "latency_ttfb",
    "latency_p50", "latency_p95", "latency_p99", "availability", "availability_target",
    "tls_days_left",
}  # fmt: skip
TOKEN = "Bearer tok-6f1d2c9b8a"


@pytest.fixture
async def clients() -> AsyncIterator[HttpClients]:
    shared = HttpClients()
    yield shared
    await shared.aclose()


def probe(clients: HttpClients, url: str, **overrides: Any) -> HttpProbe:
    fields: dict[str, Any] = {"name": "api", "url": url, "timeout": Duration(1.0)} | overrides
    config = HttpConfig(**fields)
    return HttpProbe(config, clients.wire(config.verify_tls))


async def test_healthy_endpoint(http_server: HandlerServer, clients: HttpClients) -> None:
    http_server.routes["/health"] = Reply(200, "all healthy here")
    api = probe(clients, f"{http_server.url}/health", expect_body="healthy")
    result = await api.run()
    assert result.status is Status.OK and result.error is None
    assert set(result.metrics) <= CONTRACT
    metrics = result.metrics
    assert metrics["up"] is True and metrics["status_code"] == 200
    assert metrics["status_ok"] is True and metrics["body_ok"] is True
    assert 0 < metrics["latency"] < 1  # type: ignore[operator]
    assert 0 <= metrics["latency_connect"] <= metrics["latency_ttfb"] <= metrics["latency"]  # type: ignore[operator]
    assert metrics["availability"] == 1.0 and metrics["availability_target"] == 0.995
    assert "tls_days_left" not in metrics
    await api.close()


async def test_the_shared_pool_reuses_connections(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    http_server.routes["/"] = Reply()
    api = probe(clients, http_server.url + "/")
    first, second = await api.run(), await api.run()
    assert "latency_connect" in first.metrics and first.detail["reused_connection"] is False
    assert "latency_connect" not in second.metrics and second.detail["reused_connection"] is True


async def test_unexpected_status_is_critical(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    http_server.routes["/health"] = Reply(500, "oops")
    result = await probe(clients, f"{http_server.url}/health").run()
    assert result.status is Status.CRITICAL
    assert result.metrics["up"] is False and result.metrics["status_ok"] is False
    assert result.metrics["status_code"] == 500
    assert result.error == "HTTP 500, expected 200"


async def test_unexpected_body_is_critical(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    http_server.routes["/health"] = Reply(200, "degraded")
    api = probe(
        clients, f"{http_server.url}/health", expect_body="healthy", expect_status=(200, 204)
    )
    result = await api.run()
    assert result.status is Status.CRITICAL
    assert result.metrics["status_ok"] is True and result.metrics["body_ok"] is False
    assert result.error == "body does not contain 'healthy'"


async def test_redirects_are_followed_only_when_configured(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    http_server.routes["/old"] = Reply(302, "", headers={"Location": "/new"})
    http_server.routes["/new"] = Reply(200, "healthy")
    url = f"{http_server.url}/old"
    stay = await probe(clients, url).run()
    assert stay.status is Status.CRITICAL and stay.metrics["status_code"] == 302
    follow = await probe(clients, url, follow_redirects=True).run()
    assert follow.status is Status.OK and follow.detail["url"].endswith("/new")


async def test_slow_response_is_down_after_the_read_timeout(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    http_server.routes["/slow"] = Reply(200, "late", delay=1.5)
    started = time.monotonic()
    result = await probe(clients, f"{http_server.url}/slow", timeout=Duration(0.3)).run()
    assert time.monotonic() - started < 1.0
    assert result.status is Status.DOWN
    assert result.error == "no response within 300ms (read timeout)"
    assert set(result.metrics) == {"up", "availability", "availability_target"}


async def test_a_server_that_never_answers_is_down(
    silent_server: SilentServer, clients: HttpClients
) -> None:
    result = await probe(clients, silent_server.url, timeout=Duration(0.3)).run()
    assert result.status is Status.DOWN and "read timeout" in (result.error or "")
    assert silent_server.accepted


async def test_connection_refused_is_down_and_counts_against_availability(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    refused = probe(clients, f"http://127.0.0.1:{port}/")
    result = await refused.run()
    assert result.status is Status.DOWN
    assert (result.error or "").startswith(f"cannot connect to 127.0.0.1:{port}")
    assert result.metrics == {"up": False, "availability": 0.0, "availability_target": 0.995}


async def test_percentiles_and_availability_over_the_window(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    delays = iter([0.0] * 8 + [0.2, 0.2])
    http_server.routes["/"] = lambda seen: Reply(200, "ok", delay=next(delays))
    api = probe(clients, http_server.url + "/")
    for _ in range(9):
        await api.run()
    http_server.routes["/"] = Reply(503, "down", delay=0.2)
    result = await api.run()
    assert result.metrics["availability"] == pytest.approx(0.9)
    p50, p95, p99 = (float(result.metrics[f"latency_p{q}"]) for q in (50, 95, 99))  # type: ignore[arg-type]
    assert p50 < 0.1 and 0.2 <= p95 == p99 < 0.5


async def test_samples_older_than_the_window_are_forgotten(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    http_server.routes["/"] = Reply(500)
    config = HttpConfig(name="api", url=http_server.url + "/")
    api = HttpProbe(config, clients.wire(True), window=0.2)
    await api.run()
    time.sleep(0.3)
    http_server.routes["/"] = Reply(200)
    assert (await api.run()).metrics["availability"] == 1.0


async def test_tls_days_left_from_the_peer_certificate(
    tls_server: HandlerServer, clients: HttpClients
) -> None:
    tls_server.routes["/"] = Reply(200, "healthy")
    result = await probe(clients, tls_server.url + "/", verify_tls=False).run()
    assert result.status is Status.OK
    assert TLS_DAYS_LEFT - 0.01 < result.metrics["tls_days_left"] <= TLS_DAYS_LEFT  # type: ignore[operator]
    assert result.metrics["latency_connect"] > 0  # type: ignore[operator]


async def test_an_untrusted_certificate_is_down_when_verifying(
    tls_server: HandlerServer, clients: HttpClients
) -> None:
    result = await probe(clients, tls_server.url + "/", verify_tls=True).run()
    assert result.status is Status.DOWN
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error or "")


def test_not_after_matches_cryptography(tls_certificate: tuple[Path, Path]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate(tls_certificate[0].read_bytes())
    der = cert.public_bytes(Encoding.DER)
    assert not_after(der) == cert.not_valid_after_utc.timestamp()


async def test_header_values_reach_the_server_but_never_an_error(
    silent_server: SilentServer, http_server: HandlerServer, clients: HttpClients
) -> None:
    headers = {"Authorization": Secret(TOKEN)}
    http_server.routes["/"] = Reply(401, f"bad token {TOKEN}")
    rejected = await probe(clients, http_server.url + "/", headers=headers).run()
    assert http_server.seen[-1].headers["Authorization"] == TOKEN
    hung = await probe(clients, silent_server.url, headers=headers, timeout=Duration(0.2)).run()
    for result in (rejected, hung):
        assert TOKEN not in repr(result)


async def test_head_requests_read_no_body(http_server: HandlerServer, clients: HttpClients) -> None:
    http_server.routes["/"] = Reply(200, "healthy")
    result = await probe(clients, http_server.url + "/", method="HEAD").run()
    assert result.status is Status.OK and http_server.seen[-1].method == "HEAD"


async def test_a_slow_target_only_holds_its_own_connections(
    http_server: HandlerServer, silent_server: SilentServer
) -> None:
    shared = HttpClients(per_origin=2)
    try:
        http_server.routes["/"] = Reply(200, "ok")
        client = shared.wire(True)
        hung = [
            HttpProbe(
                HttpConfig(name=f"hung{i}", url=silent_server.url, timeout=Duration(0.5)), client
            )
            for i in range(4)
        ]
        fast = HttpProbe(HttpConfig(name="fast", url=http_server.url + "/"), client)
        stuck = [asyncio.ensure_future(p.run()) for p in hung]
        await asyncio.sleep(0.1)  # the hung target's two slots are taken, two runs queue
        started = time.monotonic()
        assert (await fast.run()).status is Status.OK
        assert time.monotonic() - started < 0.5
        errors = sorted(r.error or "" for r in await asyncio.gather(*stuck))
        assert errors == 2 * [
            "no free connection within 500ms (too many requests in flight)"
        ] + 2 * ["no response within 500ms (read timeout)"]
    finally:
        await shared.aclose()


async def test_hundreds_of_probes_at_once_on_one_origin(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    http_server.routes["/"] = Reply(200, "healthy")
    client = clients.wire(True)
    probes = [
        HttpProbe(HttpConfig(name=f"p{i}", url=http_server.url + "/"), client) for i in range(300)
    ]
    started = time.monotonic()
    results = await asyncio.gather(*(p.run() for p in probes))
    assert {r.status for r in results} == {Status.OK}
    assert time.monotonic() - started < 5  # a queue in httpcore's pool once took ~20 s


async def test_cookies_set_by_a_target_are_never_sent_back(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    http_server.routes["/"] = Reply(200, "ok", headers={"Set-Cookie": "session=abc; Path=/"})
    api = probe(clients, http_server.url + "/")
    await api.run()
    await api.run()
    assert "Cookie" not in http_server.seen[-1].headers


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        ("", 60.0),
        ("soon", 60.0),
        ("-5", 60.0),
        ("inf", 60.0),  # would pause for good
        ("nan", 60.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date already past: go now
    ],
)
def test_retry_after_is_one_parser_for_slack_sentry_and_zendesk(value: str, seconds: float) -> None:
    from probes.http_client import retry_after

    assert retry_after(httpx.Headers({"Retry-After": value}), 60.0) == seconds
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 90))
    assert 80 < retry_after(httpx.Headers({"retry-after": later}), 60.0) <= 90
