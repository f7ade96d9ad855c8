"""JSON over HTTP for the API probes (Sentry, web vitals, the support desk): one GET, one answer.

They share the HTTP probe's client (`probes.http_wire.WireClient`): one keep-alive
pool per origin, no second HTTP stack loading its own trust store at start-up.
Every failure is a `SourceError` with one line naming the service; `HttpStatusError`
carries the status for callers that word some of them their own way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from console.config.durations import format_duration
from console.config.secret import Secret
from probes.http_client import retry_after
from probes.http_wire import (
    ConnectTimeout,
    PoolTimeout,
    ReadTimeout,
    Request,
    Response,
    WireClient,
    WireError,
)
from probes.result import Status, one_line
from probes.sources import DEFAULT_RETRY_AFTER, RateLimited, SourceError

T = TypeVar("T")

# API answers are bigger than health pages (a page of issues), never this big.
BODY_LIMIT = 8 << 20


class HttpStatusError(SourceError):
    def __init__(self, message: str, status: Status, code: int) -> None:
        super().__init__(message, status)
        self.code = code


async def fetch(
    client: WireClient,
    url: str,
    *,
    service: str,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    timeout: float,
    secrets: Sequence[Secret] = (),
) -> Response:
    """A 200 answer; `SourceError` naming `service` otherwise.

    A 429 raises `RateLimited` with its Retry-After, so the caller can hold off.
    `secrets` (the header values' sources) are scrubbed from every message.
    """
    target = f"{url}?{urlencode(params)}" if params else url
    try:
        request = Request.build("GET", target, headers)
        response = await client.send(
            request, timeout=timeout, body_limit=BODY_LIMIT, follow_redirects=False
        )
    except ValueError as exc:  # a URL or header that cannot be sent: configuration
        raise SourceError(
            f"cannot call {service}: {one_line(exc, secrets)}", Status.UNKNOWN
        ) from None
    except (ConnectTimeout, ReadTimeout, PoolTimeout):
        raise SourceError(f"{service} did not answer within {format_duration(timeout)}") from None
    except WireError as exc:
        raise SourceError(f"cannot reach {service}: {one_line(exc, secrets)}") from None
    code = response.status
    if code in (401, 403):
        raise HttpStatusError(
            f"{service} refused the credentials (HTTP {code}): wrong, revoked or not allowed",
            Status.UNKNOWN,
            code,
        )
    if code == 429:
        wait = retry_after(response.headers, DEFAULT_RETRY_AFTER)
        raise RateLimited(f"rate limited by {service} (HTTP 429)", wait)
    if code >= 500:
        raise HttpStatusError(f"{service} error HTTP {code}", Status.DOWN, code)
    if code != 200:
        raise HttpStatusError(f"unexpected HTTP {code} from {service}", Status.UNKNOWN, code)
    return response


def decoded(response: Response, service: str) -> Any:
    try:
        return json.loads(response.body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both
        raise SourceError(f"malformed JSON from {service}", Status.UNKNOWN) from None


async def together(*calls: Coroutine[Any, Any, T]) -> list[T]:
    """The results of `calls`, run side by side: one run costs the slowest, not the sum.

    The first failure cancels the others and is raised as it is (not in a group), so
    callers handle it as they would a lone call's; a 429 wins over any other failure,
    since it is what holds the probe off the service.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except ExceptionGroup as failed:
        errors = failed.exceptions
        raise next((e for e in errors if isinstance(e, RateLimited)), errors[0]) from None
    return [task.result() for task in tasks]
