"""Tie demo processes to their parent so nothing outlives the stack."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

_PR_SET_PDEATHSIG = 1
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def parent_death_signal(sig: signal.Signals) -> Callable[[], None]:
    """A `preexec_fn` that asks the kernel to send `sig` when our parent thread dies.

    It runs after subprocess has switched uid, which matters: a credential change
    clears the setting, so it must be set last. Linux only; elsewhere a no-op,
    and the owner's explicit shutdown still applies.
    """

    def preexec() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return preexec


def exit_with_parent(poll_seconds: float = 0.5) -> None:
    """Exit this process as soon as it is re-parented (its parent died)."""
    original = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != original:
                # os._exit: the main thread may be blocked in a server loop.
                os._exit(0)
            threading.Event().wait(poll_seconds)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def exit_on_sigterm() -> None:
    """Turn SIGTERM (and SIGINT) into SystemExit so `finally` blocks run."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def child_env() -> dict[str, str]:
    """Our environment, with this checkout importable by child interpreters."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    return env
