"""Slack delivery through the outbox against a real HTTP webhook on loopback."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from console.alerts.model import (
    Acknowledgement,
    AlertState,
    Notification,
    NotificationKind,
    Occurrence,
)
from console.clock import Clock, FakeClock, SystemClock
from console.config.model import Duration, SlackConfig
from console.config.secret import Secret
from console.notify.slack import SlackNotifier
from console.notify.slack_message import format_value, render
from console.state import Store
from probes.http_wire import WireClient

HOOK_SECRET = "hookSECRETxyz123"
DB_PASSWORD = "dbPW-s3cr3t-42"
DSN = Secret(f"postgresql://app:{DB_PASSWORD}@db.internal:5432/app")

Reply = tuple[int, str, dict[str, str]]


@dataclass
class Webhook:
    """A Slack incoming webhook stand-in: scripted replies, recorded requests."""

    replies: list[Reply] = field(default_factory=list)
    default: Reply = (200, "ok", {})
    received: list[tuple[float, str, bytes]] = field(default_factory=list)
    url: str = ""

    def count(self) -> int:
        return len(self.received)

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, _, body in self.received]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.received.append((time.monotonic(), self.path, body))
            status, text, headers = hook.replies.pop(0) if hook.replies else hook.default
            data = text.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_port}/services/T0/B0/{HOOK_SECRET}"
    yield hook
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store.open(tmp_path / "state.sqlite3", clock) as s:
        s.register_secrets([DSN])  # what the monitor does with config.secrets()
        yield s


@pytest.fixture
async def client() -> AsyncIterator[WireClient]:
    wire = WireClient(verify=True, per_origin=1)
    yield wire
    await wire.aclose()


def occurrence(occ_id: str = "occ-1", **changes: Any) -> Occurrence:
    base = Occurrence(
        id=occ_id,
        rule="database-down",
        probe="main",
        severity="P0",
        state=AlertState.FIRING,
        summary=f"Database main is unreachable: cannot connect to {DSN.reveal()}",
        started_at=1_780_000_000.0,
        fired_at=1_780_000_010.0,
        deadline=1_780_000_310.0,
    )
    return replace(base, **changes)


def enqueue(store: Store, clock: Clock, key: str = "occ-1:fire:1", **changes: Any) -> None:
    occ = occurrence(**changes)
    note = Notification(key, NotificationKind.FIRE, occ, clock.now())
    store.enqueue(note, render(note, environment="production", mentions="<!channel>"))


def notifier(
    store: Store,
    webhook: Webhook | str,
    clock: Clock,
    client: WireClient,
    holder: str = "test-1",
    give_up_after: float = 3600.0,
) -> SlackNotifier:
    url = webhook.url if isinstance(webhook, Webhook) else webhook
    config = SlackConfig(webhook_url=Secret(url), give_up_after=Duration(give_up_after))
    return SlackNotifier(
        store, config, [DSN], clock, holder, client, poll_interval=0.01, rng=random.Random(7)
    )


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def settle() -> None:
    """Long enough for a running notifier to do anything it would do now."""
    await asyncio.sleep(0.2)


def outbox_row(store: Store, key: str) -> dict[str, Any]:
    return dict(store._query("SELECT * FROM outbox WHERE key = ?", (key,))[0])


def assert_no_secrets(
    store: Store, webhook: Webhook, caplog: pytest.LogCaptureFixture | None = None
) -> None:
    haystacks = [body for _, _, body in webhook.received]
    haystacks += [repr(e).encode() for e in store.audit_entries()]
    haystacks += ["\n".join(store._conn.iterdump()).encode()]
    haystacks += [p.read_bytes() for p in store.path.parent.glob(store.path.name + "*")]
    haystacks += [(store.notification_health() or "").encode()]
    if caplog is not None:
        haystacks.append(caplog.text.encode())
    for secret in (HOOK_SECRET, DB_PASSWORD, webhook.url):
        assert not any(secret.encode() in h for h in haystacks), secret
    for _, _, body in webhook.received:
        assert json.loads(body)["text"]


# -- rendering ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_message_has_text_and_colour(kind: NotificationKind) -> None:
    occ = occurrence(
        state=AlertState.RESOLVED if kind is NotificationKind.RESOLVE else AlertState.FIRING,
        resolved_at=1_780_000_400.0,
        ack=Acknowledgement("alice (ssh 203.0.113.5)", 1_780_000_100.0, "on it"),
    )
    message: dict[str, Any] = render(
        Notification("k", kind, occ, 1_780_000_500.0), environment="staging", mentions="<!here>"
    )
    assert isinstance(message["text"], str) and "staging" in message["text"]
    assert message["text"].startswith("<!here> ")
    [attachment] = message["attachments"]
    resolved = kind is NotificationKind.RESOLVE
    assert attachment["color"] == ("#2EB67D" if resolved else "#E01E5A")
    shown = json.dumps(attachment)
    assert "2026-05-28T20:26:50Z (8m10s ago)" in shown  # since: ISO and relative
    if kind in (NotificationKind.ACKNOWLEDGE, NotificationKind.RESOLVE):
        assert "alice (ssh 203.0.113.5)" in shown
    else:
        assert "overdue" in shown  # deadline passed 3m10s before this message


def test_colour_per_severity_and_escaping() -> None:
    for severity, colour in (("P1", "#F2952F"), ("P2", "#ECB22E")):
        occ = occurrence(severity=severity, summary="p95 > 5s <@U123>")
        message: dict[str, Any] = render(
            Notification("k", NotificationKind.FIRE, occ, 1.0), environment="prod", mentions=""
        )
        assert message["attachments"][0]["color"] == colour
        assert "&gt; 5s &lt;@U123&gt;" in str(message["text"])


def test_values_in_their_units() -> None:
    assert format_value("api-slow", 6.25) == "6.2s"
    assert format_value("connections-high", 0.934) == "93.4%"
    assert format_value("replication-lag", 420.0) == "7m"
    assert format_value("error-spike", 4.2) == "4.2x"
    assert format_value("wraparound", 1_200_000_000) == "1,200,000,000"
    assert format_value("database-down", False) == "no"
    assert format_value("custom", None) == "n/a"


# -- delivery -----------------------------------------------------------------------


async def test_delivered_once_and_not_again_after_restart(
    store: Store,
    webhook: Webhook,
    clock: FakeClock,
    client: WireClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    enqueue(store, clock)
    first = notifier(store, webhook, clock, client)
    task = asyncio.create_task(first.run())
    await until(lambda: store.pending_notifications() == 0)
    await first.flush(1.0)
    await first.stop()
    await task
    assert webhook.count() == 1
    assert webhook.received[0][1] == f"/services/T0/B0/{HOOK_SECRET}"
    assert webhook.payloads()[0]["text"].startswith("<!channel> [production] P0 FIRING")

    # A restart (same key enqueued again by a replaying engine) sends nothing.
    enqueue(store, clock)
    clock.advance(3600)
    second = notifier(store, webhook, clock, client, holder="test-2")
    task = asyncio.create_task(second.run())
    await settle()
    await second.flush(1.0)
    await second.stop()
    await task
    assert webhook.count() == 1
    assert store.notification_health() is None
    assert_no_secrets(store, webhook, caplog)


async def test_429_waits_exactly_retry_after(
    store: Store, webhook: Webhook, clock: FakeClock, client: WireClient
) -> None:
    webhook.replies = [(429, "rate_limited", {"Retry-After": "2"})]
    enqueue(store, clock)
    sender = notifier(store, webhook, clock, client)
    task = asyncio.create_task(sender.run())
    await until(lambda: outbox_row(store, "occ-1:fire:1")["last_error"] is not None)
    assert outbox_row(store, "occ-1:fire:1")["next_attempt_at"] == clock.now() + 2
    clock.advance(1.99)
    await settle()
    assert webhook.count() == 1
    clock.advance(0.01)
    await until(lambda: webhook.count() == 2)
    await until(lambda: store.pending_notifications() == 0)
    await sender.stop()
    await task
    assert store.notification_health() is None
    assert_no_secrets(store, webhook)


async def test_500_then_200_delivers_once(
    store: Store, webhook: Webhook, clock: FakeClock, client: WireClient
) -> None:
    webhook.replies = [(500, "internal_error", {})]
    enqueue(store, clock)
    sender = notifier(store, webhook, clock, client)
    task = asyncio.create_task(sender.run())
    await until(lambda: outbox_row(store, "occ-1:fire:1")["last_error"] == "500 internal_error")
    assert store.notification_health() == "notifications failing: 500 internal_error"
    backoff = float(outbox_row(store, "occ-1:fire:1")["next_attempt_at"]) - clock.now()
    assert 1.0 <= backoff <= 2.0  # first retry: base 2 s with jitter in [50%, 100%]
    clock.advance(backoff)
    await until(lambda: store.pending_notifications() == 0)
    await settle()
    await sender.stop()
    await task
    assert webhook.count() == 2
    assert webhook.received[0][2] == webhook.received[1][2]  # the same message, once delivered
    assert store.notification_health() is None
    assert_no_secrets(store, webhook)


async def test_403_invalid_token_not_retried_audited_and_shown(
    store: Store, webhook: Webhook, clock: FakeClock, client: WireClient
) -> None:
    webhook.default = (403, "invalid_token", {})
    enqueue(store, clock)
    sender = notifier(store, webhook, clock, client)
    task = asyncio.create_task(sender.run())
    await until(lambda: store.pending_notifications() == 0)
    clock.advance(3600)
    await settle()
    await sender.stop()
    await task
    assert webhook.count() == 1
    assert store.notification_health() == "notifications failing: 403 invalid_token"
    [entry] = store.audit_entries()
    assert (entry.action, entry.target, entry.outcome) == (
        "notify",
        "occ-1:fire:1",
        "failed: 403 invalid_token",
    )
    assert outbox_row(store, "occ-1:fire:1")["failed_at"] is not None
    assert_no_secrets(store, webhook)


async def test_gives_up_after_bounded_time(
    store: Store, webhook: Webhook, clock: FakeClock, client: WireClient
) -> None:
    webhook.default = (503, "service unavailable", {})
    enqueue(store, clock)
    sender = notifier(store, webhook, clock, client, give_up_after=60)
    task = asyncio.create_task(sender.run())
    for _ in range(100):  # fake time runs far past give_up_after
        if store.pending_notifications() == 0:
            break
        clock.advance(5)
        await asyncio.sleep(0.05)
    await sender.stop()
    await task
    assert store.pending_notifications() == 0
    attempts = webhook.count()
    assert 3 <= attempts <= 12  # exponential backoff inside 60 s, then one final try
    [entry] = store.audit_entries()
    assert entry.outcome == f"gave up after {attempts} attempts: 503 service unavailable"
    assert store.notification_health() == "notifications failing: 503 service unavailable"
    assert_no_secrets(store, webhook)


async def test_connection_error_is_retried(
    store: Store, clock: FakeClock, client: WireClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    closed = f"http://127.0.0.1:9/services/T0/B0/{HOOK_SECRET}"  # discard port: refused
    enqueue(store, clock)
    sender = notifier(store, closed, clock, client)
    task = asyncio.create_task(sender.run())
    await until(lambda: outbox_row(store, "occ-1:fire:1")["last_error"] is not None)
    await sender.stop()
    await task
    assert outbox_row(store, "occ-1:fire:1")["last_error"] == (
        "connection error (cannot connect to 127.0.0.1:9: Connection refused)"
    )
    assert store.pending_notifications() == 1
    assert_no_secrets(store, Webhook(url=closed), caplog)


async def test_at_most_one_request_per_second_fake_clock(
    store: Store, webhook: Webhook, clock: FakeClock, client: WireClient
) -> None:
    for i in range(3):
        enqueue(store, clock, key=f"occ-{i}:fire:1", id=f"occ-{i}")
    sender = notifier(store, webhook, clock, client)
    task = asyncio.create_task(sender.run())
    await until(lambda: webhook.count() == 1)
    await settle()
    assert webhook.count() == 1
    clock.advance(0.9)
    await settle()
    assert webhook.count() == 1
    clock.advance(0.1)
    await until(lambda: webhook.count() == 2)
    clock.advance(1.0)
    await until(lambda: webhook.count() == 3)
    await sender.stop()
    await task


@pytest.mark.slow
async def test_at_most_one_request_per_second_real_clock(
    tmp_path: Path, webhook: Webhook, client: WireClient
) -> None:
    clock = SystemClock()
    with Store.open(tmp_path / "real.sqlite3", clock) as real:
        for i in range(3):
            enqueue(real, clock, key=f"occ-{i}:fire:1", id=f"occ-{i}")
        sender = notifier(real, webhook, clock, client)
        await sender.flush(10.0)
        await sender.stop()
        assert real.pending_notifications() == 0
    starts = [at for at, _, _ in webhook.received]
    assert len(starts) == 3
    assert all(b - a >= 0.99 for a, b in itertools.pairwise(starts))


async def test_two_notifiers_never_send_one_row_twice(
    store: Store, webhook: Webhook, clock: FakeClock, client: WireClient
) -> None:
    for i in range(6):
        enqueue(store, clock, key=f"occ-{i}:fire:1", id=f"occ-{i}")
    with Store.open(store.path, clock) as other_store:
        senders = [
            notifier(store, webhook, clock, client, holder="a"),
            notifier(other_store, webhook, clock, client, holder="b"),
        ]
        tasks = [asyncio.create_task(s.run()) for s in senders]
        while store.pending_notifications():
            clock.advance(1.0)
            await asyncio.sleep(0.05)
        for s in senders:
            await s.stop()
        await asyncio.gather(*tasks)
    ids = [p["attachments"][0]["blocks"][3]["elements"][0]["text"] for p in webhook.payloads()]
    assert len(ids) == 6 and len(set(ids)) == 6
