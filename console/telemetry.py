"""The console's own errors to Sentry, with every secret scrubbed before it leaves.

Two layers: sentry-sdk's EventScrubber (recursive, extended denylist) masks values
by key name; `before_send` then scrubs every string in the event of the configured
secrets and of anything shaped like one (URL passwords, Slack webhooks, bearer
tokens, `password=`), removes query texts and drops anything under a `slack` key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from console.config.model import TelemetryConfig
from console.config.secret import MASK, Secret, scrub
from console.state.masking import ScrubFilter

log = logging.getLogger(__name__)

MAX_BREADCRUMBS = 20
EXTRA_DENYLIST = [
    "dsn",
    "sentry_dsn",
    "target_dsn",
    "webhook",
    "webhook_url",
    "url_secret",
    "token",
    "access_token",
    "refresh_token",
    "bearer",
    "password",
    "pgpassword",
    "conninfo",
    "query",
    "queries",
    "sql",
    "statement",
]
_DROP_KEYS = frozenset({"slack"})
_QUERY_KEYS = frozenset({"query", "queries", "sql", "statement"})
_PATTERNS = (
    # scheme://user:password@host -> keep the user, hide the password
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.IGNORECASE), rf"\1{MASK}@"),
    (
        re.compile(r"https://hooks\.slack\.com/[^\s'\"]+", re.IGNORECASE),
        "https://hooks.slack.com/***",
    ),
    (re.compile(r"(\bbearer\s+)[^\s'\"]+", re.IGNORECASE), rf"\1{MASK}"),
    (re.compile(r"(\bpassword\s*=\s*)('[^']*'|[^\s'\"]+)", re.IGNORECASE), rf"\1{MASK}"),
    (re.compile(r"\bsntry[su]_[A-Za-z0-9_=+/-]+"), MASK),  # Sentry auth tokens
)


def init_telemetry(config: TelemetryConfig, secrets: list[Secret], environment: str) -> bool:
    """Report this process's errors to `[telemetry].sentry_dsn`; False (no-op) if unset."""
    if not config.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    dsn = config.sentry_dsn
    everything = [*secrets, dsn]
    # sentry-sdk's own logger can echo its options; never let it print the DSN key.
    logging.getLogger("sentry_sdk.errors").addFilter(ScrubFilter(everything))
    sentry_sdk.init(
        dsn=dsn.reveal(),
        environment=config.environment or environment,
        send_default_pii=False,
        event_scrubber=EventScrubber(
            denylist=[*DEFAULT_DENYLIST, *EXTRA_DENYLIST], recursive=True, send_default_pii=False
        ),
        before_send=partial(_before_send, secrets=everything),
        before_breadcrumb=partial(_before_breadcrumb, secrets=everything),
        max_breadcrumbs=MAX_BREADCRUMBS,
        traces_sample_rate=None,
        debug=False,
    )
    log.info("telemetry: errors go to %s", _where(dsn))
    return True


def scrub_text(text: str, secrets: Sequence[Secret]) -> str:
    """Configured secrets first (exact), then anything shaped like a secret."""
    text = scrub(text, list(secrets))
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _before_send(event: Any, hint: Any, *, secrets: Sequence[Secret]) -> Any:
    crumbs = event.get("breadcrumbs")
    if isinstance(crumbs, dict) and isinstance(crumbs.get("values"), list):
        crumbs["values"] = [c for c in crumbs["values"] if not _is_query(c)]
    return _clean(event, secrets)


def _before_breadcrumb(crumb: Any, hint: Any, *, secrets: Sequence[Secret]) -> Any:
    return None if _is_query(crumb) else _clean(crumb, secrets)


def _is_query(crumb: Any) -> bool:
    return isinstance(crumb, dict) and str(crumb.get("category", "")).lower() in _QUERY_KEYS


def _clean(value: Any, secrets: Sequence[Secret]) -> Any:
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, dict):
        return {
            key: _clean(item, secrets)
            for key, item in value.items()
            if not (isinstance(key, str) and key.lower() in _DROP_KEYS | _QUERY_KEYS)
        }
    if isinstance(value, list | tuple):
        return [_clean(item, secrets) for item in value]
    return value


def _where(dsn: Secret) -> str:
    try:
        parts = urlsplit(dsn.reveal())
        return f"{parts.hostname or '?'} (project {parts.path.strip('/') or '?'})"
    except ValueError:
        return "a malformed DSN"
