"""HTTP/1.1 for the probes: keep-alive connections per origin on asyncio protocols.

Why not httpx here: a request through httpx costs 0.5-1.3 ms of CPU on a 2-core
VM (request and response models, anyio cancel scopes, h11's state machine, the
pool's scans), which is the whole budget of a probe run (bench/scheduler_http.py
runs 500 probes at 5 s), and importing it with its trust store is ~0.1 s of the
console's start. A probe sends one request shape - a method, a URL, a few headers,
no body - and reads one answer: the status, the headers, a bounded body and when
each phase happened. That is all this module does, in about a tenth of the CPU.
The HTTP endpoint probes, the API probes (Sentry, vitals, support, through
`probes.api_json`) and the Slack notifier (one POST with a JSON body) use it.

Each origin (scheme, host, port) gets `per_origin` slots: a slow or hung target
ties up only its own connections. A connection goes back to its origin's idle
list only when its response was read to the end and the server did not ask to
close; one the server closed while idle is noticed at once (`connection_lost`)
and never reused. Every phase shares one deadline, and the phase that was
running when it passed names the error.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import ssl
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urljoin, urlsplit

from probes.tls import client_context

KEEPALIVE_EXPIRY = 30.0
MAX_REDIRECTS = 20
HEAD_LIMIT = 64 * 1024
LINE_LIMIT = 8 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Methods sent again on a fresh connection when a reused one was closed before any answer.
_RETRYABLE = frozenset({"GET", "HEAD", "PUT", "OPTIONS"})
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
_USER_AGENT = b"warroom-probe"

Origin = tuple[str, str, int]


class WireError(Exception):
    """A request that got no usable response; the message is one line for an operator."""


class PoolTimeout(WireError):
    pass


class ConnectTimeout(WireError):
    pass


class ReadTimeout(WireError):
    pass


class ConnectError(WireError):
    pass


class ProtocolError(WireError):
    pass


@dataclass(frozen=True, slots=True)
class Request:
    """A request ready to send: parsed once per probe, re-used on every run."""

    method: str
    url: str
    origin: Origin
    server_name: str
    head: bytes  # request line and headers, through the blank line
    body: bytes
    # Configured headers and the URL's user:password, which never follow a redirect
    # to another origin; userinfo in a Location is never sent.
    secrets: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def build(cls, method: str, url: str, headers: Mapping[str, str], body: bytes = b"") -> Request:
        """Raises ValueError naming the URL's or a header's problem (never a header's value)."""
        fields = []
        for name, value in headers.items():
            raw_name, raw_value = name.encode("latin-1", "replace"), value.encode()
            if not _TOKEN.fullmatch(raw_name):
                raise ValueError(f"Illegal header name {name!r}")
            if any(c in raw_value for c in b"\r\n\0"):
                raise ValueError(f"Illegal header value for {name} (a line break or NUL in it)")
            fields.append((raw_name, raw_value.strip()))
        parts = urlsplit(url)
        if parts.username is not None and not any(n.lower() == b"authorization" for n, _ in fields):
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            fields.append((b"Authorization", b"Basic " + base64.b64encode(pair)))
        return cls._for(method, url, tuple(fields), body)

    @classmethod
    def _for(
        cls, method: str, url: str, secrets: tuple[tuple[bytes, bytes], ...], body: bytes
    ) -> Request:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme {parts.scheme!r} (http or https)")
        host = parts.hostname
        if not host:
            raise ValueError(f"no host in URL {url!r}")
        port = parts.port or (443 if scheme == "https" else 80)  # ValueError on a bad port
        ascii_host = host.encode("idna").decode("ascii")
        shown = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
        default = port == (443 if scheme == "https" else 80)
        authority = shown if default else f"{shown}:{port}"
        target = quote(parts.path or "/", safe=_URL_SAFE)
        if parts.query:
            target += "?" + quote(parts.query, safe=_URL_SAFE)
        lines = [
            f"{method} {target} HTTP/1.1".encode("ascii"),
            b"Host: " + authority.encode("ascii"),
            b"User-Agent: " + _USER_AGENT,
            b"Accept: */*",
            b"Accept-Encoding: gzip, deflate",
        ]
        lines += [name + b": " + value for name, value in secrets]
        if body or method in ("POST", "PUT"):
            lines.append(b"Content-Length: %d" % len(body))
        return cls(
            method=method,
            url=f"{scheme}://{authority}{target}",
            origin=(scheme, ascii_host, port),
            server_name=ascii_host,
            head=b"\r\n".join(lines) + b"\r\n\r\n",
            body=body,
            secrets=secrets,
        )

    def redirected(self, status: int, location: str) -> Request:
        """Where a redirect points. Configured headers and the body never follow it to
        another origin; the body follows only a redirect that keeps the method (307, 308)."""
        method = self.method
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method = "GET"
        following = self._for(method, urljoin(self.url, location), (), b"")
        if following.origin != self.origin:
            return following
        body = self.body if method == self.method else b""
        return self._for(method, following.url, self.secrets, body)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes  # at most the caller's limit, decoded from gzip/deflate
    url: str  # after redirects
    reused: bool  # on a connection kept from an earlier request
    # perf_counter times. `began`: the first request's socket opened or headers sent,
    # so waiting for a free pooled connection (our own queue) is never the target's.
    began: float
    connect_started: float | None  # None on a reused connection
    connected: float | None  # TCP, and TLS for https, done
    sent: float
    headers_received: float
    certificate: bytes | None  # the server's DER certificate, for https


class _Connection(asyncio.Protocol):
    """One socket: what arrived in `buffer`, and whether the peer is gone."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.idle_since = 0.0
        self.certificate: bytes | None = None
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def more(self) -> None:
        """Wait for more bytes; ProtocolError when the server has closed instead."""
        if self.closed:
            raise ProtocolError("the server closed the connection mid-response")
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    async def line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > LINE_LIMIT:
                raise ProtocolError("a chunk header line over 8 KiB")
            await self.more()
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return line

    async def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            await self.more()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def until_close(self, limit: int) -> bytes:
        while not self.closed and len(self.buffer) < limit:
            await self.more()
        data = bytes(self.buffer[:limit])
        self.buffer.clear()
        return data


class _Origin:
    __slots__ = ("idle", "slots")

    def __init__(self, per_origin: int) -> None:
        self.slots = asyncio.Semaphore(per_origin)
        self.idle: list[_Connection] = []

    def reusable(self, now: float) -> _Connection | None:
        """The most recently used live connection; expired ones at the bottom are closed."""
        idle = self.idle
        while idle and (idle[0].closed or now - idle[0].idle_since >= KEEPALIVE_EXPIRY):
            idle.pop(0).close()
        while idle:
            conn = idle.pop()
            # Bytes on an idle connection are not an answer to anything: never trust it.
            if not conn.closed and not conn.buffer and now - conn.idle_since < KEEPALIVE_EXPIRY:
                return conn
            conn.close()
        return None


class WireClient:
    """Shared by every HTTP probe with the same TLS verification; `aclose()` at shutdown."""

    def __init__(self, verify: bool, per_origin: int) -> None:
        self._verify = verify
        self._per_origin = per_origin
        self._origins: dict[Origin, _Origin] = {}
        self._context: ssl.SSLContext | None = None  # loaded on the first https request

    async def send(
        self, request: Request, *, timeout: float, body_limit: int, follow_redirects: bool
    ) -> Response:
        """The response, or a WireError subclass; every phase within `timeout` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        began: float | None = None
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._exchange(request, deadline, body_limit)
            if began is None:
                began = response.began
            location = response.headers.get("location")
            if not follow_redirects or response.status not in _REDIRECTS or location is None:
                return replace(response, began=began)  # redirects count in the latency
            request = request.redirected(response.status, location)
        raise ProtocolError(f"more than {MAX_REDIRECTS} redirects")

    async def aclose(self) -> None:
        origins, self._origins = list(self._origins.values()), {}
        for origin in origins:
            for conn in origin.idle:
                conn.close()

    async def _exchange(self, request: Request, deadline: float, limit: int) -> Response:
        origin = self._origins.get(request.origin)
        if origin is None:
            origin = self._origins[request.origin] = _Origin(self._per_origin)
        loop = asyncio.get_running_loop()
        asked = got_slot = loop.time()
        phase = "pool"
        try:
            async with asyncio.timeout_at(deadline):
                await origin.slots.acquire()
                got_slot = loop.time()
                try:
                    conn = origin.reusable(time.monotonic())
                    if conn is not None:
                        phase = "read"
                        try:
                            return await self._roundtrip(conn, origin, request, limit, None)
                        except _ClosedBeforeAnswer:
                            if request.method not in _RETRYABLE:
                                raise ProtocolError(
                                    "the server closed the connection without a response"
                                ) from None
                            # A kept connection raced the server's idle close: once more, anew.
                    phase = "connect"
                    conn, opened = await self._connect(request)
                    phase = "read"
                    return await self._roundtrip(conn, origin, request, limit, opened)
                finally:
                    origin.slots.release()
        except TimeoutError:
            # A request that queued for most of its time was failed by the queue, not the target.
            queued = got_slot - asked > (deadline - asked) / 2
            raise _timeout("pool" if queued else phase, request) from None

    async def _connect(self, request: Request) -> tuple[_Connection, tuple[float, float]]:
        """A new connection, and when its connect began and ended (TLS included)."""
        loop = asyncio.get_running_loop()
        scheme, host, port = request.origin
        conn = _Connection(loop)
        started = time.perf_counter()
        try:
            await loop.create_connection(lambda: conn, host, port)
            if scheme == "https":
                assert conn.transport is not None
                if self._context is None:
                    self._context = client_context(self._verify)
                conn.transport = await loop.start_tls(
                    conn.transport, conn, self._context, server_hostname=request.server_name
                )
                assert conn.transport is not None
                ssl_object = conn.transport.get_extra_info("ssl_object")
                conn.certificate = ssl_object.getpeercert(binary_form=True)
        except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            conn.close()
            shown = f"[{host}]" if ":" in host else host
            raise ConnectError(f"cannot connect to {shown}:{port}: {_os_error(exc)}") from None
        except BaseException:
            conn.close()
            raise
        return conn, (started, time.perf_counter())

    async def _roundtrip(
        self,
        conn: _Connection,
        origin: _Origin,
        request: Request,
        limit: int,
        opened: tuple[float, float] | None,  # None: a kept connection
    ) -> Response:
        assert conn.transport is not None
        keep = False
        try:
            sent = time.perf_counter()
            conn.transport.write(request.head + request.body)
            status, headers, keep = await _read_head(conn, fresh=opened is not None)
            received = time.perf_counter()
            body, whole = await _read_body(conn, request.method, status, headers, limit)
            keep = keep and whole
        finally:
            if keep and not conn.closed:
                conn.idle_since = time.monotonic()
                origin.idle.append(conn)
            else:
                conn.close()
        return Response(
            status=status,
            headers=headers,
            body=_decoded(body, headers.get("content-encoding"), limit),
            url=request.url,
            reused=opened is None,
            began=opened[0] if opened else sent,
            connect_started=opened[0] if opened else None,
            connected=opened[1] if opened else None,
            sent=sent,
            headers_received=received,
            certificate=conn.certificate,
        )


class _ClosedBeforeAnswer(Exception):
    pass


async def _read_head(conn: _Connection, *, fresh: bool) -> tuple[int, dict[str, str], bool]:
    """(status, headers, keep-alive) of the final response; informational ones are skipped."""
    while True:
        while (end := conn.buffer.find(b"\r\n\r\n")) < 0:
            if len(conn.buffer) > HEAD_LIMIT:
                raise ProtocolError("response headers over 64 KiB")
            if conn.closed and not conn.buffer and not fresh:
                raise _ClosedBeforeAnswer
            if conn.closed:
                what = "mid-headers" if conn.buffer else "without a response"
                raise ProtocolError(f"the server closed the connection {what}")
            await conn.more()
        if end > HEAD_LIMIT:
            raise ProtocolError("response headers over 64 KiB")
        head = bytes(conn.buffer[:end])
        del conn.buffer[: end + 4]
        status, headers, keep = _parse_head(head)
        if not 100 <= status < 200 or status == 101:
            return status, headers, keep
        fresh = True  # an answer began: a close from here on is not a stale connection


def _parse_head(head: bytes) -> tuple[int, dict[str, str], bool]:
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.x response: {lines[0][:40]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name[0] in b" \t":
            raise ProtocolError(f"malformed response header line {line[:40]!r}")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    tokens = headers.get("connection", "").lower()
    keep = "keep-alive" in tokens if version == b"HTTP/1.0" else "close" not in tokens
    return int(code), headers, keep


async def _read_body(
    conn: _Connection, method: str, status: int, headers: dict[str, str], limit: int
) -> tuple[bytes, bool]:
    """(body up to `limit`, whether the body was read to its end)."""
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return b"", True
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(conn, limit)
    length = headers.get("content-length")
    if length is None:
        return await conn.until_close(limit), False
    if not (length.isascii() and length.isdigit()):
        raise ProtocolError(f"bad Content-Length {length[:20]!r}")
    size = int(length)
    if size > limit:
        return await conn.exactly(limit), False
    return await conn.exactly(size), True


async def _read_chunked(conn: _Connection, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_field = (await conn.line()).split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_field[:20]!r}") from None
        if size == 0:
            while await conn.line():  # trailers, up to the blank line
                pass
            return b"".join(chunks), True
        if total + size > limit:
            chunks.append(await conn.exactly(limit - total))
            return b"".join(chunks), False
        chunks.append(await conn.exactly(size))
        total += size
        if await conn.exactly(2) != b"\r\n":
            raise ProtocolError("a chunk not followed by CRLF")


def _decoded(body: bytes, encoding: str | None, limit: int) -> bytes:
    if not body or encoding is None or encoding.lower() not in ("gzip", "deflate"):
        return body
    # wbits 47: a gzip or a zlib header, whichever came ("deflate" is zlib-wrapped).
    decoder = zlib.decompressobj(wbits=47)
    try:
        return decoder.decompress(body, limit)
    except zlib.error as exc:
        raise ProtocolError(f"undecodable {encoding} body: {exc}") from None


def _timeout(phase: str, request: Request) -> WireError:
    if phase == "pool":
        return PoolTimeout("no free connection")
    if phase == "connect":
        return ConnectTimeout(f"connect to {request.origin[1]} timed out")
    return ReadTimeout("no response")


def _os_error(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError) or not exc.strerror:
        return str(exc) or type(exc).__name__
    if exc.errno and exc.errno > 0:  # DNS errors (gaierror) have negative codes
        # asyncio's strerror is "Connect call failed ('127.0.0.1', 9)": the errno says it plainly.
        return os.strerror(exc.errno)
    return exc.strerror
