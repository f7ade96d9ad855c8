"""A small, safe expression language for rule conditions (never Python `eval`).

    when = "p95 > 5s and availability < 99.5%"
    when = "status == 'down' or not up"

Numbers may carry units and are normalised to base units: durations to seconds,
sizes to bytes, percentages to ratios. Comparisons with a missing metric are
*unknown* (None); `and`/`or`/`not` follow three-valued logic, so a rule whose
inputs are unknown neither fires nor resolves. NaN counts as missing, so does
division by zero; `==` never equates a boolean with a number (`up == 1` is false);
`x in (a, b)` is unknown when no option matches and one of them is unknown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from probes.result import MetricValue

MAX_LENGTH = 2000
# Bounds the tree depth (nesting *and* operator chains, which nest to the left), so that
# parsing and evaluation stay far from Python's recursion limit.
MAX_DEPTH = 64

_UNITS: dict[str, float] = {
    "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
    "%": 0.01,
    "b": 1.0, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
    "kib": 1024.0, "mib": 1024.0**2, "gib": 1024.0**3, "tib": 1024.0**4,
}  # fmt: skip
_TOKEN = re.compile(
    r"""(?:
      (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?P<unit>ms|s|m|h|d|%|[kmgt]i?b|b)?(?![A-Za-z0-9_])
    | (?P<string>"[^"\\]*"|'[^'\\]*')
    | (?P<op><=|>=|==|!=|<|>|\(|\)|\+|-|\*|/|,)
    | (?P<name>[A-Za-z_][A-Za-z0-9_.]*[A-Za-z0-9_]|[A-Za-z_])
    )""",
    # ASCII: under Unicode case folding `[a-z]` also matches U+017F (long s) and U+212A
    # (Kelvin), so "5m<U+017F>" would tokenize as a number with a unit the table lacks.
    re.VERBOSE | re.IGNORECASE | re.ASCII,
)
_SPACE = " \t\n\r\f\v"  # what `\s` matches under re.ASCII
_COMPARE = {"<", "<=", ">", ">=", "==", "!="}
_KEYWORDS = {"and", "or", "not", "true", "false", "in"}

Value = float | str | bool | None


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Literal:
    value: float | str | bool


@dataclass(frozen=True, slots=True)
class Metric:
    name: str


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "not" | "-"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Member:
    needle: Node
    options: tuple[Node, ...]


Node = Literal | Metric | Unary | Binary | Member


@dataclass(frozen=True, slots=True)
class Expression:
    source: str
    root: Node

    def evaluate(self, metrics: Mapping[str, MetricValue]) -> bool | None:
        value = _eval(self.root, metrics)
        return None if value is None else bool(value)

    def metric_names(self) -> frozenset[str]:
        return frozenset(_names(self.root))

    def value_of(self, metrics: Mapping[str, MetricValue]) -> Value:
        """The left-hand side of the first comparison: the value an alert shows."""
        return _eval(self._subject()[0], metrics)

    def threshold(self, metrics: Mapping[str, MetricValue] | None = None) -> Value:
        """The right-hand side of the first comparison: a constant, or with `metrics` any side.

        `availability < availability_target` has its threshold among the metrics.
        """
        right = self._subject()[1]
        if isinstance(right, Literal):
            return right.value
        return None if right is None or metrics is None else _eval(right, metrics)

    def metric(self) -> str | None:
        """The first metric the shown value depends on (names the unit for display)."""
        names = _names(self._subject()[0]) or _names(self.root)
        return names[0] if names else None

    def _subject(self) -> tuple[Node, Node | None]:
        """Sides of the first comparison, following left operands from the root.

        Without a comparison (`not up`, `up in (...)`) the subject is the leftmost operand.
        """
        node = self.root
        while True:
            if isinstance(node, Binary) and node.op in _COMPARE:
                return node.left, node.right
            if isinstance(node, Member):
                return node.needle, None
            if isinstance(node, Unary):
                node = node.operand
            elif isinstance(node, Binary):
                node = node.left
            else:
                return node, None


def parse_expression(source: str) -> Expression:
    if not isinstance(source, str):
        raise ExpressionError("a condition must be a string")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"condition longer than {MAX_LENGTH} characters")
    tokens = _tokenize(source)
    if not tokens:
        raise ExpressionError("empty condition")
    parser = _Parser(tokens, source)
    root = parser.expression(0)
    if parser.pos != len(tokens):
        raise ExpressionError(f"unexpected {parser.describe(parser.pos)}")
    return Expression(source, root)


def _tokenize(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while (pos := _skip_space(source, pos)) < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise ExpressionError(f"unexpected character {source[pos]!r} at {pos + 1}")
        pos = match.end()
        if match.group("number") is not None:
            unit = (match.group("unit") or "").lower()
            tokens.append(("number", str(float(match.group("number")) * _UNITS.get(unit, 1.0))))
        elif match.group("string") is not None:
            tokens.append(("string", match.group("string")[1:-1]))
        elif match.group("op") is not None:
            tokens.append(("op", match.group("op")))
        else:
            word = match.group("name")
            kind = "kw" if word.lower() in _KEYWORDS else "name"
            tokens.append((kind, word.lower() if kind == "kw" else word))
    return tokens


def _skip_space(source: str, pos: int) -> int:
    while pos < len(source) and source[pos] in _SPACE:
        pos += 1
    return pos


_BINDING = {"or": 1, "and": 2, "in": 4, "+": 5, "-": 5, "*": 6, "/": 6} | {op: 4 for op in _COMPARE}


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], source: str) -> None:
        self.tokens = tokens
        self.source = source
        self.pos = 0
        self.depth = 0

    def describe(self, pos: int) -> str:
        return "end of condition" if pos >= len(self.tokens) else repr(self.tokens[pos][1])

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError("condition ends too early")
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        token = self.peek()
        if token is None or token[1] != text:
            raise ExpressionError(f"expected {text!r}, found {self.describe(self.pos)}")
        self.pos += 1

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"condition nested too deeply or too long (limit {MAX_DEPTH})")

    def expression(self, min_binding: int) -> Node:
        entered = self.depth
        self.deeper()
        left = self.prefix()
        while (token := self.peek()) is not None and token[0] in ("op", "kw"):
            binding = _BINDING.get(token[1])
            if binding is None or binding <= min_binding:
                break
            self.pos += 1
            # Each operator of a chain nests the tree one level deeper on its left.
            self.deeper()
            if (token[1] in _COMPARE or token[1] == "in") and _is_comparison(left):
                raise ExpressionError("chained comparisons need 'and'")
            if token[1] == "in":
                left = Member(left, self.options())
                continue
            left = Binary(token[1], left, self.expression(binding))
        self.depth = entered
        return left

    def options(self) -> tuple[Node, ...]:
        self.expect("(")
        items = [self.expression(0)]
        while self.peek() == ("op", ","):
            self.pos += 1
            items.append(self.expression(0))
        self.expect(")")
        return tuple(items)

    def prefix(self) -> Node:
        kind, text = self.take()
        if kind == "number":
            return Literal(float(text))
        if kind == "string":
            return Literal(text)
        if kind == "name":
            return Metric(text)
        if kind == "kw" and text in ("true", "false"):
            return Literal(text == "true")
        if kind == "kw" and text == "not":
            return Unary("not", self.expression(3))
        if (kind, text) == ("op", "-"):
            return Unary("-", self.expression(6))
        if (kind, text) == ("op", "("):
            inner = self.expression(0)
            self.expect(")")
            return inner
        raise ExpressionError(f"unexpected {text!r}")


def _is_comparison(node: Node) -> bool:
    return isinstance(node, Member) or (isinstance(node, Binary) and node.op in _COMPARE)


def _names(node: Node) -> list[str]:
    if isinstance(node, Metric):
        return [node.name]
    if isinstance(node, Unary):
        return _names(node.operand)
    if isinstance(node, Binary):
        return _names(node.left) + _names(node.right)
    if isinstance(node, Member):
        return _names(node.needle) + [n for o in node.options for n in _names(o)]
    return []


def _number(value: Value) -> float | None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    return float(value)


def _known(number: float) -> float | None:
    """NaN is not a measurement (nor is inf - inf): it makes a comparison unknown."""
    return None if math.isnan(number) else number


def _metric(raw: MetricValue) -> Value:
    if isinstance(raw, bool) or raw is None or isinstance(raw, str):
        return raw
    try:
        return _known(float(raw))
    except OverflowError:  # an int beyond float range still compares as "very large"
        return math.inf if raw > 0 else -math.inf


def _same(left: Value, right: Value) -> bool:
    """Equality without Python's `True == 1.0`: a boolean never equals a number."""
    return type(left) is type(right) and left == right


