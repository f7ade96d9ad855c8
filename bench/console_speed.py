"""Console speed: Warroom's console against pg_activity 3.6.2, both at 1 s refresh, in tmux.

    .venv/bin/pip install -e '.[bench]'          # pg_activity==3.6.2 (py-spy for --profile)
    .venv/bin/python bench/console_speed.py [--runs 5] [--long] [--profile 30] [--write]

One `warroom demo --no-ui` stack is the database both watch (Warroom through its
reference config.toml, pg_activity through the same monitor role). Each program runs
exec'd in its own session of a private tmux server (`tmux -L`, no user config), so the
pane's pid is the program and its /proc tree is the console alone - the demo's
supervisor, PostgreSQL, API and workload are never counted.

1. first data frame: `capture-pane -p` every 10 ms from spawn until the screen shows
   data (Warroom: Database panel `✓ UP` + `rtt`, and every [http] row of the API panel
   with a latency when the panel is on screen; pg_activity: the `PostgreSQL N` header,
   `Sessions:` and the activity table's header). A warm-up round is not counted. The
   same rounds launch bench/floor_app.py, a Textual app that shows one psycopg round
   trip: the first data frame of the stack itself.
2. idle CPU: utime+stime (+ reaped children) of the tree over 60 s, % of one core;
   terminal output over the same window from `pipe-pane`.
3. RSS (VmRSS) at 1 min, and at 5 and 10 min with --long.
4. key to screen: pause (Warroom `p` -> PAUSED, pg_activity Space -> PAUSE) and help
   (`?` / `h`), polled every 2 ms; the floor is `cat`'s echo in the same tmux.

Everything started here is stopped on exit (SIGTERM to the demo, kill of the tmux
server, SIGKILL for stragglers), also on errors and Ctrl-C. `--write` replaces only the
"Console speed" section of docs/benchmarks.md (a `<!-- notes -->...<!-- /notes -->`
block in it is kept).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_section
from _term import (
    LATENCY,
    BenchError,
    Demo,
    Tmux,
    cpu_percent,
    facts,
    panel,
    row_has_latency,
    sample,
    wait_for,
)

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
Screen = Callable[[str], bool]


@dataclass
class Launch:
    """What the start-up rounds launch."""

    name: str  # also the tmux session name
    command: str
    size: tuple[int, int]
    ready: Screen
    env: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class Contender(Launch):
    """A console, measured also at steady state and for its keys."""

    paused: Screen
    pause_key: str
    help_open: Screen
    help_key: str
    help_close: tuple[str, ...]  # (key, label) pairs flattened: key, label, key, label


# -- what "data on screen" means -------------------------------------------------------


def warroom_ready(http_names: list[str], *, need_api: bool) -> Screen:
    def ready(screen: str) -> bool:
        db = panel(screen, "Database")
        if db is None or "✓ UP" not in db or not re.search(rf"rtt {LATENCY}", db):
            return False
        api = panel(screen, "API")
        if api is None:
            return not need_api  # below the fold at small sizes
        return all(row_has_latency(api, name) for name in http_names)

    return ready


BINDING_WORDS = re.compile(r"\b(Acknowledge|Silence|Backup now|Checklist|Pause|Refresh now|Quit)\b")


def warroom_help(screen: str) -> bool:
    # The help lists the bindings; the footer (last line) may show a few of them too.
    body = screen.rstrip("\n").splitlines()[:-1]
    return sum(1 for line in body if BINDING_WORDS.search(line)) >= 3


def pga_ready(screen: str) -> bool:
    return bool(
        re.search(r"(?m)^PostgreSQL \d+", screen)
        and re.search(r"Sessions: \d+/\d+ total", screen)
        and re.search(r"(?m)^PID\s+.*DATABASE", screen)
    )


def painted(screen: str) -> bool:
    return bool(screen.strip())


# -- measurements ------------------------------------------------------------------------


def stack_floor() -> Launch:
    command = shlex.join([sys.executable, str(Path(__file__).resolve().parent / "floor_app.py")])
    return Launch("stack-floor", command, (120, 40), lambda s: "floor ✓ UP rtt" in s)


def startup(tmux: Tmux, c: Launch, timeout: float) -> tuple[float, float]:
    spawned = tmux.spawn(c.name, c.command, c.size, c.env)
    try:
        paint, _ = wait_for(
            tmux, c.name, painted, since=spawned, timeout=timeout, what="any output"
        )
        data, _ = wait_for(tmux, c.name, c.ready, since=spawned, timeout=timeout, what="data")
        return paint, data
    finally:
        tmux.kill(c.name)


def floor(tmux: Tmux, presses: int) -> dict[str, Any]:
    spawned = tmux.spawn("floor", "sh -c 'echo READY; exec cat'", (120, 40), {})
    try:
        spawn, _ = wait_for(tmux, "floor", lambda s: "READY" in s, since=spawned, timeout=10)
        times = []
        for i in range(presses):
            time.sleep(random.uniform(0.05, 0.15))
            t0 = time.monotonic()
            tmux.keys("floor", "x")
            dt, _ = wait_for(
                tmux,
                "floor",
                lambda s, n=i + 1: s.count("x") >= n,
                since=t0,
                timeout=5,
                interval=0.002,
                what="cat's echo",
            )
            times.append(dt)
        return {"spawn_to_output": spawn, "echo": times}
    finally:
        tmux.kill("floor")


def keypresses(tmux: Tmux, c: Contender, presses: int) -> None:
    def press(key: str, want: Screen, what: str) -> float:
        time.sleep(random.uniform(0.15, 0.35))  # not in step with the 1 s refresh
        t0 = time.monotonic()
        tmux.keys(c.name, key)
        dt, _ = wait_for(tmux, c.name, want, since=t0, timeout=5, interval=0.002, what=what)
        return dt

    if c.paused(tmux.capture(c.name)) or c.help_open(tmux.capture(c.name)):
        raise BenchError(f"{c.name}: paused or help open before the key test")
    c.results["pause_key"] = [
        press(c.pause_key, c.paused if i % 2 == 0 else (lambda s: not c.paused(s)), "pause toggle")
        for i in range(presses)
    ]
    opened: list[float] = []
    closed: dict[str, list[float]] = {}
    pairs = list(zip(c.help_close[::2], c.help_close[1::2], strict=True))
    for i in range(max(2, presses // 2)):
        opened.append(press(c.help_key, c.help_open, "help"))
        key, label = pairs[i % len(pairs)]
        closed.setdefault(label, []).append(
            press(key, lambda s: not c.help_open(s), f"help closed by {label}")
        )
    c.results["help_open"] = opened
    for label, times in closed.items():
        c.results[f"help_close {label}"] = times


def db_up(dsn: str) -> str:
    """'up', or why the demo's database cannot be reached (a contender showing no data)."""
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
        return "up"
    except psycopg.Error as exc:
        return f"down: {str(exc).strip().splitlines()[0]}"


