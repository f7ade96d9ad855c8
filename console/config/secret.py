"""Secrets that mask themselves wherever they might be shown or logged."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_KEYVALUE_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


class Secret:
    """A secret string: `str()`/`repr()`/f-strings show a masked form; `.reveal()` the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return mask_secret_text(self._value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("secrets are not picklable")


def mask_secret_text(value: str) -> str:
    """Mask what is secret in a DSN or URL and keep what helps an operator.

    `postgresql://app:pw@db:5432/app` -> `postgresql://app:***@db:5432/app`;
    a URL keeps scheme and host but hides its path and query (a Slack webhook's
    path *is* its secret); anything else is fully masked.
    """
    if not value:
        return ""
    if "://" in value:
        try:
            parts = urlsplit(value)
        except ValueError:
            return MASK
        if parts.scheme.startswith("postgres"):
            netloc = parts.netloc
            if "@" in netloc:
                userinfo, host = netloc.rsplit("@", 1)
                user = userinfo.split(":", 1)[0]
                netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
            query = _KEYVALUE_PASSWORD.sub(rf"\1{MASK}", parts.query.replace("&", " "))
            return urlunsplit((parts.scheme, netloc, parts.path, query.replace(" ", "&"), ""))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        tail = f"/{MASK}" if parts.path.strip("/") or parts.query else ""
        return f"{parts.scheme}://{host}{port}{tail}"
    if ("=" in value and " " in value.strip()) or value.lower().startswith(("host=", "dbname=")):
        return _KEYVALUE_PASSWORD.sub(rf"\1{MASK}", value)
    return MASK


def scrub(text: str, secrets: list[Secret]) -> str:
    """Remove every revealed secret (and each DSN password inside one) from free text."""
    for secret in secrets:
        raw = secret.reveal()
        if not raw:
            continue
        text = text.replace(raw, secret.masked)
        password = dsn_password(raw)
        if password:
            text = text.replace(password, MASK)
    return text


def dsn_password(dsn: str) -> str | None:
    if "://" in dsn:
        try:
            return urlsplit(dsn).password
        except ValueError:
            return None
    match = _KEYVALUE_PASSWORD.search(dsn)
    return match.group(2).strip("'") if match else None
