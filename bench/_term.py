"""Helpers for bench/console_speed.py: a private tmux server, screen polling, /proc sampling,
the demo stack.

Stdlib only (psycopg for the server version). The tmux server runs on its own socket
(`tmux -L NAME`) with no user configuration, so the bench never touches anybody's tmux, and
`Tmux.close()` kills the whole server and whatever still runs in it.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
_ROOT = Path(__file__).resolve().parent.parent
_VENV_BIN = Path(sys.executable).parent


class BenchError(RuntimeError):
    """A measurement that could not be taken; the message says why (and shows the screen)."""


class Tmux:
    """A private tmux server; one session per program under test."""

    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env
        # A keeper session starts the server (and pays its start-up) before any timing.
        self._run("-f", "/dev/null", "new-session", "-d", "-s", "keeper", "-x", "80", "-y", "24")
        for option in (
            ("remain-on-exit", "on"),  # a crashed program leaves its traceback on screen
            ("default-terminal", "tmux-256color"),
            ("history-limit", "0"),
            ("status", "off"),
        ):
            self._run("set-option", "-g", *option)

    def _run(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if check and proc.returncode != 0:
            raise BenchError(f"tmux {' '.join(args[:3])}: {proc.stderr.strip()}")
        return proc.stdout

    def spawn(self, name: str, command: str, size: tuple[int, int], env: dict[str, str]) -> float:
        """Start `command` (exec'd, so the pane's pid is the program) and return the spawn time."""
        extra = [item for key, value in env.items() for item in ("-e", f"{key}={value}")]
        started = time.monotonic()
        self._run(
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            str(size[0]),
            "-y",
            str(size[1]),
            *extra,
            f"exec {command}",
        )
        return started

    def capture(self, name: str) -> str:
        return self._run("capture-pane", "-p", "-t", name)

    def info(self, name: str) -> tuple[int, bool, str]:
        """(pane pid, pane dead?, 'WxH')."""
        out = self._run(
            "display-message",
            "-p",
            "-t",
            name,
            "#{pane_pid} #{pane_dead} #{pane_width}x#{pane_height}",
        ).split()
        return int(out[0]), out[1] == "1", out[2]

    def keys(self, name: str, *keys: str) -> None:
        self._run("send-keys", "-t", name, *keys)

    def pipe_output(self, name: str, path: Path) -> None:
        """Copy everything the program writes to its terminal into `path`."""
        self._run("pipe-pane", "-O", "-t", name, f"cat > {path}")

    def kill(self, name: str) -> None:
        """Close the session and make sure its program is gone (SIGHUP, then TERM, then KILL)."""
        try:
            pid, _, _ = self.info(name)
        except BenchError:
            return
        self._run("kill-session", "-t", name, check=False)
        reap(pid)

    def close(self) -> None:
        pids = []
        try:
            listing = self._run("list-panes", "-a", "-F", "#{pane_pid}", check=False)
            pids = [int(p) for p in listing.split()]
        except (subprocess.SubprocessError, OSError, ValueError):
            pass
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("kill-server", check=False)
        for pid in pids:
            reap(pid)


def reap(pid: int, grace: float = 5.0) -> None:
    """Wait for `pid` to go; escalate to SIGTERM, then SIGKILL."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_for(
    tmux: Tmux,
    name: str,
    ready: Callable[[str], bool],
    *,
    since: float,
    timeout: float,
    interval: float = 0.010,
    what: str = "",
) -> tuple[float, str]:
    """Poll the screen every `interval` until `ready(screen)`; seconds since `since`, screen."""
    deadline = since + timeout
    screen = ""
    while True:
        screen = tmux.capture(name)
        now = time.monotonic()
        if ready(screen):
            return now - since, screen
        if now > deadline:
            _, dead, _ = tmux.info(name)
            state = "the program exited" if dead else f"not seen within {timeout:.0f}s"
            raise BenchError(f"{name}: {what or 'expected screen'} {state}; last screen:\n{screen}")
        pause = interval - (time.monotonic() - now)
        if pause > 0:
            time.sleep(pause)


# -- screen parsing ------------------------------------------------------------------


