"""`warroom alerts`, `ack`, `unack` and `silence` as subprocesses on a temp config and state file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from console.alerts.model import Acknowledgement, AlertState, Occurrence
from console.state import ENGINE_LEASE, Store

REPO = Path(__file__).resolve().parents[1]
NOW = 1_780_000_000.0

FIRING = Occurrence(
    id="3f9a2c41d0e94b7c8e1f00aa11bb22cc",
    rule="api-slow",
    probe="api",
    severity="P1",
    state=AlertState.FIRING,
    summary="Performance degradation >5s: api p95 is 6.2s",
    started_at=NOW - 120,
    fired_at=NOW - 60,
    value=6.2,
    threshold=5.0,
    deadline=NOW + 7140,
)
ACKED = replace(
    FIRING,
    id="77aa00bb11cc22dd33ee44ff55aa66bb",
    rule="database-down",
    probe="main",
    severity="P0",
    ack=Acknowledgement(by="bob", at=NOW - 30, note="restarting"),
    deadline=None,
    escalated_at=NOW - 40,
)
RESOLVED = replace(
    FIRING, id="deadbeef00000000000000000000cafe", state=AlertState.RESOLVED, resolved_at=NOW
)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    state = tmp_path / "state" / "state.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[console]
state_path = "{state}"

[postgres.main]
dsn = "postgresql://warroom:pw@127.0.0.1:1/app"

[http.api]
url = "http://127.0.0.1:1/health"
"""
    )
    with Store.open(state) as store:
        for occ in (FIRING, ACKED, RESOLVED):
            store.save_occurrence(occ)
    return config, state


def warroom(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command, *rest = args
    environment = {k: v for k, v in os.environ.items() if k != "SSH_CONNECTION"}
    environment.update({"USER": "alice", **env})
    return subprocess.run(
        [sys.executable, "-m", "console.cli", command, "--config", str(config), *rest],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=60,
    )


def test_alerts_json(setup: tuple[Path, Path]) -> None:
    config, _ = setup
    result = warroom(config, "alerts", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [a["id"] for a in listed] == [ACKED.id, FIRING.id]  # P0 first, resolved left out
    keys = {"id", "rule", "probe", "severity", "state", "summary", "since", "value"}
    keys |= {"acknowledged_by", "acknowledged_at", "deadline", "silenced_by", "escalated"}
    assert all(set(a) == keys for a in listed)
    acked, firing = listed
    assert (acked["acknowledged_by"], acked["escalated"], acked["deadline"]) == ("bob", True, None)
    assert firing["value"] == 6.2 and firing["state"] == "firing"
    assert firing["since"].startswith("2026-05-28T20:25:40")


def test_alerts_table(setup: tuple[Path, Path]) -> None:
    config, _ = setup
    result = warroom(config, "alerts")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "SEV", "STATE"]
    assert lines[1].startswith("77aa00bb  P0   firing,escalated")
    assert "bob" in lines[1] and FIRING.summary in lines[2]


def test_ack_by_prefix_writes_intent_and_audit(setup: tuple[Path, Path]) -> None:
    config, state = setup
    with Store.open(state) as store:
        store.acquire_lease(ENGINE_LEASE, "console pid 4242", ttl=3600)
    result = warroom(
        config, "ack", "3f9a2c", "--note", "looking", SSH_CONNECTION="203.0.113.5 5000 10.0.0.1 22"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert "acknowledgement of P1 api-slow on api (3f9a2c41) recorded" in result.stdout
    assert "console pid 4242 applies it" in result.stdout
    with Store.open(state) as store:
        [intent] = store.pending_intents()
        assert (intent.kind, intent.target, intent.note) == ("ack", FIRING.id, "looking")
        assert intent.author == "alice (ssh 203.0.113.5)"
        [entry] = store.audit_entries()
        assert (entry.actor, entry.action, entry.target, entry.outcome) == (
            "alice (ssh 203.0.113.5)",
            "ack",
            FIRING.id,
            "requested",
        )


def test_unack(setup: tuple[Path, Path]) -> None:
    config, state = setup
    result = warroom(config, "unack", ACKED.id)
    assert result.returncode == 0, result.stderr
    assert "no console or agent is running" in result.stdout
    with Store.open(state) as store:
        assert [(i.kind, i.target) for i in store.pending_intents()] == [("unack", ACKED.id)]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("ffffff", "no alert with id 'ffffff'"),
        (RESOLVED.id, "is already resolved"),
        ("3f9a", "no alert with id '3f9a'"),  # too short to be a prefix
    ],
)
def test_ack_refuses_unknown_or_resolved(
    setup: tuple[Path, Path], target: str, message: str
) -> None:
    config, state = setup
    result = warroom(config, "ack", target)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr
    with Store.open(state) as store:
        assert store.pending_intents() == [] and store.audit_entries() == []


def test_read_only_refuses(setup: tuple[Path, Path]) -> None:
    config, _ = setup
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "console.cli",
            "--read-only",
            "ack",
            "--config",
            str(config),
            "3f9a2c",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 1 and "read-only" in result.stderr


def test_silence_writes_an_intent_the_engine_can_apply(setup: tuple[Path, Path]) -> None:
    from console.monitor import _silence_from  # the consumer of the payload

    config, state = setup
    result = warroom(
        config,
        "silence",
        "--rule",
        "api-slow",
        "--probe",
        "api",
        "--for",
        "2h",
        "--comment",
        "deploying",
    )
    assert result.returncode == 0, result.stderr
    silence_id = result.stdout.strip()
    assert len(silence_id) == 32
    assert "silence of rule=api-slow probe=api for 2h recorded" in result.stderr
    with Store.open(state) as store:
        [intent] = store.pending_intents()
        assert (intent.kind, intent.target, intent.note) == ("silence", silence_id, "deploying")
        silence = _silence_from(intent)
        assert (silence.matcher.rule, silence.matcher.probe, silence.matcher.severity) == (
            "api-slow",
            "api",
            "*",
        )
        assert silence.ends_at - silence.starts_at == 7200
        assert silence.matcher.matches(FIRING) and not silence.matcher.matches(ACKED)
        [entry] = store.audit_entries()
        assert (entry.action, entry.target, entry.detail["for"]) == ("silence", silence_id, 7200.0)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--rule", "nope", "--for", "1h", "--comment", "x"], 1, "no rule named 'nope'"),
        (["--rule", "*", "--probe", "nope", "--for", "1h", "--comment", "x"], 1, "no probe"),
        (["--rule", "api-slow", "--for", "soon", "--comment", "x"], 2, "is not a duration"),
        (["--rule", "api-slow", "--for", "1h", "--comment", " "], 1, "needs a --comment"),
        (["--rule", "api-slow", "--for", "1h"], 2, "--comment"),
    ],
)
def test_silence_refuses_bad_input(
    setup: tuple[Path, Path], args: list[str], code: int, message: str
) -> None:
    config, state = setup
    result = warroom(config, "silence", *args)
    assert result.returncode == code
    assert message in result.stderr
    with Store.open(state) as store:
        assert store.pending_intents() == []


def test_newer_state_file_is_one_line_error(setup: tuple[Path, Path]) -> None:
    import sqlite3

    config, state = setup
    conn = sqlite3.connect(state)
    conn.execute("UPDATE schema_version SET version = version + 1")
    conn.commit()
    conn.close()
    result = warroom(config, "alerts")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "newer than this warroom knows" in result.stderr
