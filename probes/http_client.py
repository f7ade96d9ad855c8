"""The HTTP clients every HTTP-based probe shares: a small pool per origin, bounded before it.

HTTP endpoint probes, the many frequent ones, go through `probes.http_wire.WireClient`;
the API clients (Sentry, vitals, support) through httpx, below.

One `httpx.AsyncClient` per TLS verification setting (one SSL context each, loaded
once); method, headers, timeouts and redirects are per request. Inside, every
origin (scheme, host, port) gets its own connection pool and semaphore:

- isolation: a slow or hung target ties up only its own `PER_ORIGIN` slots, so it
  stretches its own probes' cycles, never those of other targets;
- CPU: httpcore 1.0 rescans its whole queue and every connection (polling each
  socket) on each request and release. One shared pool made each request pay for
  every connection to every target, and a queue of hundreds in it turned a
  500-probe start into seconds of CPU. The semaphore is the pool's size, so the pool
  never queues, and it only ever holds one origin's few connections.

A slot is held until the response is closed, exactly as the pooled connection is.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from probes.http_wire import WireClient

PER_ORIGIN = 6
# Idle connections kept per origin; beyond it, finished connections are closed.
KEEPALIVE_PER_ORIGIN = 6
KEEPALIVE_EXPIRY = 30.0

Origin = tuple[bytes, bytes, int | None]


class _Released(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        # The inner iterator itself: no extra generator layer per chunk.
        return self._inner.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:  # once, however often the stream is closed
                release()


@dataclass(frozen=True, slots=True)
class _Pool:
    slots: asyncio.Semaphore
    transport: httpx.AsyncHTTPTransport


class _PerOriginTransport(httpx.AsyncBaseTransport):
    def __init__(self, context: ssl.SSLContext, per_origin: int) -> None:
        self._context = context
        self._per_origin = per_origin
        self._pools: dict[Origin, _Pool] = {}

    def _pool(self, url: httpx.URL) -> _Pool:
        origin = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(origin)
        if pool is None:
            limits = httpx.Limits(
                max_connections=self._per_origin,
                max_keepalive_connections=min(KEEPALIVE_PER_ORIGIN, self._per_origin),
                keepalive_expiry=KEEPALIVE_EXPIRY,
            )
            # trust_env=False: a probe measures the target, not a proxy the shell exports.
            transport = httpx.AsyncHTTPTransport(
                verify=self._context, limits=limits, trust_env=False
            )
            pool = self._pools[origin] = _Pool(asyncio.Semaphore(self._per_origin), transport)
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pool(request.url)
        # Waiting for a slot is waiting for the pool: bounded by the request's pool timeout.
        wait = request.extensions.get("timeout", {}).get("pool")
        try:
            async with asyncio.timeout(wait):
                await pool.slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection", request=request) from None
        try:
            response = await pool.transport.handle_async_request(request)
        except BaseException:
            pool.slots.release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Released(response.stream, pool.slots.release)
        return response

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.transport.aclose()


def make_client(verify: bool, per_origin: int = PER_ORIGIN) -> httpx.AsyncClient:
    # httpx's trust store (certifi), or $SSL_CERT_FILE / $SSL_CERT_DIR for a private CA.
    context = httpx.create_ssl_context(verify=verify, trust_env=True)
    transport = _PerOriginTransport(context, per_origin)
    # Probes are stateless: a cookie one target sets must not ride along on later runs
    # (nor on other probes of the same domain), so the jar accepts none.
    cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(transport=transport, cookies=cookies, trust_env=False)


class HttpClients:
    """The shared clients by TLS verification, created on first use; `aclose()` at shutdown."""

    def __init__(self, per_origin: int = PER_ORIGIN) -> None:
        self._per_origin = per_origin
        self._clients: dict[bool, httpx.AsyncClient] = {}
        self._wires: dict[bool, WireClient] = {}

    def get(self, verify: bool) -> httpx.AsyncClient:
        client = self._clients.get(verify)
        if client is None:
            client = self._clients[verify] = make_client(verify, self._per_origin)
        return client

    def wire(self, verify: bool) -> WireClient:
        wire = self._wires.get(verify)
        if wire is None:
            wire = self._wires[verify] = WireClient(verify, self._per_origin)
        return wire

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        wires, self._wires = list(self._wires.values()), {}
        for wire in wires:
            await wire.aclose()
        for client in clients:
            await client.aclose()


def retry_after(headers: Mapping[str, str], default: float) -> float:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date.

    `default` when it is absent, unreadable, negative or not finite (an `inf`
    would pause a probe, or every Slack message, for good). `headers` is
    case-insensitive as httpx's are.
    """
    value = headers.get("retry-after", "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return default
        return max(0.0, seconds)  # a date already past: go now
    return seconds if math.isfinite(seconds) and seconds >= 0 else default
