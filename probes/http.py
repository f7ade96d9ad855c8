"""HTTP endpoint probe: status, body, latency phases, percentiles and availability, TLS expiry.

Probes share keep-alive connections through `probes.http_wire.WireClient`
(one per TLS verification setting, from `probes.http_client.HttpClients`).
"""

from __future__ import annotations

import math
import time
from collections import deque

from console.config.durations import format_duration
from console.config.model import HttpConfig
from probes.http_wire import (
    ConnectTimeout,
    PoolTimeout,
    ReadTimeout,
    Request,
    Response,
    WireClient,
    WireError,
)
from probes.result import MetricValue, ProbeResult, Status, failure, one_line
from probes.tls import CertificateError, not_after

# Enough for a health page; a huge body is not read to the end (and not kept).
BODY_LIMIT = 1 << 20
# The certificate changes rarely: read it again after this long even on a reused connection.
CERT_TTL = 3600.0
_PERCENTILES = (("latency_p50", 0.50), ("latency_p95", 0.95), ("latency_p99", 0.99))


class HttpProbe:
    kind = "http"

    def __init__(self, config: HttpConfig, client: WireClient, window: float = 300.0) -> None:
        self.name = config.name
        self.interval = float(config.interval)
        self.timeout = float(config.timeout)
        self._config = config
        self._client = client
        self._window = window
        self._secrets = list(config.headers.values())  # header values are tokens
        self._request: Request | None = None  # built on the first run: building can fail
        # (monotonic, good, latency or None when no response came back), within the window.
        # maxlen bounds memory even when the probe is triggered far faster than its interval.
        self._samples: deque[tuple[float, bool, float | None]] = deque(maxlen=4096)
        self._cert: tuple[float, float] | None = None  # (not_after epoch, read at monotonic)

    async def run(self) -> ProbeResult:
        started = time.monotonic()
        try:
            request = self._request or self._build()
        except ValueError as exc:  # a URL or header we cannot send: configuration, not the target
            return failure(
                self.name, self.kind, started, one_line(exc, self._secrets), Status.UNKNOWN
            )
        try:
            response = await self._client.send(
                request,
                timeout=self.timeout,
                body_limit=BODY_LIMIT,
                follow_redirects=self._config.follow_redirects,
            )
        except WireError as exc:
            return self._down(started, exc)
        end = time.perf_counter()
        if response.certificate is not None:
            self._remember_certificate(response.certificate, new_connection=not response.reused)
        return self._measured(started, response, end)

    async def close(self) -> None:
        # The client is shared; its owner (`HttpClients`) closes it.
        return None

    def _build(self) -> Request:
        headers = {key: value.reveal() for key, value in self._config.headers.items()}
        self._request = Request.build(self._config.method, self._config.url, headers)
        return self._request

    def _remember_certificate(self, der: bytes, *, new_connection: bool) -> None:
        fresh = self._cert is not None and time.monotonic() - self._cert[1] < CERT_TTL
        if fresh and not new_connection:
            return
        try:
            self._cert = (not_after(der), time.monotonic())
        except CertificateError:
            self._cert = None

    def _measured(self, started: float, response: Response, end: float) -> ProbeResult:
        config = self._config
        status_ok = response.status in config.expect_status
        # UTF-8 is self-synchronising: a byte search finds exactly the text matches.
        body_ok = config.expect_body is None or config.expect_body.encode() in response.body
        up = status_ok and body_ok
        first = response.began
        latency = end - first
        self._add_sample(up, latency)
        metrics: dict[str, MetricValue] = {
            "up": up,
            "status_code": response.status,
            "status_ok": status_ok,
            "body_ok": body_ok,
            "latency": latency,
            "latency_ttfb": response.headers_received - first,
        }
        # Only a request that opened a connection has connect timings to report.
        if response.connect_started is not None and response.connected is not None:
            metrics["latency_connect"] = response.connected - response.connect_started
        metrics.update(self._window_metrics())
        if self._cert is not None:
            metrics["tls_days_left"] = (self._cert[0] - time.time()) / 86400.0
        error = None
        if not status_ok:
            error = f"HTTP {response.status}, expected {_expected(config.expect_status)}"
        elif not body_ok:
            error = f"body does not contain {config.expect_body!r}"
        return ProbeResult(
            name=self.name,
            kind=self.kind,
            status=Status.OK if up else Status.CRITICAL,
            observed_at=time.time(),
            duration=time.monotonic() - started,
            metrics=metrics,
            detail={"url": response.url, "reused_connection": response.reused},
            error=error,
        )

    def _down(self, started: float, exc: WireError) -> ProbeResult:
        self._add_sample(False, None)
        # Availability counts this failure, so it is measured now, not stale.
        window = self._window_metrics()
        metrics: dict[str, MetricValue] = {
            "up": False,
            "availability": window["availability"],
            "availability_target": window["availability_target"],
        }
        return failure(self.name, self.kind, started, self._describe(exc), metrics=metrics)

    def _describe(self, exc: WireError) -> str:
        after = format_duration(self.timeout)
        if isinstance(exc, ConnectTimeout):
            return f"connect timeout after {after}"
        if isinstance(exc, ReadTimeout):
            return f"no response within {after} (read timeout)"
        if isinstance(exc, PoolTimeout):
            return f"no free connection within {after} (too many requests in flight)"
        return one_line(exc, self._secrets)

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
