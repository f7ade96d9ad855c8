"""Secrets out of structured data and log records, before they are stored or sent anywhere."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence

from console.config.secret import Secret, scrub


def plain(value: object, secrets: Sequence[Secret]) -> object:
    """A JSON-ready copy: Secrets masked, every string scrubbed, unknown types as text."""
    if isinstance(value, Secret):
        return value.masked
    if isinstance(value, str):
        return scrub(value, list(secrets))
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {scrub(str(k), list(secrets)): plain(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v, secrets) for v in value]
    return scrub(str(value), list(secrets))


class ScrubFilter(logging.Filter):
    """Scrubs secrets out of log records (message and traceback) before any handler."""

    def __init__(self, secrets: Sequence[Secret]) -> None:
        super().__init__()
        self._secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self._secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            clean = scrub(text, self._secrets)
            if clean != text:
                # Only then: handlers that want the live exception (Sentry's) lose it.
                record.exc_text, record.exc_info = clean, None
        return True
