"""A/B: this checkout's console against an earlier revision, in one run on one demo stack.

    .venv/bin/python bench/startup_ab.py REV [--runs 8] [--size 120x40] [--idle 60]

On a shared VM the same console's figures drift by a fifth between runs, so a change
is measured against its parent side by side: REV is checked out into a temporary git
worktree and run by this virtualenv's Python with the worktree first on its path.
First data frame: the two are launched alternately (one warm-up each), as
bench/console_speed.py times them. Idle CPU: both run at once for `--idle` seconds.
Prints a Markdown table; the worktree, demo and tmux server are removed on exit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _term import Demo, Tmux, cpu_percent, median, sample, wait_for
from console_speed import warroom_ready

ROOT = Path(__file__).resolve().parent.parent
WARROOM = Path(sys.executable).parent / "warroom"


def compile_tree(root: Path) -> None:
    dirs = [str(root / d) for d in ("console", "probes", "widgets")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rev", help="the revision to compare with (e.g. HEAD~3)")
    parser.add_argument("--runs", type=int, default=8, help="timed launches per tree")
    parser.add_argument("--size", default="120x40", help="terminal size, WxH")
    parser.add_argument("--idle", type=float, default=60.0, help="idle CPU window, seconds")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="warroom-ab-"))
    other = work / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", str(other), args.rev])
    demo = tmux = None
    try:
        trees = {"this checkout": ROOT, args.rev: other}
        for root in trees.values():
            compile_tree(root)
        demo = Demo(work)
        env = demo.wait_ready()
        server_env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")} | env
        server_env.setdefault("LANG", "C.UTF-8")
        tmux = Tmux(f"warroom-ab-{os.getpid()}", server_env)
        names = list(tomllib.loads((ROOT / "config.toml").read_text()).get("http", {}))
        ready = warroom_ready(names, need_api=(width, height) == (120, 40))

        def launch(root: Path, session: str) -> float:
            command = f"{WARROOM} --config {root / 'config.toml'}"
            state = {"PYTHONPATH": str(root), "WARROOM_STATE_PATH": str(work / f"{session}.db")}
            assert tmux is not None
            return tmux.spawn(session, command, (width, height), state)

        frames: dict[str, list[float]] = {label: [] for label in trees}
        for n in range(args.runs + 1):
            for i, (label, root) in enumerate(trees.items()):
                spawned = launch(root, f"t{i}")
                took, _ = wait_for(tmux, f"t{i}", ready, since=spawned, timeout=30, what="data")
                tmux.kill(f"t{i}")
                if n:
                    frames[label].append(took * 1000)
                time.sleep(0.5)
        for i, root in enumerate(trees.values()):
            spawned = launch(root, f"idle{i}")
            wait_for(tmux, f"idle{i}", ready, since=spawned, timeout=30, what="data")
        time.sleep(5)
        pids = {label: tmux.info(f"idle{i}")[0] for i, label in enumerate(trees)}
        before = {label: sample(pid) for label, pid in pids.items()}
        time.sleep(args.idle)
        idle = {label: cpu_percent(before[label], sample(pid)) for label, pid in pids.items()}
        print(f"| {args.size} | first data frame, median of {args.runs} (min-max) | idle CPU |")
        print("|---|---|---|")
        for label, values in frames.items():
            spread = f"{min(values):.0f}-{max(values):.0f}"
            print(f"| {label} | {median(values):.0f} ms ({spread}) | {idle[label]:.2f} % |")
        return 0
    finally:
        if tmux is not None:
            tmux.close()
        if demo is not None:
            demo.close()
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)])


if __name__ == "__main__":
    sys.exit(main())