def steady(
    tmux: Tmux, cs: list[Contender], workdir: Path, args: argparse.Namespace, dsn: str
) -> list[str]:
    """All contenders at once: idle CPU over args.idle s, RSS every minute, then key tests.

    Returns what went wrong on the way (the database down, a screen without data, a key
    test that timed out); the figures that could be taken are kept either way.
    """
    notes: list[str] = []
    spawned = {c.name: tmux.spawn(c.name, c.command, c.size, c.env) for c in cs}
    pids = {}
    for c in cs:
        _, screen = wait_for(
            tmux, c.name, c.ready, since=spawned[c.name], timeout=args.timeout, what="data"
        )
        pids[c.name], _, c.results["size"] = tmux.info(c.name)
        c.results["api_panel_visible"] = panel(screen, "API") is not None
        tmux.pipe_output(c.name, workdir / f"{c.name}.tty")
    ref = max(spawned.values())
    time.sleep(args.settle)
    before = {c.name: sample(pids[c.name]) for c in cs}
    out_before = {c.name: (workdir / f"{c.name}.tty").stat().st_size for c in cs}
    minutes = range(1, 11) if args.long else range(1, 2)
    events = [(time.monotonic() + args.idle, "idle")]
    events = sorted(events + [(ref + 60.0 * m, f"{m} min") for m in minutes])
    for c in cs:
        c.results["rss_kb"] = {}
    for at, what in events:
        while time.monotonic() < at:
            time.sleep(min(5.0, max(0.0, at - time.monotonic())))
            for c in cs:
                sample(pids[c.name])  # raises if a contender died
        latest = {c.name: sample(pids[c.name]) for c in cs}
        for c in cs:
            s = latest[c.name]
            if what == "idle":
                c.results["idle_cpu"] = cpu_percent(before[c.name], s)
                out = (workdir / f"{c.name}.tty").stat().st_size - out_before[c.name]
                c.results["tty_bytes_per_s"] = out / (s.at - before[c.name].at)
            else:
                c.results["rss_kb"][what] = s.rss_kb
                c.results["tree_processes"] = s.processes
                c.results["tree_rss_kb"] = s.tree_rss_kb
            if not c.ready(tmux.capture(c.name)):
                notes.append(f"at {what}: {c.name} showed no data")
        if (state := db_up(dsn)) != "up":
            notes.append(f"at {what}: the demo database was {state}")
        shown = [
            f"{c.name}: {cpu_percent(before[c.name], latest[c.name]):.2f}% "
            f"{latest[c.name].rss_kb / 1024:.0f} MB"
            for c in cs
        ]
        print(f"  [{what}, CPU since start of window] " + ", ".join(shown), file=sys.stderr)
    if args.long:
        for c in cs:
            c.results["long_cpu"] = cpu_percent(before[c.name], sample(pids[c.name]))
    for c in cs:
        try:
            # The screen must show data again first (pg_activity may be reconnecting).
            wait_for(tmux, c.name, c.ready, since=time.monotonic(), timeout=60, what="data")
            keypresses(tmux, c, args.presses)
        except BenchError as exc:
            print(f"console_speed: {exc}", file=sys.stderr)
            notes.append(f"key test of {c.name}: {str(exc).splitlines()[0]}")
    if args.profile:
        from _profile import profile

        c = cs[0]  # Warroom at 120x40, still idle
        c.results["profile"] = profile(pids[c.name], args.profile, workdir / c.name)
    return notes


