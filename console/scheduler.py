"""Runs probes on their intervals: one asyncio task per probe, one run in flight per probe.

Each probe's loop waits until its next due time, runs the probe under a hard
timeout enforced here (cancellation, not the probe's good will), hands the
result to `on_result` and schedules the next run. A slow or hung target only
stretches its own cycle; consecutive failures stretch it further (backoff).
Every result leaves here scrubbed of the configured secrets (`probes.result.scrubbed`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from console.clock import Clock, SystemClock
from console.config.durations import format_duration
from console.config.secret import Secret
from probes.result import Probe, ProbeResult, Status, failure, scrubbed

log = logging.getLogger(__name__)

# The first runs are spread over this long for each probe, at most FIRST_RUN_SPREAD,
# so 500 probes do not all open sockets in the same millisecond while the console's
# few probes start at once (their first results are its first frame).
FIRST_RUN_SPREAD = 0.25
FIRST_RUN_SPREAD_PER_PROBE = 0.0005
# A failing target is polled at most half as often: enough to spare it, while the
# operator still sees it come back within two intervals (the probes themselves
# pace reconnects).
MAX_BACKOFF = 2.0
TICK = 0.05
CLOSE_TIMEOUT = 2.0


@dataclass(slots=True)
class _Slot:
    """Scheduling state of one probe."""

    probe: Probe
    due: float | None = None  # the run in flight was due then, else the next run is
    started: float | None = None
    runs: int = 0
    failures: int = 0
    inflight: asyncio.Task[ProbeResult] | None = None
    waker: asyncio.Future[None] | None = None


class Scheduler:
    def __init__(
        self,
        probes: Sequence[Probe],
        on_result: Callable[[ProbeResult], None],
        clock: Clock | None = None,
        jitter: float = 0.1,
        secrets: Sequence[Secret] = (),
    ) -> None:
        names = [p.name for p in probes]
        if len(set(names)) != len(names):
            raise ValueError(f"probe names must be unique: {names}")
        self._slots = {p.name: _Slot(p) for p in probes}
        self._on_result = on_result
        self._clock = clock or SystemClock()
        self._jitter = jitter
        self._loops: list[asyncio.Task[None]] = []
        self._random = random.Random()
        self._secrets = [s for s in secrets if s]

    # -- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        if self._loops:
            raise RuntimeError("scheduler already started")
        now = self._clock.monotonic()
        herd = min(FIRST_RUN_SPREAD, len(self._slots) * FIRST_RUN_SPREAD_PER_PROBE)
        for slot in self._slots.values():
            spread = min(herd, slot.probe.interval * self._jitter)
            slot.due = now + self._random.uniform(0.0, spread)
            self._loops.append(
                asyncio.create_task(self._loop(slot), name=f"scheduler:{slot.probe.name}")
            )

    async def stop(self) -> None:
        """Cancel every loop and run, then close each probe (bounded by CLOSE_TIMEOUT)."""
        loops, self._loops = self._loops, []
        for loop_task in loops:
            loop_task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        inflight = {s.inflight for s in self._slots.values() if s.inflight is not None}
        for task in inflight:
            task.cancel()
        if inflight:
            await asyncio.wait(inflight, timeout=CLOSE_TIMEOUT)
        await asyncio.gather(*(self._close(s.probe) for s in self._slots.values()))

    async def run_once(self) -> list[ProbeResult]:
        """Every probe once, concurrently, each under its timeout (for `warroom check`)."""
        return list(await asyncio.gather(*(self._run(s) for s in self._slots.values())))

    # -- operator controls and introspection ------------------------------

    def trigger(self, name: str | None = None) -> None:
        """Run now ("refresh"): wakes waiting probes; one already running is left alone."""
        for slot in self._slots.values() if name is None else (self._slots[name],):
            if slot.waker is not None and not slot.waker.done():
                slot.waker.set_result(None)

    def running(self, name: str) -> bool:
        return self._slots[name].inflight is not None

    def last_started(self, name: str) -> float | None:
        return self._slots[name].started

    def next_due(self, name: str) -> float | None:
        """Monotonic due time of the next run (of the run in flight while one is)."""
        return self._slots[name].due

    # -- internals --------------------------------------------------------

    async def _loop(self, slot: _Slot) -> None:
        loop = asyncio.get_running_loop()
        while True:
            assert slot.due is not None
            delay = slot.due - self._clock.monotonic()
            if delay > 0:
                slot.waker = loop.create_future()
                handle = loop.call_later(delay, _wake, slot.waker)
                try:
                    await slot.waker
                finally:
                    handle.cancel()
                    slot.waker = None
            result = await self._run(slot)
            slot.runs += 1
            slot.failures = 0 if result.status.evaluable else slot.failures + 1
            self._deliver(result)
            slot.due = self._next_due(slot)

    def _next_due(self, slot: _Slot) -> float:
        assert slot.due is not None
        # The first failure is retried on time (rules count consecutive failures);
        # further ones back off to MAX_BACKOFF.
        backoff = min(MAX_BACKOFF, 2.0 ** max(0, slot.failures - 1))
        interval = slot.probe.interval
        if slot.runs == 1 and self._jitter > 0:
            # Every probe ran at once at start; spread the second runs over a whole
            # interval, so probes sharing an interval do not stay bunched for good.
            # (jitter=0 keeps a strict schedule, for tests.)
            period = interval * self._random.uniform(0.5, 1.5) * backoff
        else:
            period = interval * backoff + self._random.uniform(0.0, interval * self._jitter)
        # From the due time, not the start, so loop lag does not accumulate; a run that
        # overran its period starts again after a short rest, never back to back.
        rest = self._random.uniform(0.0, interval * self._jitter) + 0.01
        due = max(slot.due + period, self._clock.monotonic() + rest)
        # Rounded up to a tick, so runs due within one share the event loop's wake-ups
        # (with hundreds of probes a wake-up costs about as much as a probe's Python).
        # The tick stays inside the jitter, so it never shifts a strict (jitter=0) schedule.
        tick = min(TICK, interval * self._jitter / 2)
        return math.ceil(due / tick) * tick if tick > 0 else due

    async def _run(self, slot: _Slot) -> ProbeResult:
        return scrubbed(await self._attempt(slot), self._secrets)

    async def _attempt(self, slot: _Slot) -> ProbeResult:
        probe = slot.probe
        started = self._clock.monotonic()
        # A run still in flight (one that ignored its cancellation, or the loop's own run
        # when `run_once` is called on a started scheduler) finishes first: never twice.
        while slot.inflight is not None:
            left = started + probe.timeout - self._clock.monotonic()
            done, _ = await asyncio.wait({slot.inflight}, timeout=max(0.0, left))
            if not done:
                return failure(
                    probe.name, probe.kind, started,
                    "previous run still going after cancellation", Status.UNKNOWN,
                )  # fmt: skip
        slot.started = started = self._clock.monotonic()
        task = asyncio.create_task(probe.run(), name=f"probe:{probe.name}")
        slot.inflight = task
        task.add_done_callback(lambda _: _clear(slot, task))
        try:
            done, _ = await asyncio.wait({task}, timeout=probe.timeout)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            task.cancel()
            return failure(
                probe.name, probe.kind, started, f"timed out after {format_duration(probe.timeout)}"
            )
        if task.cancelled():
            return failure(probe.name, probe.kind, started, "probe cancelled", Status.UNKNOWN)
        exc = task.exception()
        if exc is not None:
            log.error("probe %s raised", probe.name, exc_info=exc)
            return failure(
                probe.name, probe.kind, started, f"{type(exc).__name__}: {exc}", Status.UNKNOWN
            )
        return task.result()

    def _deliver(self, result: ProbeResult) -> None:
        try:
            self._on_result(result)
        except Exception:
            # A consumer bug must not stop the probe's loop.
            log.exception("on_result failed for %s", result.name)

    async def _close(self, probe: Probe) -> None:
        try:
            await asyncio.wait_for(probe.close(), CLOSE_TIMEOUT)
        except Exception:
            log.warning("closing probe %s failed", probe.name, exc_info=True)


def _wake(waker: asyncio.Future[None]) -> None:
    if not waker.done():
        waker.set_result(None)


def _clear(slot: _Slot, task: asyncio.Task[ProbeResult]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so an abandoned run's error is not logged as unhandled
    if slot.inflight is task:
        slot.inflight = None