def _eval(node: Node, metrics: Mapping[str, MetricValue]) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Metric):
        return _metric(metrics.get(node.name))
    if isinstance(node, Unary):
        value = _eval(node.operand, metrics)
        if node.op == "not":
            return None if value is None else not value
        number = _number(value)
        return None if number is None else -number
    if isinstance(node, Member):
        needle = _eval(node.needle, metrics)
        if needle is None:
            return None
        options = [_eval(option, metrics) for option in node.options]
        if any(_same(needle, option) for option in options):
            return True
        return None if None in options else False
    if node.op == "and":
        left = _eval(node.left, metrics)
        if left is not None and not left:
            return False
        right = _eval(node.right, metrics)
        if right is not None and not right:
            return False
        return None if left is None or right is None else True
    if node.op == "or":
        left = _eval(node.left, metrics)
        if left:
            return True
        right = _eval(node.right, metrics)
        if right:
            return True
        return None if left is None or right is None else False
    return _binary(node.op, _eval(node.left, metrics), _eval(node.right, metrics))


def _binary(op: str, left: Value, right: Value) -> Value:
    if left is None or right is None:
        return None
    if op in ("==", "!="):
        same = _same(left, right)
        return same if op == "==" else not same
    if isinstance(left, str) and isinstance(right, str) and op in _COMPARE:
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    a, b = _number(left), _number(right)
    if a is None or b is None:
        return None
    if op == "+":
        return _known(a + b)
    if op == "-":
        return _known(a - b)
    if op == "*":
        return _known(a * b)
    if op == "/":
        return None if b == 0 else _known(a / b)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