# -- run ------------------------------------------------------------------------------


def contenders(env: dict[str, str], workdir: Path) -> list[Contender]:
    config = ROOT / "config.toml"
    http_names = list(tomllib.loads(config.read_text()).get("http", {}))
    warroom = f"{shlex.quote(str(VENV_BIN / 'warroom'))} --config {shlex.quote(str(config))}"
    dsn = urlsplit(env["WARROOM_DB_DSN"])
    pga = shlex.join(
        [
            str(VENV_BIN / "pg_activity"),
            "--refresh",
            "1",
            "-h",
            dsn.hostname or "localhost",
            "-p",
            str(dsn.port or 5432),
            "-U",
            unquote(dsn.username or ""),
            "-d",
            dsn.path.lstrip("/"),
        ]
    )
    paused = re.compile(r"\bPAUSED\b")

    def w(size: tuple[int, int]) -> Contender:
        name = f"warroom-{size[0]}x{size[1]}"
        return Contender(
            name,
            warroom,
            size,
            warroom_ready(http_names, need_api=size == (120, 40)),
            env={"WARROOM_STATE_PATH": str(workdir / f"{name}.sqlite3")},
            paused=lambda s: bool(paused.search(s)),
            pause_key="p",
            help_open=warroom_help,
            help_key="?",
            help_close=("?", "?", "Escape", "Esc"),
        )

    return [
        w((120, 40)),
        Contender(
            "pg_activity-120x40",
            pga,
            (120, 40),
            pga_ready,
            paused=lambda s: re.search(r"(?m)^\s+PAUSE\s*$", s) is not None,
            pause_key="Space",
            help_open=lambda s: "sort by CPU%" in s,
            help_key="h",
            help_close=("x", "any key"),
        ),
        w((80, 24)),
    ]


