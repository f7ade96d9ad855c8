"""The Monitor end to end with the real engine, the real store and a real Slack receiver.

Probes are scripted and the clock is fake; SQLite, the outbox and HTTP are real.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from console.clock import FakeClock
from console.config import Config, load_config
from console.monitor import Monitor, MonitorError
from probes.result import ProbeResult, Status
from tests.fixtures.demo_api import DemoApi
from tests.scripted import ScriptedProbe

DSN_PASSWORD = "pg-pass-7f3a"


def write_config(tmp_path: Path, webhook: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[console]
environment = "test"
operator = "alice"
state_path = "{tmp_path / "state.sqlite3"}"

[postgres.main]
dsn = "postgresql://app:{DSN_PASSWORD}@127.0.0.1:1/app"

[http.api]
url = "http://127.0.0.1:9/health"

[slack]
webhook_url = "{webhook}"
"""
    )
    return load_config(path, env={})


def slack_messages(api: DemoApi) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{api.url}/_slack", timeout=5) as response:
        return list(json.load(response))


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


class Rig:
    def __init__(self, config: Config, clock: FakeClock) -> None:
        self.config = config
        self.clock = clock
        self.db = ScriptedProbe("main", "postgres", clock)
        self.api = ScriptedProbe("api", "http", clock, {"latency_p95": 0.1, "status_ok": True})
        self.monitor = Monitor(config, [self.db, self.api], clock=clock)

    async def step(self, seconds: float = 10.0) -> None:
        self.clock.advance(seconds)
        await self.monitor.check_once()
        await self.monitor.sync()


@pytest.fixture
async def rig(tmp_path: Path, demo_api: DemoApi) -> AsyncIterator[Rig]:
    config = write_config(tmp_path, f"{demo_api.url}/slack/webhook")
    rig = Rig(config, FakeClock())
    await rig.monitor.start()
    yield rig
    await rig.monitor.stop(flush_timeout=2)


async def test_database_down_pages_once_ack_then_resolve(rig: Rig, demo_api: DemoApi) -> None:
    monitor = rig.monitor
    assert monitor.leader
    rig.db.set(Status.DOWN, error=f"connection refused (postgresql://app:{DSN_PASSWORD}@x)")
    await rig.step()
    await rig.step()  # database-down needs two consecutive failures
    alerts = monitor.snapshot().alerts
    assert [(a.rule, a.state.value) for a in alerts] == [("database-down", "firing")]
    await wait_for(lambda: len(slack_messages(demo_api)) >= 1)

    outcome = await monitor.acknowledge(alerts[0].id, note="on it")
    assert "acknowledged" in outcome
    acked = monitor.snapshot().alerts[0]
    assert acked.ack is not None and acked.ack.by == "alice" and acked.ack.note == "on it"
    stored = monitor.store.occurrence(acked.id)
    assert stored is not None and stored.ack is not None  # on disk before we said so

    rig.db.set(Status.OK)
    await rig.step()
    await rig.step()  # two successes clear it
    assert monitor.snapshot().alerts == ()
    await wait_for(lambda: len(slack_messages(demo_api)) >= 3)
    await asyncio.sleep(1.5)
    messages = slack_messages(demo_api)
    kinds = [m["text"] for m in messages]
    assert len(messages) == 3, kinds  # fire, acknowledge, resolve: nothing twice
    assert all("text" in m for m in messages)
    assert DSN_PASSWORD not in json.dumps(messages)
    audit = json.dumps([asdict(a) for a in monitor.store.audit_entries()], default=str)
    assert DSN_PASSWORD not in audit and "ack" in audit


async def test_results_from_before_the_first_sync_count_for_alerts(
    tmp_path: Path, demo_api: DemoApi
) -> None:
    # Probes start before the store is open (their results are the first frame); the
    # engine must still see the first run, or "two consecutive failures" needs three.
    rig = Rig(write_config(tmp_path, f"{demo_api.url}/slack/webhook"), FakeClock())
    rig.db.set(Status.DOWN, error="refused")
    await rig.monitor.start()
    try:
        await wait_for(lambda: rig.db.runs >= 1)
        await rig.step()
        alerts = rig.monitor.snapshot().alerts
        assert [(a.rule, a.state.value) for a in alerts] == [("database-down", "firing")]
    finally:
        await rig.monitor.stop(flush_timeout=2)


class _Hung(ScriptedProbe):
    async def run(self) -> ProbeResult:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


