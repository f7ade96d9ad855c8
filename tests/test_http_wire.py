"""probes/http_wire.py against loopback servers that write exact bytes: framing, reuse, failures.

The well-behaved cases run through http.server in tests/test_http_probe.py; these
are the shapes real servers produce that a hand-written HTTP/1.1 client must get
right (chunked bodies, gzip, close-delimited bodies, 1xx, a kept connection the
server closed) and the malformed ones it must refuse in one line.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from console.config.model import Duration, HttpConfig
from console.config.secret import Secret
from probes.http import HttpProbe
from probes.http_wire import (
    MAX_REDIRECTS,
    PoolTimeout,
    ProtocolError,
    ReadTimeout,
    Request,
    Response,
    WireClient,
)
from probes.result import Status

Handler = Callable[["Peer"], Awaitable[None]]
Serve = Callable[[Handler], Awaitable["Server"]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhealthy"


@dataclass
class Peer:
    """One accepted connection, as the handler sees it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    number: int  # 1 for the server's first connection
    seen: list[bytes]  # every request head the server read, on any connection

    async def request(self) -> bytes:
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.seen.append(head)
        return head

    async def reply(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


@dataclass
class Server:
    handler: Handler
    url: str = ""
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        peer = Peer(reader, writer, self.connections, self.requests)
        try:
            await self.handler(peer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> Server:
        state = Server(handler)
        server = await asyncio.start_server(state._accept, "127.0.0.1", 0)
        servers.append(server)
        state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return state

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def client() -> AsyncIterator[WireClient]:
    wire = WireClient(verify=True, per_origin=2)
    yield wire
    await wire.aclose()


def keep_answering(*replies: bytes) -> Handler:
    """Each request on a connection gets the next reply (the last one repeats)."""

    async def handler(peer: Peer) -> None:
        for i in range(100):
            await peer.request()
            await peer.reply(replies[min(i, len(replies) - 1)])

    return handler


async def get(
    client: WireClient,
    url: str,
    *,
    method: str = "GET",
    limit: int = 1 << 20,
    headers: dict[str, str] | None = None,
    follow: bool = False,
) -> Response:
    request = Request.build(method, url, headers or {})
    return await client.send(request, timeout=1.0, body_limit=limit, follow_redirects=follow)


async def test_a_chunked_body_with_extensions_and_trailers(
    serve: Serve, client: WireClient
) -> None:
    body = b"4;name=x\r\nheal\r\n3\r\nthy\r\n0\r\nX-Trailer: 1\r\n\r\n"
    server = await serve(
        keep_answering(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    )
    first = await get(client, server.url + "/")
    second = await get(client, server.url + "/")
    assert first.body == second.body == b"healthy"
    assert (first.reused, second.reused, server.connections) == (False, True, 1)


async def test_a_gzip_body_is_decoded_before_the_body_check(
    serve: Serve, client: WireClient
) -> None:
    packed = gzip.compress(b"all healthy")
    reply = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
    server = await serve(keep_answering(reply + packed))
    config = HttpConfig(name="api", url=server.url + "/", expect_body="healthy")
    result = await HttpProbe(config, client).run()
    assert result.status is Status.OK and result.metrics["body_ok"] is True
    assert b"Accept-Encoding: gzip, deflate\r\n" in server.requests[-1]


async def test_connection_close_and_http_1_0_are_never_reused(
    serve: Serve, client: WireClient
) -> None:
    closing = await serve(
        keep_answering(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
    )

    async def old(peer: Peer) -> None:  # HTTP/1.0: the body ends when the server closes
        await peer.request()
        await peer.reply(b"HTTP/1.0 200 OK\r\n\r\nhealthy and old")

    legacy = await serve(old)
    for server, body in ((closing, b"ok"), (legacy, b"healthy and old")):
        responses = [await get(client, server.url + "/") for _ in range(3)]
        assert [r.body for r in responses] == 3 * [body]
        assert not any(r.reused for r in responses) and server.connections == 3


async def test_a_kept_connection_the_server_dropped_is_retried_once_on_a_new_one(
    serve: Serve,
    client: WireClient,
) -> None:
    async def idle_close_race(peer: Peer) -> None:
        await peer.request()
        await peer.reply(OK)
        await peer.request()  # the server's idle timeout fires just as the next request lands

    server = await serve(idle_close_race)
    assert not (await get(client, server.url + "/")).reused
    again = await get(client, server.url + "/")
    assert again.body == b"healthy" and not again.reused and server.connections == 2
    await get(client, server.url + "/")  # the third connection's first request
    with pytest.raises(ProtocolError, match="closed the connection without a response"):
        await get(client, server.url + "/", method="POST")  # not repeatable: reported


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    serve: Serve, client: WireClient
) -> None:
    async def answer_then_close(peer: Peer) -> None:
        await peer.request()
        await peer.reply(OK)

    server = await serve(answer_then_close)
    await get(client, server.url + "/")
    await asyncio.sleep(0.05)  # the FIN arrives while the connection is idle
    second = await get(client, server.url + "/")
    assert not second.reused and server.connections == 2


async def test_informational_responses_are_skipped(serve: Serve, client: WireClient) -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    server = await serve(keep_answering(early + OK))
    response = await get(client, server.url + "/")
    assert response.status == 200 and response.body == b"healthy"


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP/1.x response: b'SSH-2.0-OpenSSH_9.2'"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed response header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", "bad Content-Length '-3'"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size b'zz'"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort",
            "closed the connection mid-response",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Len", "closed the connection mid-headers"),
        (b"", "closed the connection without a response"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
            "undecodable gzip body",
        ),
    ],
)
async def test_malformed_responses_are_one_line_errors(
    reply: bytes,
    error: str,
    serve: Serve,
    client: WireClient,
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.reply(reply)

    server = await serve(handler)
    with pytest.raises(ProtocolError) as caught:
        await get(client, server.url + "/")
    assert error in str(caught.value) and "\n" not in str(caught.value)
    result = await HttpProbe(HttpConfig(name="api", url=server.url + "/"), client).run()
    assert result.status is Status.DOWN and error in (result.error or "")


async def test_response_headers_over_the_limit_are_refused(
    serve: Serve, client: WireClient
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.reply(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 70_000 + b"\r\n\r\n")

    server = await serve(handler)
    with pytest.raises(ProtocolError, match="over 64 KiB"):
        await get(client, server.url + "/")


async def test_a_body_over_the_limit_is_cut_and_its_connection_dropped(
    serve: Serve, client: WireClient
) -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100_000
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"186a0\r\n" + b"y" * 100_000
    )
    for reply, fill in ((big, b"x"), (chunked + b"\r\n0\r\n\r\n", b"y")):
        server = await serve(keep_answering(reply))
        first = await get(client, server.url + "/", limit=1000)
        second = await get(client, server.url + "/", limit=1000)
        assert first.body == second.body == fill * 1000
        assert not second.reused and server.connections == 2


async def test_redirects_keep_configured_headers_on_their_own_origin_only(
    serve: Serve,
    client: WireClient,
) -> None:
    seen: dict[str, bytes] = {}

    def recording(name: str, reply: Callable[[], bytes]) -> Handler:
        async def handler(peer: Peer) -> None:
            while True:
                seen[name] = await peer.request()
                await peer.reply(reply())

        return handler

    other = await serve(recording("other", lambda: OK))
    home = await serve(
        recording(
            "home",
            lambda: (
                b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n"
                if b"GET /start" in seen["home"]
                else b"HTTP/1.1 307 Temporary\r\nLocation: %s/elsewhere\r\nContent-Length: 0\r\n\r\n"
                % other.url.encode()
            ),
        )
    )
    response = await get(
        client, home.url + "/start", headers={"Authorization": "Bearer s3cret"}, follow=True
    )
    assert response.status == 200 and response.url == other.url + "/elsewhere"
    assert b"GET /next" in seen["home"] and b"Bearer s3cret" in seen["home"]
    assert b"GET /elsewhere" in seen["other"] and b"s3cret" not in seen["other"]
    unfollowed = await get(client, home.url + "/start")
    assert unfollowed.status == 302


async def test_a_post_body_is_sent_and_follows_only_a_method_keeping_redirect(
    serve: Serve, client: WireClient
) -> None:
    bodies: list[tuple[bytes, bytes]] = []
    replies = {
        b"/hook": b"HTTP/1.1 307 Temporary\r\nLocation: /kept\r\nContent-Length: 0\r\n\r\n",
        b"/kept": b"HTTP/1.1 302 Found\r\nLocation: /dropped\r\nContent-Length: 0\r\n\r\n",
        b"/dropped": OK,
    }

    async def handler(peer: Peer) -> None:
        while True:
            head = await peer.request()
            length = re.search(rb"Content-Length: (\d+)", head)
            body = await peer.reader.readexactly(int(length[1])) if length else b""
            bodies.append((head.split(b" ")[0] + b" " + head.split(b" ")[1], body))
            await peer.reply(replies[head.split(b" ")[1]])

    server = await serve(handler)
    payload = '{"text": "P0 — database down"}'.encode()
    request = Request.build(
        "POST", server.url + "/hook", {"Content-Type": "application/json"}, payload
    )
    response = await client.send(request, timeout=1.0, body_limit=100, follow_redirects=True)
    assert response.status == 200
    assert bodies == [(b"POST /hook", payload), (b"POST /kept", payload), (b"GET /dropped", b"")]
    assert b"Content-Length: %d" % len(payload) in server.requests[0]


async def test_a_redirect_loop_ends(serve: Serve, client: WireClient) -> None:
    server = await serve(
        keep_answering(b"HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n")
    )
    with pytest.raises(ProtocolError, match=f"more than {MAX_REDIRECTS} redirects"):
        await get(client, server.url + "/", follow=True)


async def test_a_cancelled_request_gives_back_its_slot_and_its_connection(serve: Serve) -> None:
    wire = WireClient(verify=True, per_origin=1)

    async def slow_first(peer: Peer) -> None:
        await peer.request()
        if peer.number == 1:
            await asyncio.sleep(5)  # the scheduler's hard timeout cancels the probe first
        await peer.reply(OK)
        await peer.request()
        await peer.reply(OK)

    server = await serve(slow_first)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(get(wire, server.url + "/"), 0.1)
        after = await get(wire, server.url + "/")  # the only slot is free again
        assert after.body == b"healthy" and not after.reused and server.connections == 2
    finally:
        await wire.aclose()


async def test_timeouts_are_named_by_the_phase_they_hit(serve: Serve) -> None:
    wire = WireClient(verify=True, per_origin=1)

    async def never(peer: Peer) -> None:
        await peer.request()
        await asyncio.sleep(5)

    server = await serve(never)
    request = Request.build("GET", server.url + "/", {})
    try:
        hung = asyncio.ensure_future(
            wire.send(request, timeout=0.3, body_limit=10, follow_redirects=False)
        )
        await asyncio.sleep(0.05)
        with pytest.raises(PoolTimeout):  # the origin's one slot is held by the hung request
            await wire.send(request, timeout=0.1, body_limit=10, follow_redirects=False)
        with pytest.raises(ReadTimeout):
            await hung
    finally:
        await wire.aclose()


def test_requests_are_built_once_with_host_port_and_encoded_path() -> None:
    request = Request.build("HEAD", "http://[::1]:8080/a b/é?q=1 2", {"X-Token": "abc"})
    assert request.origin == ("http", "::1", 8080)
    head = request.head.decode()
    assert head.startswith("HEAD /a%20b/%C3%A9?q=1%202 HTTP/1.1\r\nHost: [::1]:8080\r\n")
    assert "X-Token: abc\r\n" in head and head.endswith("\r\n\r\n")
    assert Request.build("GET", "https://example.com", {}).head.startswith(
        b"GET / HTTP/1.1\r\nHost: example.com\r\n"
    )
    assert b"Content-Length: 0" in Request.build("POST", "http://h/", {}).head


@pytest.mark.parametrize(
    ("url", "headers", "error"),
    [
        ("ftp://h/", {}, "unsupported URL scheme 'ftp'"),
        ("http:///path", {}, "no host in URL"),
        ("http://h:99999/", {}, "Port out of range"),
        ("http://h/", {"Bad Name": "v"}, "Illegal header name 'Bad Name'"),
        ("http://h/", {"X-Key": "tok\r\nInjected: 1"}, "Illegal header value for X-Key"),
    ],
)
def test_requests_we_cannot_send_say_why_without_the_value(
    url: str, headers: dict[str, str], error: str
) -> None:
    with pytest.raises(ValueError) as caught:
        Request.build("GET", url, headers)
    assert error in str(caught.value) and "tok" not in str(caught.value)


async def test_a_header_secret_never_reaches_an_error(serve: Serve, client: WireClient) -> None:
    async def echo_as_garbage(peer: Peer) -> None:
        request = await peer.request()
        [line] = [line for line in request.split(b"\r\n") if line.startswith(b"X-Api-Key")]
        await peer.reply(b"HTTP/1.1 200 OK\r\n" + line.replace(b":", b"") + b"\r\n\r\n")

    server = await serve(echo_as_garbage)
    config = HttpConfig(
        name="api",
        url=server.url + "/",
        headers={"X-Api-Key": Secret("key-0b7c")},
        timeout=Duration(0.5),
    )
    result = await HttpProbe(config, client).run()
    assert result.status is Status.DOWN and "malformed response header" in (result.error or "")
    assert b"key-0b7c" in server.requests[-1] and "key-0b7c" not in repr(result)


def test_no_probe_imports_httpx() -> None:
    # httpx with its trust store costs ~0.1 s of the console's start; only Slack needs it.
    code = (
        "import sys, probes.factory, probes.http, probes.sentry, probes.vitals, probes.support;"
        "sys.exit('httpx' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


async def test_a_followed_redirect_counts_in_the_latency(serve: Serve, client: WireClient) -> None:
    async def slow_redirect(peer: Peer) -> None:
        while True:
            head = await peer.request()
            if b"GET /old" in head:
                await asyncio.sleep(0.2)
                await peer.reply(
                    b"HTTP/1.1 301 Moved\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n"
                )
            else:
                await peer.reply(OK)

    server = await serve(slow_redirect)
    config = HttpConfig(name="api", url=server.url + "/old", follow_redirects=True)
    result = await HttpProbe(config, client).run()
    assert result.status is Status.OK and result.detail["url"] == server.url + "/new"
    assert 0.2 <= float(result.metrics["latency"]) < 1.0  # type: ignore[arg-type]
    assert float(result.metrics["latency_ttfb"]) >= 0.2  # type: ignore[arg-type]
