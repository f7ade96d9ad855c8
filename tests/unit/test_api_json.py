"""`together`: side-by-side API reads that fail as one read would."""

from __future__ import annotations

import asyncio

import pytest

from probes.api_json import together
from probes.sources import RateLimited, SourceError


async def answer(value: int, after: float = 0.0) -> int:
    await asyncio.sleep(after)
    return value


async def fail(error: SourceError, after: float = 0.0) -> int:
    await asyncio.sleep(after)
    raise error


async def test_results_come_in_the_order_asked() -> None:
    assert await together(answer(1, 0.02), answer(2), answer(3, 0.01)) == [1, 2, 3]


async def test_the_first_failure_is_raised_alone_and_the_others_are_cancelled() -> None:
    cancelled = asyncio.Event()

    async def slow() -> int:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    with pytest.raises(SourceError, match=r"^Sentry error HTTP 500$"):
        async with asyncio.timeout(5):
            await together(slow(), fail(SourceError("Sentry error HTTP 500")))
    assert cancelled.is_set()


async def test_a_rate_limit_wins_over_another_failure() -> None:
    calls = (fail(SourceError("Sentry error HTTP 500")), fail(RateLimited("HTTP 429", 30.0)))
    with pytest.raises(RateLimited) as raised:
        await together(*calls)
    assert raised.value.retry_after == 30.0
