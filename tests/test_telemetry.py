"""The console's own Sentry reports, captured by a loopback Sentry, contain no secret."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from console.config.model import TelemetryConfig
from console.config.secret import Secret
from console.telemetry import init_telemetry, scrub_text

REPO = Path(__file__).resolve().parents[1]

DB_PASSWORD = "pgPassw0rd-XYZ"
TOKEN = "sntrys_TOKENabc123"
HOOK = "https://hooks.slack.com/services/T1/B1/hookSECRET987"
UNREGISTERED_PASSWORD = "otherPW-555"
UNREGISTERED_HOOK_PATH = "T9/B9/unknownHOOK321"


@dataclass
class Collector:
    bodies: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    port: int = 0


@pytest.fixture
def sentry() -> Iterator[Collector]:
    collector = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                raw = gzip.decompress(raw)
            elif encoding == "deflate":
                raw = zlib.decompress(raw)
            elif encoding:
                raise AssertionError(f"unexpected encoding {encoding}")
            collector.bodies.append(raw)
            collector.paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    collector.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield collector
    server.shutdown()
    server.server_close()


REPORTER = f"""
import logging, sys
import sentry_sdk
from console.config.model import TelemetryConfig
from console.config.secret import Secret

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
from console.telemetry import init_telemetry

dsn = Secret("postgresql://app:{DB_PASSWORD}@db.internal:5432/app")
token = Secret("{TOKEN}")
hook = Secret("{HOOK}")
config = TelemetryConfig(sentry_dsn=Secret(sys.argv[1]))
assert init_telemetry(config, [dsn, token, hook], "production")

sentry_sdk.set_extra("slack", {{"webhook_url": hook.reveal(), "channel": "#ops"}})
sentry_sdk.set_extra("query", "SELECT email FROM users WHERE email = 'a@example.com'")
sentry_sdk.add_breadcrumb(category="query", message="SELECT secret_column FROM users")
sentry_sdk.add_breadcrumb(category="http", message="POST " + hook.reveal())
# A careless log line: it becomes a breadcrumb, which must arrive scrubbed.
logging.getLogger("probe").warning("connecting with %s", dsn.reveal())


def connect(conninfo, headers, webhook, other):
    raise RuntimeError(
        f"could not connect to {{conninfo}} ({{headers}}) while posting to {{webhook}}; {{other}}"
    )


try:
    connect(
        dsn.reveal(),
        {{"Authorization": "Bearer " + token.reveal()}},
        hook.reveal(),
        "postgresql://ops:{UNREGISTERED_PASSWORD}@replica/app and "
        "https://hooks.slack.com/services/{UNREGISTERED_HOOK_PATH}",
    )
except RuntimeError:
    sentry_sdk.capture_exception()
sentry_sdk.flush(timeout=10)
print("flushed", flush=True)
"""


def test_captured_envelope_contains_no_secret(sentry: Collector) -> None:
    dsn = f"http://publickey@127.0.0.1:{sentry.port}/1"
    result = subprocess.run(
        [sys.executable, "-c", REPORTER, dsn],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "flushed" in result.stdout
    assert sentry.paths and all(p.startswith("/api/1/envelope/") for p in sentry.paths)
    captured = b"\n".join(sentry.bodies)
    assert b"RuntimeError" in captured and b"could not connect to" in captured
    assert b"postgresql://app:***@db.internal:5432/app" in captured
    assert b'"channel"' not in captured  # the whole slack extra is gone
    assert b"SELECT" not in captured  # query texts removed
    for secret in (DB_PASSWORD, TOKEN, "hookSECRET987", UNREGISTERED_PASSWORD, "unknownHOOK321"):
        assert secret.encode() not in captured, secret
    # The DSN carries the project key: never in our logs.
    logs = result.stdout + result.stderr
    assert "publickey" not in logs
    assert "127.0.0.1 (project 1)" in logs


def test_disabled_without_dsn() -> None:
    assert init_telemetry(TelemetryConfig(sentry_dsn=None), [], "production") is False
    assert init_telemetry(TelemetryConfig(sentry_dsn=Secret("")), [], "production") is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        ("host=db password='x y' user=u", "host=db password=*** user=u"),
        ("see https://hooks.slack.com/services/A/B/C now", "see https://hooks.slack.com/*** now"),
        ("http://127.0.0.1:8080/path@x", "http://127.0.0.1:8080/path@x"),
    ],
)
def test_secret_shapes_scrubbed(text: str, expected: str) -> None:
    assert scrub_text(text, []) == expected
