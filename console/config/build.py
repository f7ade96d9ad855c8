"""Build typed dataclasses from parsed TOML, rejecting anything unexpected with its key path."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from console.alerts.expr import Expression, ExpressionError, parse_expression
from console.config.durations import DurationError, parse_duration
from console.config.interpolate import Interpolated
from console.config.model import Duration
from console.config.secret import Secret

KeyPath = tuple[str | int, ...]
T = TypeVar("T")


class BuildError(ValueError):
    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def format_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def toml_key(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("toml", f.name))


@cache
def hints_of(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def build(cls: type[T], data: object, path: KeyPath, name: str | None = None) -> T:
    """An instance of dataclass `cls` from a TOML table at `path`."""
    if not isinstance(data, Mapping):
        raise BuildError(path, f"expected a table, found {_describe(data)}")
    fields = [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    by_key = {toml_key(f): f for f in fields if not f.metadata.get("from_key")}
    for key in data:
        if key not in by_key:
            raise BuildError((*path, key), f"unknown key{_did_you_mean(key, by_key)}")
    hints = hints_of(cls)  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for f in fields:
        if f.metadata.get("from_key"):
            values[f.name] = name
            continue
        key = toml_key(f)
        if key in data:
            values[f.name] = convert(hints[f.name], data[key], (*path, key))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise BuildError((*path, key), "is required")
    return cls(**values)


def convert(hint: Any, value: object, path: KeyPath) -> Any:
    origin = get_origin(hint)
    args = get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return convert(inner[0], value, path)
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise BuildError(path, f"{_show(value)} is not one of {allowed}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise BuildError(path, f"expected a list, found {_describe(value)}")
        return tuple(convert(args[0], item, (*path, i)) for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise BuildError(path, f"expected a table, found {_describe(value)}")
        key_hint, value_hint = args
        out = {}
        for key, item in value.items():
            convert(key_hint, key, (*path, key))
            if dataclasses.is_dataclass(value_hint):
                # `[postgres.NAME]`: the table name becomes the section's `name`.
                out[key] = build(value_hint, item, (*path, key), name=key)  # type: ignore[arg-type]
            else:
                out[key] = convert(value_hint, item, (*path, key))
        return out
    if dataclasses.is_dataclass(hint) and hint is not Expression:
        return build(hint, value, path)  # type: ignore[arg-type]
    return _scalar(hint, value, path)


def _scalar(hint: Any, value: object, path: KeyPath) -> Any:
    interpolated = isinstance(value, Interpolated)
    if hint is Duration:
        try:
            return Duration(parse_duration(value))
        except DurationError as exc:
            raise BuildError(path, str(exc)) from None
    if hint is Expression:
        if not isinstance(value, str):
            raise BuildError(path, f"expected a condition string, found {_describe(value)}")
        try:
            return parse_expression(value)
        except ExpressionError as exc:
            raise BuildError(path, f"{_show(value)}: {exc}") from None
    if hint is Secret:
        if not isinstance(value, str):
            # Named by type only: a numeric token is still a token.
            raise BuildError(path, f"expected a string, found {_describe(value, show=False)}")
        return Secret(str(value))
    if hint is Path:
        if not isinstance(value, str):
            raise BuildError(path, f"expected a path string, found {_describe(value)}")
        return Path(str(value)).expanduser()
    if hint is bool:
        if interpolated and str(value).lower() in ("true", "false", "1", "0", "yes", "no"):
            return str(value).lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise BuildError(path, f"expected true or false, found {_describe(value)}")
        return value
    if hint is int or hint is float:
        if interpolated:
            try:
                return hint(str(value))
            except ValueError:
                raise BuildError(path, f"{_show(value)} is not a number") from None
        ok = isinstance(value, int) if hint is int else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            expected = "a whole number" if hint is int else "a number"
            raise BuildError(path, f"expected {expected}, found {_describe(value)}")
        return hint(value)  # type: ignore[call-overload,arg-type]
    if hint is str:
        if not isinstance(value, str):
            raise BuildError(path, f"expected a string, found {_describe(value)}")
        return str(value)
    raise TypeError(f"unsupported config type {hint!r}")  # a programming error, not user input


def _describe(value: object, *, show: bool = True) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}" if show else "a boolean"
    if isinstance(value, str):
        return f"string {_show(value)}"
    if isinstance(value, int | float):
        return f"number {value}" if show else "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


def _show(value: object) -> str:
    text = str(value)
    return f'"{text[:60]}…"' if len(text) > 60 else f'"{text}"'


def _did_you_mean(key: str, known: Mapping[str, object]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
