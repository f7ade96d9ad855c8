"""`py-spy record` on a running console, summarised: where its busy samples are.

py-spy is optional (`.venv/bin/pip install py-spy`); it only counts samples where a
thread was running, so the shares are of the console's busy time, not of wall time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+?)(?::(?P<line>\d+))?\)$")
MAIN = "App.run ("
# Frames every sample of the loop passes through, or that only dispatch.
TRUNK = (
    "asyncio/",
    "textual/_callback.py",
    "textual/timer.py",
    "textual/message_pump.py",
    "threading.py",
    "selectors.py",
)


def _short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    path = m["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{m['func']}"


def profile(pid: int, seconds: float, out: Path) -> dict[str, Any]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    raw = out.with_suffix(".pyspy.txt")
    proc = subprocess.run(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "100",
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if proc.returncode or not raw.exists():
        return {
            "seconds": seconds,
            "samples": 0,
            "summary": [f"py-spy failed: {proc.stderr[-300:]}"],
        }
    leaf: Counter[str] = Counter()
    frames_in: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        # Only the event loop's thread: py-spy counts some waits in other threads as busy.
        if not count.isdigit() or MAIN not in stack:
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        leaf[frames[-1]] += n
        for name in set(frames):
            if not name.startswith(TRUNK):
                frames_in[name] += n
    pct = lambda n: f"{100 * n / max(total, 1):4.1f}%"  # noqa: E731
    branches = [(k, n) for k, n in frames_in.most_common() if n < 0.9 * total][:14]
    summary = [f"event-loop thread, {total} samples; busiest frames (inclusive):"]
    summary += [f"  {pct(n)}  {name}" for name, n in branches]
    summary += ["busiest leaf frames (self):"]
    summary += [f"  {pct(n)}  {name}" for name, n in leaf.most_common(6)]
    return {"seconds": seconds, "samples": total, "summary": summary, "raw": str(raw)}
