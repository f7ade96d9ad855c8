"""Secrets mask themselves; durations parse the way operators write them."""

from __future__ import annotations

import logging

import pytest

from console.config.durations import DurationError, format_duration, parse_duration
from console.config.secret import Secret, dsn_password, mask_secret_text, scrub


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("postgresql://app:pw@db:5432/app", "postgresql://app:***@db:5432/app"),
        ("postgresql://app@db/app", "postgresql://app@db/app"),
        (
            "postgres://u:p@h/d?sslmode=require&password=x",
            "postgres://u:***@h/d?sslmode=require&password=***",
        ),
        ("host=db user=app password='p w' dbname=app", "host=db user=app password=*** dbname=app"),
        ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/***"),
        ("https://pub@o1.ingest.sentry.io/1", "https://o1.ingest.sentry.io/***"),
        ("sntrys_token_abc", "***"),
        ("", ""),
    ],
)
def test_masking(raw: str, masked: str) -> None:
    assert mask_secret_text(raw) == masked
    secret = Secret(raw)
    assert str(secret) == masked and f"{secret}" == masked
    if raw != masked:
        assert raw not in repr(secret)


def test_secret_never_leaks_through_logging(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("postgresql://app:hunter2@db/app")
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("dsn %s %r", secret, secret)
    assert "hunter2" not in caplog.text
    assert secret.reveal().endswith("@db/app")


def test_scrub_removes_values_and_dsn_passwords() -> None:
    secrets = [Secret("postgresql://app:hunter2@db/app"), Secret("tok-123")]
    text = "connect postgresql://app:hunter2@db/app failed; password hunter2; auth tok-123"
    cleaned = scrub(text, secrets)
    assert "hunter2" not in cleaned and "tok-123" not in cleaned
    assert dsn_password("postgresql://a:b@c/d") == "b"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("2s", 2),
        ("5m", 300),
        ("26h", 93600),
        ("30d", 2592000),
        ("1h30m", 5400),
        (7, 7.0),
    ],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5", "5 minutes", "m5", "5x", "-5s", True, None, "1h 30m"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(DurationError):
        parse_duration(bad)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0.25, 4, 42, 300, 7500, 90000)] == [
        "250ms", "4s", "42s", "5m", "2h05m", "1d1h",
    ]  # fmt: skip