def compile_sources() -> None:
    """Bytecode for Warroom's own modules, as `pip install` writes for an installed copy.

    An editable checkout gets none where PYTHONDONTWRITEBYTECODE is set (as in CI and
    these VMs): each launch would then compile ~100 modules from source, ~0.4 s that
    no installed console pays. pg_activity comes from a wheel, with its bytecode.
    """
    root = Path(__file__).resolve().parent.parent
    dirs = [str(root / d) for d in ("console", "probes", "widgets")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], check=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    demo = tmux = None
    compile_sources()
    try:
        demo = Demo(workdir)
        env = demo.wait_ready()
        info = facts(env)
        server_env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        server_env |= env | {"PGPASSWORD": unquote(urlsplit(env["WARROOM_DB_DSN"]).password or "")}
        server_env.setdefault("LANG", "C.UTF-8")
        tmux = Tmux(f"warroom-bench-{os.getpid()}", server_env)
        cs = contenders(env, workdir)
        print("floor (cat in the same tmux)…", file=sys.stderr)
        base = floor(tmux, args.presses)
        print(f"first data frame: 1 warm-up + {args.runs} rounds…", file=sys.stderr)
        stack = stack_floor()
        for n in range(args.runs + 1):
            for c in (*cs, stack):
                paint, data = startup(tmux, c, args.timeout)
                print(
                    f"  {'warm-up' if n == 0 else n}: {c.name} paint {paint * 1000:.0f} ms, "
                    f"data {data * 1000:.0f} ms",
                    file=sys.stderr,
                )
                if n:
                    c.results.setdefault("first_paint", []).append(paint)
                    c.results.setdefault("first_data", []).append(data)
                time.sleep(0.5)
        print(f"steady state ({'10 min' if args.long else f'{args.idle:.0f} s'})…", file=sys.stderr)
        try:
            notes = steady(tmux, cs, workdir, args, env["WARROOM_DB_DSN"])
        except BenchError as exc:  # keep what was measured
            notes = [f"steady state stopped: {str(exc).splitlines()[0]}"]
            print(f"console_speed: {exc}\ndemo: {demo.err.read_text()[-2000:]}", file=sys.stderr)
        info["loadavg_after"] = os.getloadavg()
        measured = {c.name: c.results for c in cs}
        base["stack_first_data"] = stack.results["first_data"]
        return {"facts": info, "floor": base, "contenders": measured, "notes": notes}
    finally:
        if tmux is not None:
            tmux.close()
        if demo is not None:
            demo.close()
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed launches per contender")
    parser.add_argument("--presses", type=int, default=20, help="key presses per key test")
    parser.add_argument("--idle", type=float, default=60.0, help="idle CPU window, seconds")
    parser.add_argument("--settle", type=float, default=5.0, help="wait after data, seconds")
    parser.add_argument("--long", action="store_true", help="RSS at 1, 5 and 10 min (10+ min)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-screen timeout")
    parser.add_argument(
        "--profile",
        type=float,
        default=0,
        metavar="S",
        help="py-spy record Warroom for S seconds after the idle window",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="PATH",
        help="no measuring: render (and --write) the results a --json run saved; pass the "
        "--runs/--idle/--presses/--long it ran with",
    )
    args = parser.parse_args()
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        print(write_section(results, results["command"], args, write=args.write))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` cleans up
    if subprocess.run(["which", "tmux"], capture_output=True).returncode:
        print("tmux is not installed", file=sys.stderr)
        return 2
    try:
        results = run(args)
    except BenchError as exc:
        print(f"console_speed: {exc}", file=sys.stderr)
        return 1
    command = "    .venv/bin/python bench/console_speed.py " + " ".join(sys.argv[1:])
    results["command"] = command
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(write_section(results, command, args, write=args.write))
    return 1 if results["notes"] else 0


if __name__ == "__main__":
    sys.exit(main())
