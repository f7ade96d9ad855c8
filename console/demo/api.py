"""The demo HTTP API: app endpoints with fault switches, Sentry, Zendesk and Slack shapes.

Run as `python -m console.demo.api --port N` (0 picks a free port, printed
on stdout). It exits with its parent and on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast
from urllib.parse import parse_qsl, urlsplit

from console.demo import sentry
from console.demo.lifeline import exit_on_sigterm, exit_with_parent

_SENTRY_PREFIX = "/api/0/"
_OPEN_TICKETS = 5
_NUMERIC_FAULTS = {"latency_ms", "error_rate", "error_burst", "support_breach"}


class BadFaults(ValueError):
    """A /_faults body with an unknown key or an out-of-range value."""


@dataclass
class DemoState:
    """Fault switches and what they caused; shared by handler threads under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latency_ms: int = 0
    error_rate: float = 0.0
    support_breach: int = 0
    slack_down: bool = False
    bursts: list[sentry.Burst] = field(default_factory=list)
    served_500: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    first_500: float | None = None
    last_500: float | None = None
    slack_messages: list[object] = field(default_factory=list)
    # Deterministic error injection: a 500 each time the sum crosses 1,
    # so a rate of 0.25 fails exactly every fourth request.
    _error_debt: float = 0.0

    def faults(self, now: float) -> dict[str, object]:
        live = [b for b in self.bursts if now - b.at < sentry.BURST_MINUTES * 60]
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "error_burst": sum(b.size for b in live),
            "support_breach": self.support_breach,
            "slack_down": self.slack_down,
        }

    def apply(self, body: object, now: float) -> None:
        """Validate the whole body first, so a bad request changes nothing."""
        if not isinstance(body, dict):
            raise BadFaults("expected a JSON object")
        unknown = set(body) - _NUMERIC_FAULTS - {"slack_down"}
        if unknown:
            raise BadFaults(f"unknown fault keys: {sorted(unknown)}")
        values = {key: _checked(key, value) for key, value in body.items() if key != "slack_down"}
        slack_down = body.get("slack_down")
        if slack_down is not None and not isinstance(slack_down, bool):
            raise BadFaults("slack_down must be a boolean")
        if "latency_ms" in values:
            self.latency_ms = int(values["latency_ms"])
        if "error_rate" in values:
            self.error_rate = values["error_rate"]
            self._error_debt = 0.0
        if "support_breach" in values:
            self.support_breach = int(values["support_breach"])
        if slack_down is not None:
            self.slack_down = slack_down
        if values.get("error_burst"):
            self.bursts.append(sentry.Burst(now, int(values["error_burst"]), len(self.bursts)))

    def should_fail(self) -> bool:
        self._error_debt += self.error_rate
        if self._error_debt >= 1.0 - 1e-9:
            self._error_debt -= 1.0
            return True
        return False

    def record_500(self, now: float) -> None:
        self.served_500[int(now // 60)] += 1
        self.first_500 = self.first_500 or now
        self.last_500 = now

    def served(self) -> sentry.ServedErrors:
        return sentry.ServedErrors(dict(self.served_500), self.first_500, self.last_500)

    def reset(self) -> None:
        with self.lock:
            self.latency_ms = 0
            self.error_rate = 0.0
            self.support_breach = 0
            self.slack_down = False
            self.bursts.clear()
            self.served_500.clear()
            self.first_500 = self.last_500 = None
            self._error_debt = 0.0


def _checked(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadFaults(f"{key} must be a number")
    if key == "error_rate":
        if not 0.0 <= value <= 1.0:
            raise BadFaults("error_rate must be within 0..1")
        return float(value)
    if value < 0 or value != int(value):
        raise BadFaults(f"{key} must be a non-negative integer")
    return float(value)


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, DemoHandler)
        self.state = DemoState()


class DemoHandler(BaseHTTPRequestHandler):
    # Keep-alive, as real APIs do; needs Content-Length on every answer.
    protocol_version = "HTTP/1.1"
    # http.server writes the head and the body apart: with Nagle on, the body waits
    # for the client's delayed ACK of the head, 40 ms on every kept-alive request,
    # which the console would show as the API's latency. Real servers set TCP_NODELAY.
    disable_nagle_algorithm = True
    server_version = "WarroomDemo/1"

    @property
    def state(self) -> DemoState:
        return cast(DemoServer, self.server).state

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the stack's stderr is not a place for access logs."""

    # -- plumbing ------------------------------------------------------------

    def _send(self, status: int, body: object, content_type: str = "application/json") -> None:
        if content_type == "application/json":
            payload = json.dumps(body).encode()
        else:
            payload = str(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> object:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _route(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        return parts.path, dict(parse_qsl(parts.query))

    # -- verbs ---------------------------------------------------------------

    def do_GET(self) -> None:
        path, query = self._route()
        now = time.time()
        if path == "/health":
            self._send(200, {"status": "healthy"})
        elif path in ("/api/journeys", "/api/oracle"):
            self._app_endpoint(path)
        elif path.startswith(_SENTRY_PREFIX):
            self._sentry(path, query, now)
        elif path == "/api/v2/search/count.json":
            self._send(200, {"count": self._ticket_count(query.get("query", ""))})
        elif path == "/_faults":
            with self.state.lock:
                self._send(200, self.state.faults(now))
        elif path == "/_slack":
            with self.state.lock:
                self._send(200, list(self.state.slack_messages))
        else:
            self._send(404, {"detail": "not found"})

    def do_POST(self) -> None:
        path, _query = self._route()
        try:
            body = self._body()
        except (ValueError, UnicodeDecodeError):
            self._send(400, "invalid_payload", "text/plain")
            return
        if path == "/_faults":
            try:
                with self.state.lock:
                    self.state.apply(body, time.time())
                    faults = self.state.faults(time.time())
            except BadFaults as exc:
                self._send(400, {"detail": str(exc)})
                return
            self._send(200, faults)
        elif path == "/slack/webhook":
            with self.state.lock:
                down = self.state.slack_down
                if not down:
                    self.state.slack_messages.append(body)
            if down:
                self._send(503, "service_unavailable", "text/plain")
            else:
                self._send(200, "ok", "text/plain")
        else:
            self._send(404, {"detail": "not found"})

    def do_DELETE(self) -> None:
        path, _query = self._route()
        if path == "/_faults":
            self.state.reset()
            self._send(200, self.state.faults(time.time()))
        elif path == "/_slack":
            with self.state.lock:
                self.state.slack_messages.clear()
            self._send(200, [])
        else:
            self._send(404, {"detail": "not found"})

    # -- endpoints -----------------------------------------------------------

    def _app_endpoint(self, path: str) -> None:
        with self.state.lock:
            delay = self.state.latency_ms / 1000
            fail = self.state.should_fail()
        time.sleep(delay)
        if fail:
            with self.state.lock:
                self.state.record_500(time.time())
            self._send(500, {"error": "internal server error"})
        elif path == "/api/journeys":
            self._send(200, {"journeys": [{"id": "first-ceremony", "steps": 5}]})
        else:
            self._send(200, {"oracle": "listening"})

    def _sentry(self, path: str, query: dict[str, str], now: float) -> None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth.removeprefix("Bearer ").strip():
            self._send(401, {"detail": "Invalid token"})
            return
        parts = [p for p in path.removeprefix(_SENTRY_PREFIX).split("/") if p]
        with self.state.lock:
            bursts, served = list(self.state.bursts), self.state.served()
        if len(parts) == 3 and parts[0] == "organizations" and parts[2] == "stats_v2":
            self._send(200, sentry.stats_v2(now, query, bursts, served))
        elif len(parts) == 3 and parts[0] == "projects":
            project = parts[2]
            self._send(200, {"id": sentry.PROJECT_ID, "slug": project, "name": project})
        elif len(parts) == 4 and parts[0] == "projects" and parts[3] == "issues":
            self._send(200, sentry.issues(now, query, parts[2], bursts, served))
        else:
            self._send(404, {"detail": "The requested resource does not exist"})

    def _ticket_count(self, text: str) -> int:
        # Stateless on purpose: the support probe needs a queue size and a
        # breach count, and the fault switch decides the latter.
        with self.state.lock:
            breached = self.state.support_breach
        # Answer each of the probe's searches like a small, healthy queue would:
        # five open, two new (waiting), one escalated, breaches only by fault.
        lowered = text.lower()
        if "breach" in lowered or "created<" in lowered:
            return breached
        if "tags:" in lowered:
            return 1
        if "status:new" in lowered:
            return 2 + breached
        return _OPEN_TICKETS + breached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.demo.api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    exit_with_parent()
    exit_on_sigterm()
    server = DemoServer((args.host, args.port))
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
