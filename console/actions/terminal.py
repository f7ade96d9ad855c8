"""Running an action from a shell command: progress on stderr, result on stdout, Ctrl-C cancels.

The action runs in a worker thread, as in the console; the main thread only
waits, so Ctrl-C becomes a cancel request and the action undoes its work
before the command exits 130.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from console.actions.progress import Cancelled, CancelToken, Progress
from console.actions.reporting import human_size, one_line
from console.config.model import Config
from console.state.masking import protect_logs
from console.state.store import Store, open_store

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130

Action = Callable[[Store, Callable[[Progress], None], CancelToken], str]


def format_progress(p: Progress) -> str:
    parts = [f"{p.action}: {p.phase}"]
    if p.bytes_done or p.bytes_total:
        done = human_size(p.bytes_done)
        parts.append(f"{done} of ~{human_size(p.bytes_total)}" if p.bytes_total else done)
        if p.rate:
            parts.append(f"{human_size(p.rate)}/s")
    parts.append(f"{p.elapsed:.1f}s")
    if p.message:
        parts.append(p.message)
    return "  ".join(parts)


class StderrProgress:
    """One updating line on a terminal; elsewhere (logs, CI) one line per phase."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._phase: str | None = None
        self._open_line = False

    def __call__(self, p: Progress) -> None:
        line = format_progress(p)
        if self._tty:
            self._stream.write("\r\x1b[K" + line)
            self._open_line = True
        elif p.phase != self._phase:
            self._stream.write(line + "\n")
        self._phase = p.phase
        self._stream.flush()

    def close(self) -> None:
        if self._open_line:
            self._stream.write("\n")
            self._stream.flush()
            self._open_line = False


def run_action(config: Config, name: str, action: Action, read_only: bool = False) -> int:
    """Run `action` with the store open; print its one-line summary; return the exit code."""
    if read_only:
        print(f"{name} refused: read-only mode")
        return EXIT_FAILED
    protect_logs(config.secrets())
    progress = StderrProgress()
    cancel = CancelToken()
    result: list[str] = []
    failure: list[BaseException] = []
    finished = threading.Event()

    def work() -> None:
        try:
            with open_store(config) as store:
                result.append(action(store, progress, cancel))
        except BaseException as exc:
            failure.append(exc)
        finally:
            finished.set()

    threading.Thread(target=work, name=f"warroom-{name}", daemon=True).start()
    _wait(finished, cancel, name)
    progress.close()
    if result:
        print(result[0])
        return EXIT_OK
    exc = failure[0] if failure else RuntimeError("the action ended without a result")
    if isinstance(exc, Cancelled):
        print(f"{name} cancelled; everything it started was undone")
        return EXIT_INTERRUPTED
    print(one_line(exc, config.secrets()))
    return EXIT_FAILED


def _wait(finished: threading.Event, cancel: CancelToken, name: str) -> None:
    # Ctrl-C only sets a flag here. Raised as KeyboardInterrupt it can land inside
    # Event.wait while the condition's lock is held (a with-block is not safe
    # against asynchronous exceptions), and the worker's finished.set() then waits
    # on that lock forever. An Event, not Thread.join: a join interrupted by Ctrl-C
    # can report the thread dead while it still runs (CPython 3.11).
    interrupted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: interrupted.append(signum))
    try:
        while not finished.wait(0.2):
            if interrupted and not cancel.cancelled:
                # Keep waiting: the worker must finish its cleanup before we exit.
                print(f"\ncancelling the {name}, cleaning up...", file=sys.stderr)
                cancel.cancel()
    finally:
        signal.signal(signal.SIGINT, previous)
