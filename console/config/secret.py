"""Secrets that mask themselves wherever they might be shown or logged."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
_KEYVALUE_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"(?:^|&)password=([^&]*)", re.IGNORECASE)


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


def scrub(text: str, secrets: Iterable[Secret]) -> str:
    """Remove every secret from free text, in every form an error message may quote it.

    Each secret goes as configured and as a library would print it (stripped of
    surrounding whitespace, escaped the way `repr` escapes str and bytes: h11 says
    `Illegal header value b'Bearer tok\\n'` of a token read with its newline), and
    so does each password inside a DSN (userinfo or `password=`, as written and
    percent-decoded). Longer forms go first, so a shorter one never splits them.
    """
    for form, replacement in _forms(tuple(s.reveal() for s in secrets if s)):
        text = text.replace(form, replacement)
    return text


def dsn_password(dsn: str) -> str | None:
    """The first password in a DSN (userinfo, a `password=` query parameter, key=value)."""
    passwords = dsn_passwords(dsn)
    return passwords[0] if passwords else None


def dsn_passwords(dsn: str) -> list[str]:
    """Every password a DSN carries, as written in it (percent-encoded if it was).

    Parsed by hand rather than by `urlsplit`, which refuses a netloc with a bare
    `[` that libpq still accepts (and then quotes back in its error).
    """
    if "://" not in dsn:
        return _unique(m.group(2).strip("'") for m in _KEYVALUE_PASSWORD.finditer(dsn))
    rest = dsn.split("://", 1)[1]
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    userinfo = netloc.rpartition("@")[0]
    found = [userinfo.partition(":")[2]] if ":" in userinfo else []
    query = rest.partition("?")[2].partition("#")[0]
    found += [m.group(1) for m in _QUERY_PASSWORD.finditer(query)]
    return _unique(found)


@lru_cache(maxsize=64)
def _forms(raws: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(text to find, replacement) for these secrets, longest first."""
    forms: dict[str, str] = {}
    for raw in raws:
        masked = mask_secret_text(raw)
        for form in _quoted(raw):
            forms.setdefault(form, masked)
        for password in dsn_passwords(raw):
            for variant in {password, unquote(password), password.replace("\\'", "'")}:
                for form in _quoted(variant):
                    forms[form] = MASK
    ordered = sorted(forms.items(), key=lambda item: len(item[0]), reverse=True)
    return tuple((form, replacement) for form, replacement in ordered if form.strip())


def _quoted(value: str) -> set[str]:
    """A value, stripped, and as `repr` shows it inside a str or a bytes literal."""
    forms = {value, value.strip()}
    forms.add(value.encode("unicode_escape").decode("ascii"))
    forms.add(repr(value.encode("utf-8", "surrogatepass"))[2:-1])
    return forms


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
