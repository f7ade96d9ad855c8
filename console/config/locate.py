"""Find the line of a key path in TOML source, so errors can say `config.toml:41:`."""

from __future__ import annotations

import re

from console.config.build import KeyPath

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return tuple(p.strip("\"'") for p in parts)


def line_index(source: str) -> dict[KeyPath, int]:
    """Every table header and key in `source` with its 1-based line."""
    index: dict[KeyPath, int] = {}
    counters: dict[tuple[str, ...], int] = {}
    table: KeyPath = ()
    in_multiline: str | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            names = _split_key(header.group(2))
            if header.group(1) == "[[":
                counters[names] = counters.get(names, -1) + 1
                table = (*names, counters[names])
            else:
                table = _resolve_arrays(names, counters)
            index.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            index.setdefault((*table, *_split_key(key.group(1))), number)
            rest = line[key.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote
    return index


def _resolve_arrays(names: tuple[str, ...], counters: dict[tuple[str, ...], int]) -> KeyPath:
    # `[rules.extra]` after `[[rules]]` belongs to the latest rules entry.
    resolved: list[str | int] = []
    for i, name in enumerate(names):
        resolved.append(name)
        prefix = names[: i + 1]
        if prefix in counters and i + 1 < len(names):
            resolved.append(counters[prefix])
    return tuple(resolved)


def find_line(source: str, path: KeyPath) -> int | None:
    index = line_index(source)
    for end in range(len(path), 0, -1):
        if path[:end] in index:
            return index[path[:end]]
    return None
