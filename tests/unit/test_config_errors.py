"""Every bad configuration gives one line naming file, line and key path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console.config import EX_CONFIG, ConfigError, load_config

BASE = """\
[console]
environment = "test"

[postgres.main]
dsn = "postgresql://app:s3cret@db:5432/app"
critical_tables = ["users"]

[http.api]
url = "http://127.0.0.1:9/health"
"""

CASES: list[tuple[str, str, str]] = [
    # (extra TOML appended to BASE, expected "line: key path" prefix, expected message fragment)
    ('[http.web]\nurl = = "x"\n', ":12:", "TOML syntax"),
    ("[console2]\nx = 1\n", ":11: console2:", "unknown section"),
    ('[slack]\nwebhok_url = "x"\n', ":12: slack.webhok_url:", "did you mean 'webhook_url'"),
    ('[http.web]\nurl = "http://x"\ninterval = "5 minutes"\n', ":13: http.web.interval:", "use 5m"),
    ('[http.web]\nurl = "http://x"\ntimeout = true\n', ":13: http.web.timeout:", "not a duration"),
    ('[http.web]\nurl = "ftp://x"\n', ":12: http.web.url:", "not an http(s) URL"),
    (
        '[http.web]\nurl = "http://x"\nexpect_status = "200"\n',
        ":13: http.web.expect_status:",
        "expected a list",
    ),
    (
        '[http.web]\nurl = "http://x"\nexpect_status = [200, "x"]\n',
        ":13: http.web.expect_status[1]:",
        "whole number",
    ),
    ('[http.web]\nurl = "http://x"\nmethod = "FETCH"\n', ":13: http.web.method:", "is not one of"),
    (
        '[postgres.other]\ndsn = "mysql://x@y/z"\n',
        ":12: postgres.other.dsn:",
        "not a postgresql:// DSN",
    ),
    (
        '[postgres.other]\ndsn = "postgresql://x@y:port/z"\n',
        ":12: postgres.other.dsn:",
        "not a valid DSN",
    ),
    ('[postgres.other]\ndriver = "psycopg"\n', ":11: postgres.other.dsn:", "is required"),
    (
        '[sentry.api]\norg = "o"\nproject = "p"\ntoken = "t"\n',
        ":11: sentry.api:",
        "duplicate probe name",
    ),
    (
        '[backup]\ndatabase = "nope"\ndestination = "/tmp/b"\n',
        ":12: backup.database:",
        "not a [postgres.NAME]",
    ),
    (
        '[backup]\ndatabase = "main"\ndestination = "s3:///x"\n',
        ":13: backup.destination:",
        "needs a bucket",
    ),
    (
        '[backup]\ndatabase = "main"\ndestination = "/b"\nsse = "aws:kms"\n',
        ":11: backup.kms_key_id:",
        "is required",
    ),
    (
        '[[rules]]\nname = "x"\nprobe = "api"\nseverity = "P1"\nsummary = "s"\nwhen = "latency >"\n',
        ":16: rules[0].when:",
        "ends too early",
    ),
    (
        '[[rules]]\nname = "x"\nprobe = "nope"\nseverity = "P1"\nsummary = "s"\nwhen = "up"\n',
        ":13: rules[0].probe:",
        "not a configured probe",
    ),
    (
        '[[rules]]\nname = "x"\nprobe = "api"\nseverity = "P4"\nsummary = "s"\nwhen = "up"\n',
        ":14: rules[0].severity:",
        "is not one of",
    ),
    ('[[rules]]\nname = "api-slow"\nfor = "soon"\n', ":13: rules[0].for:", "not a duration"),
    (
        '[[rules]]\nname = "a"\nprobe = "api"\nseverity = "P1"\nsummary = "s"\nwhen = "up"\n[[rules]]\nname = "a"\n',
        ":18: rules[1].name:",
        "duplicate rule",
    ),
    (
        '[[rules]]\nname = "x"\nprobe = "api"\nseverity = "P1"\nsummary = "s"\nwhen = "up"\ndepends_on = "ghost"\n',
        ":17: rules[0].depends_on:",
        "is not a rule",
    ),
    (
        '[[rules]]\nname = "x"\nseverity = "P1"\nsummary = "s"\nwhen = "up"\n',
        ":11: rules[0].probe:",
        "is required",
    ),
    (
        '[telemetry]\nsentry_dsn = "${UNSET_FOR_TEST}"\n',
        ":12: telemetry.sentry_dsn:",
        "UNSET_FOR_TEST} is not set",
    ),
    (
        '[sentry.errors]\norg = "o"\nproject = "p"\ntoken = 5318008\n',
        ":14: sentry.errors.token:",
        "expected a string, found a number",
    ),
    ('[keys]\nlaunch = "x"\n', ":12: keys.launch:", "unknown action"),
    ('[keys]\nacknowledge = "k"\nsilence = "k"\n', ":13: keys.silence:", "already bound"),
    (
        '[drill]\ntarget_dsn = "postgresql://admin:pw@db:5432/postgres"\n[backup]\ndatabase = "main"\ndestination = "/b"\n',
        ":12: drill.target_dsn:",
        "production server",
    ),
]


@pytest.mark.parametrize(("extra", "where", "fragment"), CASES, ids=[c[1] for c in CASES])
def test_bad_config_names_line_and_key(
    tmp_path: Path, extra: str, where: str, fragment: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE + "\n" + extra)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}{where}"), message
    assert fragment in message
    assert "\n" not in message
    assert "s3cret" not in message and "5318008" not in message


def test_reference_config_validates_as_is() -> None:
    config = load_config(Path(__file__).parents[2] / "config.toml", env={})
    assert "main" in config.postgres
    assert {r.name for r in config.rules} >= {"database-down", "data-loss", "backup-stale"}


def test_interpolation_with_defaults_and_coercion(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        BASE
        + '[backup]\ndatabase = "main"\ndestination = "${DEST:-/var/b}"\nkeep_min = "${KEEP:-2}"\n'
        + '[drill]\ntarget_dsn = "postgresql://x@other:5432/postgres"\nkeep = "${KEEP_DB:-false}"\n'
    )
    config = load_config(path, env={"KEEP": "5", "KEEP_DB": "true"})
    assert config.backup is not None and config.backup.destination == "/var/b"
    assert config.backup.keep_min == 5
    assert config.drill is not None and config.drill.keep is True


def test_user_rule_overrides_default_fields_and_disables(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        BASE + '[[rules]]\nname = "api-slow"\nwhen = "latency_p95 > 3s"\n'
        '[[rules]]\nname = "tls-expiring"\nenabled = false\n'
    )
    rules = {r.name: r for r in load_config(path, env={}).rules}
    assert rules["api-slow"].when.source == "latency_p95 > 3s"
    assert rules["api-slow"].severity == "P1"  # kept from the default
    assert rules["api-slow"].for_ == 60
    assert rules["tls-expiring"].enabled is False


@pytest.mark.parametrize("argv", [["validate"], ["check", "--json"], ["agent"]])
def test_cli_prints_one_line_and_exits_78(tmp_path: Path, argv: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BASE + '\n[http.web]\nurl = "http://x"\ninterval = "5 minutes"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "console.cli", *argv, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == EX_CONFIG
    assert (
        proc.stderr.strip()
        == f'{path}:13: http.web.interval: "5 minutes" is not a duration (use 5m)'
    )
    assert "Traceback" not in proc.stderr


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "console.cli", "validate", str(tmp_path / "none.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == EX_CONFIG
    assert proc.stderr.strip().endswith("none.toml: file not found")


def test_dependency_cycles_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        BASE
        + '[[rules]]\nname = "a"\nprobe = "api"\nseverity = "P1"\nsummary = "s"\nwhen = "up"\ndepends_on = "b"\n'
        + '[[rules]]\nname = "b"\nprobe = "api"\nseverity = "P1"\nsummary = "s"\nwhen = "up"\ndepends_on = "a"\n'
    )
    with pytest.raises(
        ConfigError, match=r"rules\[0\]\.depends_on: depends_on forms a cycle: a -> b -> a"
    ):
        load_config(path, env={})


def test_partial_alert_tables_keep_the_plans_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(BASE + '[alerts]\nack_deadline = { P0 = "2m" }\n')
    alerts = load_config(path, env={}).alerts
    assert alerts.ack_deadline == {"P0": 120, "P1": 7200, "P2": 86400}
    assert alerts.group_wait == {"P0": 0, "P1": 10, "P2": 10}
