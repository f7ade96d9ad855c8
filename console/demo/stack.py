"""The console's handle on the demo stack, which a supervisor process owns.

The supervisor (console/demo/supervisor.py) holds every process and file of
the stack; this side only keeps a pipe to it. Whatever happens to the
console - quit, exception, SIGTERM, SIGKILL - the kernel closes that pipe
and the supervisor tears everything down.
"""

from __future__ import annotations

import json
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any, TextIO

from console.demo.lifeline import child_env

_START_TIMEOUT = 30.0
_CLOSE_TIMEOUT = 10.0


class DemoStackError(RuntimeError):
    """The demo stack failed to start, or its supervisor is gone."""


class DemoStack:
    def __init__(self, *, stderr: int | IO[Any] | None = subprocess.DEVNULL) -> None:
        # The console's screen owns the terminal, so the supervisor's stderr
        # goes nowhere by default; `run_no_ui` passes its own through.
        self._stderr = stderr
        self._proc: subprocess.Popen[str] | None = None
        self._ready: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self.control = DemoControl(self)

    def start(self, timeout: float = _START_TIMEOUT) -> DemoStack:
        """Spawn the supervisor and return once the whole stack is ready."""
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "console.demo.supervisor"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=child_env(),
            start_new_session=True,
        )
        try:
            message = self._read(timeout)
        except DemoStackError:
            self.close()
            raise
        if message.get("event") != "ready":
            self.close()
            raise DemoStackError(f"demo stack failed: {message.get('message', message)}")
        self._ready = message
        return self

    def env(self) -> dict[str, str]:
        """The WARROOM_* variables the reference config reads (DSNs carry passwords)."""
        return dict(self._ready["env"])

    @property
    def root(self) -> Path:
        return Path(self._ready["root"])

    @property
    def data_dir(self) -> Path:
        return Path(self._ready["data_dir"])

    @property
    def pids(self) -> dict[str, int]:
        return dict(self._ready["pids"])

    @property
    def startup_seconds(self) -> float:
        return float(self._ready["startup_seconds"])

    @property
    def supervisor_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self, timeout: float = _CLOSE_TIMEOUT) -> None:
        """Stop everything and wait until the temp root is gone. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # SIGTERM still runs the supervisor's cleanup; SIGKILL would not.
            proc.terminate()
            proc.wait(timeout=timeout)
        if proc.stdout is not None:
            proc.stdout.close()
        # Normally already gone; after a supervisor crash its children die by
        # parent-death signal, but only we can still remove the files.
        if self._ready:
            shutil.rmtree(self._ready["root"], ignore_errors=True)

    def __enter__(self) -> DemoStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def request(self, op: str, **args: object) -> Any:
        """One control request to the supervisor; blocking, serialised across threads."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None or proc.poll() is not None:
                raise DemoStackError("the demo stack is not running")
            self._next_id += 1
            try:
                proc.stdin.write(json.dumps({"id": self._next_id, "op": op, "args": args}) + "\n")
                proc.stdin.flush()
            except BrokenPipeError as exc:
                raise DemoStackError("the demo stack's supervisor is gone") from exc
            reply = self._read(_START_TIMEOUT)
        if not reply.get("ok"):
            raise DemoStackError(f"{op} failed: {reply.get('error')}")
        return reply.get("result")

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        # Replies are whole lines written with one flush, so once select says
        # readable, readline returns without blocking for long.
        readable, _, _ = select.select([stdout], [], [], timeout)
        if not readable:
            raise DemoStackError(f"no answer from the demo stack within {timeout:.0f}s")
        line = stdout.readline()
        if not line:
            raise DemoStackError("the demo stack's supervisor exited")
        message: dict[str, Any] = json.loads(line)
        return message


class DemoControl:
    """Demo-only fault keys. Blocking and cheap: call them from a worker thread."""

    def __init__(self, stack: DemoStack) -> None:
        self._stack = stack

    def stop_database(self) -> None:
        self._stack.request("stop_database")

    def start_database(self) -> None:
        self._stack.request("start_database")

    def database_running(self) -> bool:
        return bool(self._stack.request("database_running"))

    def set_api_latency(self, ms: int) -> None:
        self._stack.request("set_api_latency", ms=ms)

    def set_error_rate(self, rate: float) -> None:
        self._stack.request("set_error_rate", rate=rate)

    def burst_errors(self, n: int = 200) -> None:
        self._stack.request("burst_errors", n=n)

    def delete_rows(self, table: str = "soul_memories", fraction: float = 0.3) -> int:
        """Delete a random `fraction` of `table` as superuser; returns the rows deleted."""
        return int(self._stack.request("delete_rows", table=table, fraction=fraction))

    def reset(self) -> None:
        """API faults off and the database running; deleted rows are not restored."""
        self._stack.request("reset")


def run_no_ui(stdout: TextIO) -> int:
    """Start the stack, print `export NAME=value` lines, block until SIGINT/SIGTERM."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = DemoStack(stderr=None)
    try:
        started = time.monotonic()
        stack.start()
        for name, value in sorted(stack.env().items()):
            stdout.write(f"export {name}={shlex.quote(value)}\n")
        stdout.flush()
        print(
            f"demo stack ready in {time.monotonic() - started:.1f}s; Ctrl-C stops it",
            file=sys.stderr,
        )
        while not stop.wait(0.5):
            if not stack.alive:
                print("the demo stack stopped on its own", file=sys.stderr)
                return 1
        return 0
    finally:
        stack.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
