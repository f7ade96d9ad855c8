"""HTTP endpoint probe: status, body, latency phases, percentiles and availability, TLS expiry.

Probes share pooled clients from `probes.http_client.HttpClients`.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import httpx

from console.config.durations import format_duration
from console.config.model import HttpConfig
from probes.result import MetricValue, ProbeResult, Status, failure, one_line
from probes.tls import CertificateError, not_after

# Enough for a health page; a huge body is not read to the end (and not kept).
BODY_LIMIT = 1 << 20
# The certificate changes rarely: read it again after this long even on a reused connection.
CERT_TTL = 3600.0
_CONNECT_STARTED = "connection.connect_tcp.started"
_CONNECT_DONE = "connection.connect_tcp.complete"
_TLS_DONE = "connection.start_tls.complete"
_HEADERS_SENT = "http11.send_request_headers.started"
_HEADERS_RECEIVED = "http11.receive_response_headers.complete"
_PERCENTILES = (("latency_p50", 0.50), ("latency_p95", 0.95), ("latency_p99", 0.99))
_MARKED = frozenset({_CONNECT_STARTED, _CONNECT_DONE, _TLS_DONE, _HEADERS_SENT, _HEADERS_RECEIVED})


class HttpProbe:
    kind = "http"

    def __init__(
        self, config: HttpConfig, client: httpx.AsyncClient, window: float = 300.0
    ) -> None:
        self.name = config.name
        self.interval = float(config.interval)
        self.timeout = float(config.timeout)
        self._config = config
        self._client = client
        self._window = window
        self._headers = {key: value.reveal() for key, value in config.headers.items()}
        self._secrets = list(config.headers.values())  # header values are tokens
        self._timeout = httpx.Timeout(self.timeout)
        self._https = urlsplit(config.url).scheme == "https"
        # (monotonic, good, latency or None when no response came back), within the window.
        # maxlen bounds memory even when the probe is triggered far faster than its interval.
        self._samples: deque[tuple[float, bool, float | None]] = deque(maxlen=4096)
        self._cert: tuple[float, float] | None = None  # (not_after epoch, read at monotonic)

    async def run(self) -> ProbeResult:
        started = time.monotonic()
        marks: dict[str, float] = {}

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event in _MARKED:
                marks[event] = time.perf_counter()

        begin = time.perf_counter()
        try:
            request = self._client.build_request(
                self._config.method,
                self._config.url,
                headers=self._headers,
                timeout=self._timeout,
                extensions={"trace": trace},
            )
            response = await self._client.send(
                request, follow_redirects=self._config.follow_redirects, stream=True
            )
            try:
                body = await self._read(response)
                der = self._peer_certificate(response, new_connection=_CONNECT_DONE in marks)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            return self._down(started, exc)
        except ValueError as exc:  # a URL httpx refuses; configuration, not the target
            return failure(
                self.name, self.kind, started, one_line(exc, self._secrets), Status.UNKNOWN
            )
        end = time.perf_counter()
        # The request starts when a socket is opened or headers go out, so waiting for
        # a free pooled connection (our own queue) is not blamed on the target.
        first = marks.get(_CONNECT_STARTED) or marks.get(_HEADERS_SENT) or begin
        if der is not None:
            self._remember_certificate(der)
        return self._measured(started, response, body, first, end, marks)

    async def close(self) -> None:
        # The client is shared; its owner (`HttpClients`) closes it.
        return None

    async def _read(self, response: httpx.Response) -> bytes:
        if self._config.method == "HEAD":
            return b""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= BODY_LIMIT:
                break  # the connection is discarded by aclose(); fine for a rare huge page
        return b"".join(chunks)

    def _peer_certificate(self, response: httpx.Response, *, new_connection: bool) -> bytes | None:
        if not self._https:
            return None
        fresh = self._cert is not None and time.monotonic() - self._cert[1] < CERT_TTL
        if fresh and not new_connection:
            return None
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        if ssl_object is None:
            return None
        der: bytes | None = ssl_object.getpeercert(binary_form=True)
        return der

    def _remember_certificate(self, der: bytes) -> None:
        try:
            self._cert = (not_after(der), time.monotonic())
        except CertificateError:
            self._cert = None

    def _measured(
        self,
        started: float,
        response: httpx.Response,
        body: bytes,
        first: float,
        end: float,
        marks: dict[str, float],
    ) -> ProbeResult:
        config = self._config
        status_ok = response.status_code in config.expect_status
        # UTF-8 is self-synchronising: a byte search finds exactly the text matches.
        body_ok = config.expect_body is None or config.expect_body.encode() in body
        up = status_ok and body_ok
        latency = end - first
        self._add_sample(up, latency)
        metrics: dict[str, MetricValue] = {
            "up": up,
            "status_code": response.status_code,
            "status_ok": status_ok,
            "body_ok": body_ok,
            "latency": latency,
        }
        # Only a request that opened a connection has connect timings to report.
        connected = marks.get(_TLS_DONE) or marks.get(_CONNECT_DONE)
        if connected is not None and _CONNECT_STARTED in marks:
            metrics["latency_connect"] = connected - marks[_CONNECT_STARTED]
        if _HEADERS_RECEIVED in marks:
            metrics["latency_ttfb"] = marks[_HEADERS_RECEIVED] - first
        metrics.update(self._window_metrics())
        if self._cert is not None:
            metrics["tls_days_left"] = (self._cert[0] - time.time()) / 86400.0
        error = None
        if not status_ok:
            error = f"HTTP {response.status_code}, expected {_expected(config.expect_status)}"
        elif not body_ok:
            error = f"body does not contain {config.expect_body!r}"
        return ProbeResult(
            name=self.name,
            kind=self.kind,
            status=Status.OK if up else Status.CRITICAL,
            observed_at=time.time(),
            duration=time.monotonic() - started,
            metrics=metrics,
            detail={"url": str(response.url), "reused_connection": _CONNECT_STARTED not in marks},
            error=error,
        )

    def _down(self, started: float, exc: httpx.HTTPError) -> ProbeResult:
        self._add_sample(False, None)
        # Availability counts this failure, so it is measured now, not stale.
        window = self._window_metrics()
        metrics: dict[str, MetricValue] = {
            "up": False,
            "availability": window["availability"],
            "availability_target": window["availability_target"],
        }
        return failure(self.name, self.kind, started, self._describe(exc), metrics=metrics)

    def _describe(self, exc: httpx.HTTPError) -> str:
        after = format_duration(self.timeout)
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connect timeout after {after}"
        if isinstance(exc, httpx.ReadTimeout):
            return f"no response within {after} (read timeout)"
        if isinstance(exc, httpx.PoolTimeout):
            return f"no free connection within {after} (too many requests in flight)"
        if isinstance(exc, httpx.TimeoutException):
            return f"timed out after {after}"
        if isinstance(exc, httpx.ConnectError):
            host = urlsplit(self._config.url).netloc.rpartition("@")[2]
            return f"cannot connect to {host}: {one_line(exc, self._secrets)}"
        # h11 quotes an illegal header value (a token read with its newline) back.
        return f"{type(exc).__name__}: {one_line(exc, self._secrets)}"

    def _add_sample(self, good: bool, latency: float | None) -> None:
        now = time.monotonic()
        self._samples.append((now, good, latency))
        horizon = now - self._window
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()

    def _window_metrics(self) -> dict[str, MetricValue]:
        samples = self._samples
        metrics: dict[str, MetricValue] = {
            "availability": sum(good for _, good, _ in samples) / len(samples),
            "availability_target": self._config.availability_target,
        }
        latencies = sorted(latency for _, _, latency in samples if latency is not None)
        if latencies:
            for name, quantile in _PERCENTILES:
                metrics[name] = _nearest_rank(latencies, quantile)
        return metrics


def _nearest_rank(ordered: list[float], quantile: float) -> float:
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


def _expected(codes: tuple[int, ...]) -> str:
    return " or ".join(str(code) for code in codes)
