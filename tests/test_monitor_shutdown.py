"""Nothing is lost at the edges: a refusal is reported, a send in flight at shutdown
completes, a running action is waited for before the store closes.

Real store, real Slack receiver (slow on purpose), scripted probes, fake clock.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from console.actions.progress import Cancelled, CancelToken, ProgressCallback
from console.clock import FakeClock
from console.config import Config, load_config
from console.monitor import Monitor, MonitorError
from console.state.store import Store
from probes.result import Status
from tests.scripted import ScriptedProbe

SLOW_REPLY = 1.0


class SlowWebhook:
    def __init__(self) -> None:
        self.received = threading.Event()
        self.count = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook.count += 1
                hook.received.set()
                time.sleep(SLOW_REPLY)  # Slack has it; the answer is on its way
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/slowsecret"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_webhook() -> Iterator[SlowWebhook]:
    hook = SlowWebhook()
    yield hook
    hook.close()


def config(tmp_path: Path, webhook: str = "") -> Config:
    path = tmp_path / "config.toml"
    slack = f'[slack]\nwebhook_url = "{webhook}"\n' if webhook else ""
    path.write_text(
        f"""
[console]
operator = "alice"
state_path = "{tmp_path / "state.sqlite3"}"
[postgres.main]
dsn = "postgresql://app:pw@127.0.0.1:1/app"
{slack}"""
    )
    return load_config(path, env={})


async def test_a_notification_in_flight_at_shutdown_is_delivered_not_resent_later(
    tmp_path: Path, slow_webhook: SlowWebhook
) -> None:
    clock = FakeClock()
    db = ScriptedProbe("main", "postgres", clock)
    monitor = Monitor(config(tmp_path, slow_webhook.url), [db], clock=clock)
    await monitor.start()
    db.set(Status.DOWN, error="connection refused")
    for _ in range(2):  # database-down fires on the second failure
        clock.advance(10)
        await monitor.check_once()
    assert await asyncio.to_thread(slow_webhook.received.wait, 10)
    await monitor.stop(flush_timeout=5)  # while Slack is still answering
    with Store.open(tmp_path / "state.sqlite3") as store:
        assert store.pending_notifications() == 0  # marked delivered, not left claimed
    assert slow_webhook.count == 1


async def test_a_refused_intent_is_reported_even_when_a_tick_applies_it(tmp_path: Path) -> None:
    clock = FakeClock()
    monitor = Monitor(config(tmp_path), [ScriptedProbe("main", "postgres", clock)], clock=clock)
    await monitor.start()
    try:
        assert monitor.leader
        ack = asyncio.create_task(monitor.acknowledge("no-such-alert"))
        await asyncio.sleep(0)  # its intent is being written
        # What the tick loop's sync() does next once it holds the lease, racing it.
        tick = asyncio.create_task(monitor._apply_intents())
        with pytest.raises(MonitorError, match="refused"):
            await ack
        await tick
        [entry] = [e for e in monitor.store.audit_entries() if e.action == "ack"]
        assert entry.outcome.startswith("refused")
    finally:
        await monitor.stop()


async def test_stop_waits_for_a_running_action_before_closing_the_store(tmp_path: Path) -> None:
    clock = FakeClock()
    monitor = Monitor(config(tmp_path), [ScriptedProbe("main", "postgres", clock)], clock=clock)
    await monitor.start()
    store = monitor.store
    started = threading.Event()
    recorded: list[str] = []

    def slow_backup(progress: ProgressCallback, cancel: CancelToken) -> str:
        started.set()
        while not cancel.cancelled:
            time.sleep(0.01)
        time.sleep(0.3)  # aborting the upload takes a moment
        store.audit("alice", "backup", "k", "cancelled")  # what run_backup records
        recorded.append("cancelled")
        raise Cancelled("cancelled by the operator")

    token = CancelToken()
    # The app's worker awaiting the action is cancelled when the app quits.
    worker = asyncio.create_task(
        monitor._run_action("backup", lambda cb: slow_backup(cb, token), lambda _: None, token)
    )
    assert await asyncio.to_thread(started.wait, 5)
    worker.cancel()
    await monitor.stop()
    assert recorded == ["cancelled"]
    with Store.open(tmp_path / "state.sqlite3") as reopened:
        assert [e.outcome for e in reopened.audit_entries() if e.action == "backup"] == [
            "cancelled"
        ]
