"""`warroom check` as a subprocess against loopback servers: exit codes, JSON shape, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from console.config.secret import dsn_password
from console.demo.cluster import ThrowawayCluster
from console.demo.schema import APP_DB
from tests.fixtures.http_servers import SENTRY_TOKEN, HandlerServer, Reply, SentryFake
from tests.test_backup_probe import backup_files, write_local

PROBE_KEYS = {"name", "kind", "status", "duration_ms", "metrics", "error"}
ALERT_KEYS = {"rule", "probe", "severity", "state", "summary", "since"}


def check(tmp_path: Path, toml: str, *args: str) -> tuple[int, str, str, float]:
    path = tmp_path / "check.toml"
    path.write_text(toml)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "check", *args, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=Path(__file__).parent.parent,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def check_json(tmp_path: Path, toml: str) -> tuple[int, dict[str, Any]]:
    code, out, err, _ = check(tmp_path, toml, "--json")
    assert err == "", err
    return code, json.loads(out)


def http_table(name: str, url: str, **extra: str) -> str:
    lines = [f"[http.{name}]", f'url = "{url}"', 'timeout = "2s"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def sentry_table(fake: SentryFake, token: str = SENTRY_TOKEN) -> str:
    return (
        f'[sentry.errors]\nbase_url = "{fake.url}"\norg = "org"\nproject = "project"\n'
        f'token = "{token}"\ntimeout = "2s"\n'
    )


def postgres_table(dsn: str) -> str:
    return f'[postgres.main]\ndsn = "{dsn}"\ntimeout = "2s"\n'


@pytest.mark.postgres
def test_all_healthy_is_ok_with_the_documented_json(
    tmp_path: Path, http_server: HandlerServer, sentry_server: SentryFake, pg_monitor_dsn: str
) -> None:
    http_server.routes["/health"] = Reply(200, "healthy")
    backups = tmp_path / "backups"
    write_local(backups, backup_files(600))
    toml = (
        postgres_table(pg_monitor_dsn)
        + http_table("api", f"{http_server.url}/health", expect_body='"healthy"')
        + sentry_table(sentry_server)
        + f'[backup]\ndatabase = "main"\ndestination = "{backups}"\n'
    )
    code, report = check_json(tmp_path, toml)
    assert code == 0, report
    assert set(report) == {"status", "checked_at", "probes", "alerts"}
    assert report["status"] == "ok" and report["alerts"] == []
    assert report["checked_at"].endswith("+00:00")
    assert [p["name"] for p in report["probes"]] == ["main", "api", "errors", "backups"]
    for probe in report["probes"]:
        assert set(probe) == PROBE_KEYS
        assert probe["status"] == "ok" and probe["error"] is None
    assert report["probes"][1]["metrics"]["status_code"] == 200


def test_an_expiring_certificate_is_a_warning(tmp_path: Path, tls_server: HandlerServer) -> None:
    tls_server.routes["/"] = Reply(200, "ok")
    code, report = check_json(
        tmp_path, http_table("site", tls_server.url + "/", verify_tls="false")
    )
    assert code == 1 and report["status"] == "warning"
    [alert] = report["alerts"]
    assert set(alert) == ALERT_KEYS
    assert (alert["rule"], alert["severity"], alert["state"]) == ("tls-expiring", "P2", "firing")
    assert alert["summary"] == "TLS certificate of site expires in 3 days"


def test_a_failing_endpoint_is_critical(tmp_path: Path, http_server: HandlerServer) -> None:
    http_server.routes["/health"] = Reply(500, "boom")
    code, report = check_json(tmp_path, http_table("api", f"{http_server.url}/health"))
    assert code == 2 and report["status"] == "critical"
    assert report["probes"][0]["status"] == "critical"
    rules = {a["rule"]: a for a in report["alerts"]}
    assert rules["api-down"]["summary"] == "api is failing: HTTP 500, expected 200"
    assert rules["api-availability"]["summary"] == "api availability 0.0% is under target"


def test_a_probe_without_a_token_is_unknown(tmp_path: Path, sentry_server: SentryFake) -> None:
    code, report = check_json(tmp_path, sentry_table(sentry_server, token=""))
    assert code == 3 and report["status"] == "unknown"
    assert report["probes"][0]["error"] == "no token configured"


@pytest.mark.postgres
def test_a_stopped_database_is_down_within_its_timeout_and_critical(
    tmp_path: Path, sentry_server: SentryFake, pg_restartable: ThrowawayCluster
) -> None:
    dsn = pg_restartable.dsn(APP_DB)
    password = dsn_password(dsn)
    assert password
    # An unknown probe (no token) must not hide the critical one.
    toml = postgres_table(dsn) + sentry_table(sentry_server, token="")
    with pg_restartable.stopped():
        code, out, err, elapsed = check(tmp_path, toml, "--json")
    report = json.loads(out)
    assert code == 2 and report["status"] == "critical", report
    database = report["probes"][0]
    assert (database["name"], database["status"]) == ("main", "down")
    assert database["duration_ms"] < 3000 and elapsed < 2 + 1 + 2  # + interpreter start
    assert "refused" in database["error"].lower() or "no such file" in database["error"].lower()
    assert any(a["rule"] == "database-down" for a in report["alerts"])
    assert password not in out + err


def test_the_table(tmp_path: Path, http_server: HandlerServer) -> None:
    http_server.routes["/health"] = Reply(503, "maintenance")
    code, out, err, _ = check(tmp_path, http_table("api", f"{http_server.url}/health"))
    assert code == 2 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["STATUS", "PROBE", "KIND", "TIME", "DETAIL"]
    assert lines[1].split()[:3] == ["critical", "api", "http"]
    assert "HTTP 503, expected 200" in lines[1]
    assert "api-down (api): api is failing" in out
    assert lines[-1] == "warroom check: critical"


def test_an_invalid_config_exits_78(tmp_path: Path) -> None:
    code, out, err, _ = check(tmp_path, "[http.api]\nurl = 5\n")
    assert code == 78 and out == ""
    assert err.count("\n") == 1 and "check.toml" in err


@pytest.mark.parametrize("module", ["probes.http", "probes.sentry", "probes.backups",
                                    "probes.factory", "console.scheduler", "console.history",
                                    "console.alerts.summary", "console.commands.check"])  # fmt: skip
def test_probes_and_the_scheduler_never_import_textual(module: str) -> None:
    code = f"import sys, {module}; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
