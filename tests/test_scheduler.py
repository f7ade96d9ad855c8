"""The scheduler on real asyncio time with scripted probes (short intervals)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

import pytest

from console.clock import FakeClock
from console.scheduler import FIRST_RUN_SPREAD, FIRST_RUN_SPREAD_PER_PROBE, Scheduler
from probes.result import ProbeResult, Status


class Scripted:
    """A probe whose run is `behaviour()`; records starts, cancellations and overlap."""

    kind = "scripted"

    def __init__(
        self,
        name: str,
        behaviour: Callable[[], Awaitable[Status]] | None = None,
        *,
        interval: float = 0.05,
        timeout: float = 0.5,
    ) -> None:
        self.name = name
        self.interval = interval
        self.timeout = timeout
        self.behaviour = behaviour or _ok
        self.starts: list[float] = []
        self.cancelled = 0
        self.active = 0
        self.max_active = 0
        self.closed = False

    async def run(self) -> ProbeResult:
        self.starts.append(time.monotonic())
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            status = await self.behaviour()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.active -= 1
        return ProbeResult(self.name, self.kind, status, time.time(), 0.0, {"up": True})

    async def close(self) -> None:
        self.closed = True


async def _ok() -> Status:
    return Status.OK


async def _hang() -> Status:
    await asyncio.sleep(3600)
    return Status.OK


async def _down() -> Status:
    return Status.DOWN


class Collector:
    def __init__(self) -> None:
        self.results: list[ProbeResult] = []

    def __call__(self, result: ProbeResult) -> None:
        self.results.append(result)

    def of(self, name: str) -> list[ProbeResult]:
        return [r for r in self.results if r.name == name]

    async def wait_for(self, name: str, count: int, within: float = 3.0) -> list[ProbeResult]:
        deadline = time.monotonic() + within
        while len(self.of(name)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}: {len(self.of(name))} results, wanted {count}")
            await asyncio.sleep(0.005)
        return self.of(name)


async def test_timeout_is_enforced_by_cancellation() -> None:
    probe = Scripted("slow", _hang, timeout=0.3)
    started = time.monotonic()
    [result] = await Scheduler([probe], Collector()).run_once()
    assert time.monotonic() - started < 0.6
    assert result.status is Status.DOWN
    assert result.error == "timed out after 300ms"
    await asyncio.sleep(0)
    assert probe.cancelled == 1


async def test_an_exception_becomes_unknown_and_the_loop_goes_on() -> None:
    async def boom() -> Status:
        raise RuntimeError("probe bug")

    probe = Scripted("buggy", boom, interval=0.02)
    results = Collector()
    scheduler = Scheduler([probe], results, jitter=0)
    await scheduler.start()
    try:
        found = await results.wait_for("buggy", 3)
    finally:
        await scheduler.stop()
    assert {r.status for r in found} == {Status.UNKNOWN}
    assert found[0].error == "RuntimeError: probe bug"


async def test_a_run_that_ignores_cancellation_is_never_started_twice() -> None:
    async def stubborn() -> Status:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0.4)  # keeps going after being cancelled
        return Status.OK

    probe = Scripted("stubborn", stubborn, interval=0.01, timeout=0.1)
    results = Collector()
    scheduler = Scheduler([probe], results, jitter=0)
    await scheduler.start()
    try:
        await results.wait_for("stubborn", 3, within=5)
    finally:
        await scheduler.stop()
    assert probe.max_active == 1
    assert results.of("stubborn")[0].error == "timed out after 100ms"


async def test_a_hung_probe_does_not_delay_the_others() -> None:
    hung = Scripted("hung", _hang, timeout=2.0)
    fast = Scripted("fast", interval=0.02)
    results = Collector()
    scheduler = Scheduler([hung, fast], results, jitter=0)
    await scheduler.start()
    try:
        await asyncio.sleep(0.5)
        assert scheduler.running("hung")
        assert not results.of("hung")
        assert len(results.of("fast")) >= 10
    finally:
        await scheduler.stop()
    assert hung.closed and fast.closed


async def test_consecutive_failures_back_off_up_to_2x_and_success_resets() -> None:
    outcomes = [Status.DOWN] * 5 + [Status.OK] * 3

    async def scripted() -> Status:
        return outcomes.pop(0) if outcomes else Status.OK

    probe = Scripted("flaky", scripted, interval=0.1)
    results = Collector()
    scheduler = Scheduler([probe], results, jitter=0)
    await scheduler.start()
    try:
        await results.wait_for("flaky", 8, within=5)
    finally:
        await scheduler.stop()
    gaps = [round((b - a) / probe.interval, 1) for a, b in itertools.pairwise(probe.starts)]
    # After failure 1 on time, then 2x, capped; after the first success, 1x again.
    assert gaps[:6] == pytest.approx([1, 2, 2, 2, 2, 1], abs=0.3)


async def test_run_once_runs_all_probes_concurrently_each_under_its_timeout() -> None:
    async def fifth() -> Status:
        await asyncio.sleep(0.2)
        return Status.OK

    probes = [Scripted(f"p{i}", fifth) for i in range(5)] + [Scripted("hung", _hang, timeout=0.3)]
    started = time.monotonic()
    results = await Scheduler(probes, Collector()).run_once()
    assert time.monotonic() - started < 0.5
    assert [r.name for r in results] == [p.name for p in probes]
    assert [r.status for r in results] == [Status.OK] * 5 + [Status.DOWN]


async def test_first_runs_spread_only_as_wide_as_the_herd_needs() -> None:
    # A console's few probes start together (its first frame waits for them); hundreds
    # spread over FIRST_RUN_SPREAD so they do not open every socket in one millisecond.
    for count, widest in ((8, 8 * FIRST_RUN_SPREAD_PER_PROBE), (500, FIRST_RUN_SPREAD)):
        clock = FakeClock()
        probes = [Scripted(f"p{i}", interval=30.0) for i in range(count)]
        scheduler = Scheduler(probes, Collector(), clock=clock)
        start = clock.monotonic()
        await scheduler.start()  # due times are set here; no loop has run yet
        try:
            offsets = [(scheduler.next_due(p.name) or 0.0) - start for p in probes]
            assert min(offsets) >= 0.0 and widest / 2 < max(offsets) <= widest
        finally:
            await scheduler.stop()


async def test_first_results_arrive_promptly_and_trigger_runs_now() -> None:
    probes = [Scripted(f"p{i}", interval=30.0) for i in range(50)]
    results = Collector()
    scheduler = Scheduler(probes, results)
    started = time.monotonic()
    await scheduler.start()
    try:
        # Generous bounds: CI shares two cores; the 0.5 s target is measured in bench/.
        for probe in probes:
            await results.wait_for(probe.name, 1, within=2.0)
        assert time.monotonic() - started < 2.0
        due = scheduler.next_due("p0")
        last = scheduler.last_started("p0")
        # The second run lands anywhere in 0.5..1.5 intervals (spreading the start-up burst).
        assert due is not None and last is not None and 14.0 <= due - last <= 46.0
        scheduler.trigger("p0")
        await results.wait_for("p0", 2, within=2.0)
        assert len(results.of("p1")) == 1
        scheduler.trigger()
        await results.wait_for("p1", 2, within=2.0)
    finally:
        await scheduler.stop()


async def test_a_failing_consumer_does_not_stop_the_loop() -> None:
    calls: list[str] = []

    def broken(result: ProbeResult) -> None:
        calls.append(result.name)
        raise ValueError("consumer bug")

    scheduler = Scheduler([Scripted("p", interval=0.02)], broken, jitter=0)
    await scheduler.start()
    await asyncio.sleep(0.2)
    await scheduler.stop()
    assert len(calls) >= 3


async def test_run_once_on_a_started_scheduler_waits_for_the_run_in_flight() -> None:
    async def slowish() -> Status:
        await asyncio.sleep(0.15)
        return Status.OK

    probe = Scripted("p", slowish, interval=0.01)
    scheduler = Scheduler([probe], Collector(), jitter=0)
    await scheduler.start()
    try:
        await asyncio.sleep(0.05)
        [result] = await scheduler.run_once()
    finally:
        await scheduler.stop()
    assert result.status is Status.OK
    assert probe.max_active == 1
