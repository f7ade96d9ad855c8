"""Secrets out of structured data, before it is stored or sent anywhere."""

from __future__ import annotations

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
