"""SentryProbe against a Sentry-shaped loopback server (tests/fixtures/http_servers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from console.config.model import Duration, SentryConfig
from console.config.secret import Secret
from probes.http_client import HttpClients
from probes.result import Status
from probes.sentry import SentryProbe
from tests.fixtures.http_servers import SENTRY_TOKEN, SentryFake

CONTRACT = {
    "up", "events_per_minute", "events_last_hour", "accepted_last_hour", "dropped_last_hour",
    "rate_limited_last_hour", "baseline_per_minute", "spike_ratio", "spike_threshold",
    "new_issues_last_hour", "stale_seconds",
}  # fmt: skip
PROJECT_PATH = "/api/0/projects/org/project/"


@pytest.fixture
async def clients() -> AsyncIterator[HttpClients]:
    shared = HttpClients()
    yield shared
    await shared.aclose()


def sentry(clients: HttpClients, fake: SentryFake, **overrides: Any) -> SentryProbe:
    fields: dict[str, Any] = {
        "name": "errors",
        "org": "org",
        "project": "project",
        "token": Secret(SENTRY_TOKEN),
        "base_url": fake.url + "/",
        "timeout": Duration(1.0),
    } | overrides
    return SentryProbe(SentryConfig(**fields), clients.wire(True))


async def test_steady_error_rate(sentry_server: SentryFake, clients: HttpClients) -> None:
    result = await sentry(clients, sentry_server).run()
    assert result.status is Status.OK, result.error
    assert set(result.metrics) == CONTRACT
    assert result.metrics == {
        "up": True,
        "events_per_minute": 2.0,
        "events_last_hour": 120,
        "accepted_last_hour": 120,
        "dropped_last_hour": 0,
        "rate_limited_last_hour": 0,
        "baseline_per_minute": 2.0,
        "spike_ratio": 1.0,
        "spike_threshold": 3.0,
        "new_issues_last_hour": 3,
        "stale_seconds": 0.0,
    }
    assert result.detail["new_issues_lower_bound"] is False


async def test_a_spike_over_the_last_five_complete_minutes(
    sentry_server: SentryFake, clients: HttpClients
) -> None:
    # The current minute is still filling up: its count must not be used.
    sentry_server.accepted = lambda ago: 1000 if ago == 0 else 50 if ago <= 5 else 2
    sentry_server.rate_limited = lambda ago: 1 if 0 < ago <= 60 else 0
    result = await sentry(clients, sentry_server, spike_ratio=4.0).run()
    metrics = result.metrics
    assert metrics["events_per_minute"] == 51.0
    assert metrics["baseline_per_minute"] == 2.0
    assert metrics["spike_ratio"] == 25.5 and metrics["spike_threshold"] == 4.0
    assert metrics["events_last_hour"] == 5 * 51 + 55 * 3
    assert metrics["rate_limited_last_hour"] == 60 and metrics["dropped_last_hour"] == 60


async def test_a_quiet_baseline_does_not_divide_by_zero(
    sentry_server: SentryFake, clients: HttpClients
) -> None:
    sentry_server.accepted = lambda ago: 1 if ago <= 5 else 0
    metrics = (await sentry(clients, sentry_server).run()).metrics
    assert metrics["baseline_per_minute"] == 0.0
    assert metrics["spike_ratio"] == pytest.approx(60.0)


async def test_project_id_is_looked_up_once(
    sentry_server: SentryFake, clients: HttpClients
) -> None:
    probe = sentry(clients, sentry_server)
    await probe.run()
    await probe.run()
    assert sentry_server.calls.count(PROJECT_PATH) == 1
    assert len(sentry_server.calls) == 5


async def test_more_issues_than_one_page_is_a_lower_bound(
    sentry_server: SentryFake, clients: HttpClients
) -> None:
    sentry_server.mode, sentry_server.new_issues = "paginated", 100
    result = await sentry(clients, sentry_server).run()
    assert result.metrics["new_issues_last_hour"] == 100
    assert result.detail["new_issues_lower_bound"] is True
    assert "more than 100" in result.detail["note"]


@pytest.mark.parametrize("mode", ["401", "403"])
async def test_a_rejected_token_is_unknown_and_never_printed(
    mode: str, sentry_server: SentryFake, clients: HttpClients
) -> None:
    sentry_server.mode = mode
    result = await sentry(clients, sentry_server).run()
    assert result.status is Status.UNKNOWN
    assert f"HTTP {mode}" in (result.error or "") and "token" in (result.error or "")
    assert SENTRY_TOKEN not in repr(result)
    assert result.metrics == {}


async def test_a_wrong_token(sentry_server: SentryFake, clients: HttpClients) -> None:
    result = await sentry(clients, sentry_server, token=Secret("sntrys_wrong")).run()
    assert result.status is Status.UNKNOWN and "sntrys_wrong" not in repr(result)


async def test_no_token_configured(sentry_server: SentryFake, clients: HttpClients) -> None:
    result = await sentry(clients, sentry_server, token=Secret("")).run()
    assert (result.status, result.error) == (Status.UNKNOWN, "no token configured")
    assert sentry_server.calls == []


async def test_rate_limit_serves_stale_metrics_and_waits_for_retry_after(
    sentry_server: SentryFake, clients: HttpClients
) -> None:
    probe = sentry(clients, sentry_server)
    good = await probe.run()
    sentry_server.mode, sentry_server.retry_after = "429", "30"
    limited = await probe.run()
    calls = len(sentry_server.calls)
    again = await probe.run()
    assert len(sentry_server.calls) == calls  # not called again before Retry-After
    for result in (limited, again):
        assert result.status is Status.WARNING
        assert "rate limited" in (result.error or "")
        assert result.metrics["events_per_minute"] == good.metrics["events_per_minute"]
        assert result.metrics["stale_seconds"] > 0  # type: ignore[operator]
    assert "next call in 30s" in (limited.error or "")


async def test_rate_limited_before_any_data_is_unknown(
    sentry_server: SentryFake, clients: HttpClients
) -> None:
    sentry_server.mode = "429"
    result = await sentry(clients, sentry_server).run()
    assert result.status is Status.UNKNOWN and result.metrics == {}


@pytest.mark.parametrize(
    ("mode", "status", "error"),
    [
        ("500", Status.DOWN, "Sentry error HTTP 500"),
        ("404", Status.UNKNOWN, "Sentry has no project org/project (HTTP 404)"),
        ("malformed", Status.UNKNOWN, "malformed JSON from Sentry"),
        ("bad_shape", Status.UNKNOWN, "malformed stats_v2 response"),
        ("slow", Status.DOWN, "Sentry did not answer within 300ms"),
    ],
)
async def test_failures_are_one_line_results(
    mode: str, status: Status, error: str, sentry_server: SentryFake, clients: HttpClients
) -> None:
    sentry_server.mode, sentry_server.delay = mode, 1.0
    result = await sentry(clients, sentry_server, timeout=Duration(0.3)).run()
    assert result.status is status
    assert (result.error or "").startswith(error)
    assert "\n" not in (result.error or "")


async def test_the_issues_are_read_while_the_error_rates_are(
    sentry_server: SentryFake, clients: HttpClients
) -> None:
    sentry_server.mode, sentry_server.delay = "slow", 0.4  # every answer takes 0.4 s
    probe = sentry(clients, sentry_server, timeout=Duration(2.0))
    first = await probe.run()  # the project's id, then the rates; the issues meanwhile
    second = await probe.run()  # the id is known: the rates and the issues together
    assert first.status is second.status is Status.OK
    # One read after another, the runs would take at least 1.2 s and 0.8 s.
    assert first.duration < 3 * 0.4 and second.duration < 2 * 0.4


async def test_unreachable_sentry_is_down(clients: HttpClients) -> None:
    fake = SentryFake(url="http://127.0.0.1:9")
    result = await sentry(clients, fake).run()
    assert result.status is Status.DOWN
    assert (result.error or "").startswith("cannot reach Sentry")