async def test_the_first_frame_waits_for_first_results_but_not_for_a_hung_probe(
    tmp_path: Path, demo_api: DemoApi
) -> None:
    config = write_config(tmp_path, f"{demo_api.url}/slack/webhook")
    clock = FakeClock()
    quick = Monitor(config, [ScriptedProbe("main", "postgres", clock)], clock=clock)
    hung = Monitor(
        config, [ScriptedProbe("main", "postgres", clock), _Hung("api", "http", clock)], clock=clock
    )
    for monitor, at_least, at_most in ((quick, 0.0, 0.3), (hung, 0.4, 0.8)):
        await monitor.start()
        try:
            began = asyncio.get_running_loop().time()
            await monitor.first_results(0.5)
            assert at_least <= asyncio.get_running_loop().time() - began < at_most
            assert monitor.snapshot().probes[0].last is not None
        finally:
            await monitor.stop(flush_timeout=1)


async def test_state_survives_a_restart_without_resending(
    tmp_path: Path, demo_api: DemoApi
) -> None:
    config = write_config(tmp_path, f"{demo_api.url}/slack/webhook")
    clock = FakeClock()
    first = Rig(config, clock)
    await first.monitor.start()
    first.db.set(Status.DOWN, error="refused")
    await first.step()
    await first.step()
    occurrence = first.monitor.snapshot().alerts[0]
    await first.monitor.acknowledge(occurrence.id)
    await wait_for(lambda: len(slack_messages(demo_api)) >= 2)
    await first.monitor.stop(flush_timeout=2)

    second = Rig(config, clock)
    await second.monitor.start()
    second.db.set(Status.DOWN, error="refused")
    await second.step()
    restored = second.monitor.snapshot().alerts
    assert [a.id for a in restored] == [occurrence.id]
    assert restored[0].ack is not None and restored[0].ack.by == "alice"
    await asyncio.sleep(1.5)
    assert len(slack_messages(demo_api)) == 2  # no second page after the restart
    await second.monitor.stop(flush_timeout=2)


async def test_follower_intents_reach_the_leader(tmp_path: Path, demo_api: DemoApi) -> None:
    config = write_config(tmp_path, f"{demo_api.url}/slack/webhook")
    clock = FakeClock()
    leader, follower = Rig(config, clock), Rig(config, clock)
    await leader.monitor.start()
    await follower.monitor.start()
    try:
        assert leader.monitor.leader and not follower.monitor.leader
        for rig in (leader, follower):
            rig.db.set(Status.DOWN, error="refused")
        for _ in range(2):
            await leader.step(0)
            await follower.step(0)
        await follower.monitor.sync()
        shown = follower.monitor.snapshot().alerts
        assert [a.rule for a in shown] == ["database-down"]  # read from the store
        outcome = await follower.monitor.acknowledge(shown[0].id)
        assert "recorded" in outcome
        await leader.monitor.sync()
        await follower.monitor.sync()
        assert follower.monitor.snapshot().alerts[0].ack is not None
        await asyncio.sleep(2.5)
        fires = [m for m in slack_messages(demo_api) if "acknowledged" not in m["text"].lower()]
        assert len(fires) == 1  # two processes observed it, one page went out
    finally:
        await follower.monitor.stop(flush_timeout=1)
        await leader.monitor.stop(flush_timeout=1)


async def test_read_only_refuses_actions(tmp_path: Path, demo_api: DemoApi) -> None:
    config = write_config(tmp_path, f"{demo_api.url}/slack/webhook")
    clock = FakeClock()
    probe = ScriptedProbe("main", "postgres", clock)
    monitor = Monitor(config, [probe], clock=clock, read_only=True)
    await monitor.start()
    try:
        with pytest.raises(MonitorError, match="read-only"):
            await monitor.acknowledge("whatever")
        assert monitor.store.pending_intents() == []
    finally:
        await monitor.stop(flush_timeout=0)


async def test_checklist_ticks_are_durable_audited_and_proofs_live(rig: Rig) -> None:
    monitor = rig.monitor
    manual = next(i for i in monitor.config.checklist if not i.automatic)
    before = monitor.snapshot().checklist
    outcome = await monitor.set_checklist_item(manual.id, True)
    assert outcome.startswith("ticked")
    assert monitor.store.checklist_items()[manual.id].by == "alice"  # on disk already
    assert any(a.action == "checklist" for a in monitor.store.audit_entries())
    phase = manual.phase
    assert monitor.snapshot().checklist[phase][0] == before[phase][0] + 1
    with pytest.raises(MonitorError):
        await monitor.set_checklist_item("no-such-item", True)
