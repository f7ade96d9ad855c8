"""One backup and one drill at a time per state file, across processes.

A console's `b`, a cron `warroom backup` and a second console share the state
file; without this, two pg_dumps would race and the retention pass of one
could delete what the other just verified. The lease lives in the store; it
is renewed while the action reports progress, so a crashed holder's lease
lapses within minutes instead of blocking backups for hours.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from console.actions.progress import Progress, ProgressCallback

TTL = 300.0
RENEW_EVERY = 30.0


class LeaseStore(Protocol):
    def acquire_lease(self, name: str, holder: str, ttl: float) -> bool: ...
    def release_lease(self, name: str, holder: str) -> None: ...
    def lease_holder(self, name: str) -> str | None: ...


class AlreadyRunning(RuntimeError):
    """Another process is running the same action; `str()` names it."""


@contextmanager
def exclusive(
    store: LeaseStore, action: str, progress: ProgressCallback
) -> Iterator[ProgressCallback]:
    """Hold the action's lease; yields a progress callback that also renews it."""
    name = f"action:{action}"
    holder = f"{socket.gethostname()}:{os.getpid()}"
    if not store.acquire_lease(name, holder, TTL):
        raise AlreadyRunning(f"a {action} is already running ({store.lease_holder(name)})")
    renewed = time.monotonic()

    def report(update: Progress) -> None:
        nonlocal renewed
        if time.monotonic() - renewed > RENEW_EVERY:
            store.acquire_lease(name, holder, TTL)
            renewed = time.monotonic()
        progress(update)

    try:
        yield report
    finally:
        store.release_lease(name, holder)
