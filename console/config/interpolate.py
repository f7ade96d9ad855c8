"""`${VAR}` and `${VAR:-default}` interpolation of string values from the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")


class Interpolated(str):
    """A string that came (at least partly) from the environment: may be coerced to bool/int."""


class UnsetVariable(ValueError):
    def __init__(self, path: tuple[str | int, ...], variable: str) -> None:
        super().__init__(variable)
        self.path = path
        self.variable = variable


def interpolate(data: Any, env: Mapping[str, str], path: tuple[str | int, ...] = ()) -> Any:
    if isinstance(data, dict):
        return {k: interpolate(v, env, (*path, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, env, (*path, i)) for i, v in enumerate(data)]
    if isinstance(data, str) and "$" in data:
        return _expand(data, env, path)
    return data


def _expand(text: str, env: Mapping[str, str], path: tuple[str | int, ...]) -> str:
    touched = False

    def replace(match: re.Match[str]) -> str:
        nonlocal touched
        if match.group(0) == "$$":
            return "$"
        touched = True
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise UnsetVariable(path, name)
            return default
        return value

    result = _VAR.sub(replace, text)
    return Interpolated(result) if touched else result