def panel(screen: str, title: str) -> str | None:
    """The text inside the rounded box titled `title` (`╭─ {title}...╮` ... `╰...╯`), or None."""
    lines = screen.splitlines()
    for row, line in enumerate(lines):
        col = line.find(f"╭─ {title}")
        if col < 0:
            continue
        end = line.find("╮", col)
        if end < 0:
            continue
        inside = []
        for below in lines[row + 1 :]:
            if len(below) <= col or below[col] == "╰":
                break
            inside.append(below[col + 1 : end])
        return "\n".join(inside)
    return None


LATENCY = r"\d+(?:\.\d+)?\s?(?:µs|ms|s)\b"


def row_has_latency(text: str, name: str) -> bool:
    return re.search(rf"(?m)^\s*{re.escape(name)}\s.*?{LATENCY}", text) is not None


# -- /proc sampling ------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    at: float
    ticks: int  # utime+stime+cutime+cstime summed over the live process tree
    rss_kb: int  # the root's VmRSS
    tree_rss_kb: int
    processes: int


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        kids.setdefault(int(fields[1]), []).append(int(entry.name))
    return kids


def tree(root: int) -> Iterator[int]:
    kids = _children()
    todo = [root]
    while todo:
        pid = todo.pop()
        yield pid
        todo.extend(kids.get(pid, []))


def _ticks(pid: int) -> int:
    # utime stime cutime cstime are fields 14-17; cutime/cstime hold reaped children,
    # which are no longer in the tree, so nothing is counted twice.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15])


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def sample(root: int) -> Sample:
    if not alive(root):
        raise BenchError(f"pid {root} is gone")
    ticks = rss = 0
    count = 0
    for pid in tree(root):
        try:
            ticks += _ticks(pid)
            rss += _rss_kb(pid)
            count += 1
        except (FileNotFoundError, ProcessLookupError):
            continue
    return Sample(time.monotonic(), ticks, _rss_kb(root), rss, count)


def cpu_percent(before: Sample, after: Sample) -> float:
    """CPU of the tree between two samples, as % of one core."""
    return 100.0 * (after.ticks - before.ticks) / CLK_TCK / (after.at - before.at)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


# -- the demo stack ---------------------------------------------------------------------


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.out = workdir / "demo.out"
        self.err = workdir / "demo.err"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [str(_VENV_BIN / "warroom"), "demo", "--no-ui"],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # our Ctrl-C reaches it only through close()
                cwd=_ROOT,
            )

    def wait_ready(self, timeout: float = 120) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while "demo stack ready" not in self.err.read_text():
            if self.proc.poll() is not None:
                raise BenchError(f"warroom demo --no-ui exited:\n{self.err.read_text()}")
            if time.monotonic() > deadline:
                raise BenchError(f"demo stack not ready in {timeout:.0f}s:\n{self.err.read_text()}")
            time.sleep(0.2)
        env = {}
        for line in self.out.read_text().splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                env[name] = shlex.split(value)[0] if value else ""
        if "WARROOM_DB_DSN" not in env:
            raise BenchError(f"no WARROOM_DB_DSN in the demo's output:\n{self.out.read_text()}")
        return env

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # its supervisor still cleans up when our pipe closes
                self.proc.wait(10)


def _tree_state() -> str:
    """The commit measured, and whether the console's code had uncommitted edits."""
    git = ["git", "-C", str(_ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "console", "widgets", "probes"],
        capture_output=True,
        text=True,
    )
    edits = len(dirty.stdout.splitlines())
    return head.stdout.strip() + (f" + uncommitted edits in {edits} files" if edits else "")


def facts(env: dict[str, str]) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(env["WARROOM_DB_DSN"], connect_timeout=10) as conn:
        pg = conn.execute("SHOW server_version").fetchone()
    config = tomllib.loads((_ROOT / "config.toml").read_text())
    return {
        "cores": os.cpu_count(),
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.machine(),
        ),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "textual": version("textual"),
        "pg_activity": version("pg_activity"),
        "postgresql": pg[0] if pg else "?",
        "tmux": subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip(),
        "refresh": config.get("console", {}).get("refresh"),
        "loadavg_before": os.getloadavg(),
        "tree": _tree_state(),
    }
