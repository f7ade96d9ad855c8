"""The headless agent as a real process: alerts go out when nobody watches, and a
`kill -9` loses nothing — occurrences, acknowledgements, silences and undelivered
notifications are all there after a restart, and nothing is sent twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from console.config import load_config
from console.state.store import Store
from tests.fixtures.demo_api import DemoApi
from tests.fixtures.http_servers import HandlerServer, Reply

TOKEN = "hdr-secret-91c2"


def warroom(*argv: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *argv, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.3)


@pytest.fixture
def setup(tmp_path: Path, http_server: HandlerServer, demo_api: DemoApi) -> Iterator[Path]:
    http_server.routes["/health"] = Reply(500, b"boom")
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[console]
environment = "agent-test"
operator = "bob"
state_path = "{tmp_path / "state.sqlite3"}"

[http.api]
url = "{http_server.url}/health"
interval = "1s"
timeout = "1s"
headers = {{ Authorization = "Bearer {TOKEN}" }}

[slack]
webhook_url = "{demo_api.url}/slack/webhook"

[alerts]
group_wait = {{ P0 = "0s", P1 = "0s", P2 = "0s" }}

[[rules]]
name = "api-down"
failures = 2
"""
    )
    yield config


def start_agent(config: Path, log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "console.cli", "agent", "--config", str(config)],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def open_alerts(config: Path) -> list[dict[str, Any]]:
    proc = warroom("alerts", "--json", config=config)
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


def by_id(alerts: list[dict[str, Any]], occurrence: str) -> dict[str, Any]:
    return next(a for a in alerts if a["id"] == occurrence)


def test_agent_kill9_restart_keeps_everything_and_sends_once(
    setup: Path, demo_api: DemoApi, tmp_path: Path
) -> None:
    config = setup
    log = tmp_path / "agent.log"
    demo_api.faults.set(slack_down=True)  # notifications pile up in the outbox
    agent = start_agent(config, log)
    try:
        alerts = eventually(
            lambda: [
                a for a in open_alerts(config) if a["state"] == "firing" and a["rule"] == "api-down"
            ]
        )
        occurrence = alerts[0]["id"]
        assert alerts[0]["rule"] == "api-down" and alerts[0]["deadline"]

        ack = warroom("ack", occurrence[:8], "--note", "looking", config=config)
        assert ack.returncode == 0, ack.stderr
        eventually(lambda: by_id(open_alerts(config), occurrence)["acknowledged_by"] == "bob")
        silence = warroom(
            "silence", "--rule", "api-slow", "--for", "2h", "--comment", "deploy", config=config
        )
        assert silence.returncode == 0, silence.stderr
        time.sleep(1.5)  # let the agent apply the silence intent
    finally:
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=10)

    store = Store.open(load_config(config).console.state_path)
    try:
        kept = store.occurrence(occurrence)
        assert kept is not None and kept.ack is not None and kept.ack.note == "looking"
        assert any(s.comment == "deploy" for s in store.silences())
        assert store.pending_notifications() >= 1  # the page never got through
    finally:
        store.close()

    demo_api.faults.set(slack_down=False)
    agent = start_agent(config, log)
    try:
        eventually(lambda: demo_api.faults.slack_messages())
        time.sleep(4)  # any duplicate would arrive by now (1 request/s)
        texts = [m["text"] for m in demo_api.faults.slack_messages()]
        fires = [t for t in texts if "FIRING" in t]
        assert len(fires) == 1, texts
        assert by_id(open_alerts(config), occurrence)["state"] == "firing"  # same occurrence
    finally:
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0
    output = log.read_text()
    assert "stopped" in output
    everything = output + json.dumps(demo_api.faults.slack_messages())
    assert TOKEN not in everything
