"""Query text with its literals replaced by `?`, so no user data reaches a screen.

A small SQL tokenizer rather than regular expressions over the whole text:
literals are only recognisable from where a token starts (`t1` is an
identifier, `1` a number; a quote inside a comment or a quoted identifier
starts nothing). Comments are dropped because ORMs put request data in them.
Text cut short by `track_activity_query_size` can end inside a literal; an
unterminated literal is redacted to the end, never shown.
"""

from __future__ import annotations

import re

PLACEHOLDER = "?"
# Identifiers may contain digits and `$` after the first character (PostgreSQL lexer rules).
_IDENT = re.compile(r"[^\W\d][\w$]*")
_QUOTED_IDENT = re.compile(r'"(?:[^"]|"")*"?')
_PARAM = re.compile(r"\$\d+")
_DOLLAR_TAG = re.compile(r"\$(?:[^\W\d]\w*)?\$")
# Decimal with optional fraction/exponent, `.5`, and PostgreSQL 16's 0x/0o/0b and `1_000`.
_NUMBER = re.compile(
    r"0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?"
)
_STANDARD_STRING = re.compile(r"'(?:[^']|'')*'")
# E'' strings can also escape a quote with a backslash.
_ESCAPE_STRING = re.compile(r"'(?:[^'\\]|''|\\.)*'", re.DOTALL)
# E'..', B'..', X'..', N'..', U&'..': the prefix belongs to the literal.
_STRING_PREFIX = re.compile(r"(?:[eE]|[bBxXnN]|[uU]&)(?=')")


def _block_comment_end(text: str, start: int) -> int:
    """Index just past the block comment at `start`; PostgreSQL nests them."""
    depth, i = 0, start
    while i < len(text):
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(text)


def _string_end(text: str, quote: int, escapes: bool) -> int:
    # No closing quote: the literal runs to the end of the (possibly truncated) text.
    match = (_ESCAPE_STRING if escapes else _STANDARD_STRING).match(text, quote)
    return match.end() if match else len(text)


def _literal_end(text: str, i: int) -> int | None:
    """Index past a string, dollar-quoted or numeric literal starting at `i`, or None."""
    prefix = _STRING_PREFIX.match(text, i)
    if prefix:
        return _string_end(text, prefix.end(), escapes=prefix.group().lower() == "e")
    if text[i] == "'":
        return _string_end(text, i, escapes=False)
    tag = _DOLLAR_TAG.match(text, i)
    if tag:
        close = text.find(tag.group(), tag.end())
        return len(text) if close < 0 else close + len(tag.group())
    number = _NUMBER.match(text, i)
    return number.end() if number else None


def _gap_end(text: str, i: int) -> int | None:
    """Index past whitespace or a comment starting at `i`, or None."""
    if text.startswith("--", i):
        newline = text.find("\n", i)
        return len(text) if newline < 0 else newline
    if text.startswith("/*", i):
        return _block_comment_end(text, i)
    return i + 1 if text[i].isspace() else None


def redact(text: str, limit: int = 500) -> str:
    """`text` with literals as `?`, comments dropped, spaces collapsed, at most `limit` chars."""
    out: list[str] = []
    i = 0
    while i < len(text):
        gap = _gap_end(text, i)
        if gap is not None:
            if out and out[-1] != " ":
                out.append(" ")
            i = gap
            continue
        end = _literal_end(text, i)
        if end is not None:
            out.append(PLACEHOLDER)
            i = end
            continue
        token = _IDENT.match(text, i) or _QUOTED_IDENT.match(text, i) or _PARAM.match(text, i)
        piece = token.group() if token else text[i]
        out.append(piece)
        i += len(piece)
    result = "".join(out).strip()
    return result if len(result) <= limit else result[: limit - 1] + "…"
