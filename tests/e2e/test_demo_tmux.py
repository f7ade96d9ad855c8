"""The installed `warroom demo`, driven in tmux as a person would: panels appear, a
database fault raises the P0, `a` acknowledges it and the owner is shown; quitting
leaves no PostgreSQL process and no temporary directory behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

WARROOM = Path(sys.executable).with_name("warroom")
OPERATOR = "e2e-operator"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Tmux:
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", *args], capture_output=True, text=True, timeout=10, check=False
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-t", self.name, "-p")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def alive(self) -> bool:
        return (
            subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode
            == 0
        )

    def wait(self, ready: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}; screen was:\n{screen}")


def demo_roots() -> dict[str, list[str]]:
    """Each running demo stack's temp root, with the command lines of its processes."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    roots: dict[str, list[str]] = {}
    for line in out.splitlines():
        for part in line.split():
            if "/warroom-demo-" in part:
                root = part[: part.index("/warroom-demo-") + len("/warroom-demo-") + 8]
                roots.setdefault(root, []).append(line)
    return roots


@pytest.fixture
def others() -> set[str]:
    """Demo stacks that were running before ours (a benchmark, a person's demo)."""
    return set(demo_roots())


@pytest.fixture
def tmux(tmp_path: Path, others: set[str]) -> Iterator[Tmux]:
    session = Tmux(f"warroom-e2e-{uuid.uuid4().hex[:8]}")
    env = {**os.environ, "USER": OPERATOR, "TERM": "xterm-256color"}
    subprocess.run(
        # -e: a tmux server that is already running gives new sessions *its* environment.
        ["tmux", "new-session", "-d", "-s", session.name, "-x", "100", "-y", "30",
         "-e", f"USER={OPERATOR}", "-e", "TERM=xterm-256color",
         "-c", str(tmp_path), f"{WARROOM} demo"],
        env=env,
        check=True,
        timeout=10,
    )  # fmt: skip
    yield session
    if session.alive():
        session.run("kill-session", "-t", session.name)


def test_demo_incident_acknowledge_and_clean_exit(tmux: Tmux, others: set[str]) -> None:
    tmux.wait(lambda s: "Database main" in s and "✓ UP" in s, "the database panel with data")
    ours = {root: lines for root, lines in demo_roots().items() if root not in others}
    assert len(ours) == 1 and any("postgres" in line for line in next(iter(ours.values())))
    root = next(iter(ours))

    tmux.keys("1")  # demo fault: stop the database
    tmux.wait(lambda s: "database-down" in s and "DOWN" in s, "the P0 database-down alert", 90)

    tmux.keys("/")
    tmux.keys("database-down", "Enter")
    tmux.keys("a")
    tmux.wait(lambda s: "Acknowledge P0 database-down" in s, "the acknowledge dialog")
    tmux.keys("restarting it", "Enter")
    screen = tmux.wait(
        lambda s: any("database-down" in line and OPERATOR[:6] in line for line in s.splitlines()),
        "the owner on the acknowledged alert",
    )
    assert "acked" in screen

    tmux.keys("q")
    deadline = time.monotonic() + 30
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not tmux.alive(), "the console did not exit on q"
    deadline = time.monotonic() + 15
    while root in demo_roots() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert demo_roots().get(root) is None, "processes of the demo outlived the console"
    assert not Path(root).exists(), "the demo's temporary directory was left behind"
