"""Secrets out of structured data and log records, before they are stored or sent anywhere."""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

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
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            clean = scrub(text, self.secrets)
            if clean != text:
                # Only then: handlers that want the live exception (Sentry's) lose it.
                record.exc_text, record.exc_info = clean, None
        return True


class _ScrubbingFactory:
    """The log record factory in place: every record scrubbed as it is created."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous
        self.scrubber = ScrubFilter(())

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        # A record whose arguments do not format is left to its handler to report.
        with contextlib.suppress(Exception):
            self.scrubber.filter(record)
        return record


def protect_logs(secrets: Sequence[Secret]) -> None:
    """Scrub `secrets` from every log record this process creates, from now on.

    At record creation rather than as a handler's filter, so no handler can miss
    it: basicConfig's, logging's last-resort stderr handler, a library's own, or
    sentry-sdk's logging integration (breadcrumbs and events). A second call adds
    its secrets to the same factory.
    """
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _ScrubbingFactory):
        factory = _ScrubbingFactory(factory)
        logging.setLogRecordFactory(factory)
    known = factory.scrubber.secrets
    factory.scrubber.secrets = [*known, *(s for s in secrets if s and s not in known)]
