"""The rule expression language: table-driven semantics plus fuzzing of parser and evaluator."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.alerts.expr import MAX_LENGTH, Expression, ExpressionError, parse_expression
from probes.result import MetricValue

UNITS = [
    ("500ms", 0.5),
    ("2s", 2.0),
    ("5m", 300.0),
    ("26h", 93600.0),
    ("30d", 2592000.0),
    ("99.5%", 0.995),
    ("10b", 10.0),
    ("1kb", 1e3),
    ("1MB", 1e6),
    ("2gb", 2e9),
    ("1tb", 1e12),
    ("1kib", 1024.0),
    ("1MiB", 1024.0**2),
    ("1gib", 1024.0**3),
    ("1tib", 1024.0**4),
    ("1e3", 1000.0),
    ("1.5e-3s", 0.0015),
    ("7", 7.0),
]


@pytest.mark.parametrize(("text", "seconds"), UNITS)
def test_units_normalise_to_base_units(text: str, seconds: float) -> None:
    assert parse_expression(f"x == {text}").threshold() == pytest.approx(seconds)


EVALUATIONS: list[tuple[str, dict[str, MetricValue], bool | None]] = [
    # precedence: * before +, + before comparison, comparison before not, not before and/or
    ("1 + 2 * 3 == 7", {}, True),
    ("(1 + 2) * 3 == 9", {}, True),
    ("10 - 4 - 3 == 3", {}, True),
    ("12 / 3 / 2 == 2", {}, True),
    ("-2 * 3 == -6", {}, True),
    ("not a == 1", {"a": 2}, True),
    ("not a and b", {"a": False, "b": True}, True),
    ("a or b and c", {"a": True, "b": False, "c": False}, True),
    ("(a or b) and c", {"a": True, "b": False, "c": False}, False),
    ("a and b or c", {"a": False, "b": True, "c": True}, True),
    # comparisons with units and metrics
    ("p95 > 5s and availability < 99.5%", {"p95": 6, "availability": 0.99}, True),
    ("p95 > 5s and availability < 99.5%", {"p95": 4.9, "availability": 0.99}, False),
    ("lag > 5m", {"lag": 301}, True),
    ("size >= 1GiB", {"size": 1024**3}, True),
    ("a / b > 1", {"a": 1, "b": 0}, None),  # division by zero is unknown, not an error
    ("a != b", {"a": 1, "b": 2}, True),
    ("a <= 1", {"a": 1}, True),
    # three-valued logic: a missing metric is unknown, and/or absorb it only when they can
    ("missing > 1", {}, None),
    ("not missing", {}, None),
    ("missing > 1 and up", {"up": False}, False),
    ("missing > 1 and up", {"up": True}, None),
    ("missing > 1 or up", {"up": True}, True),
    ("missing > 1 or up", {"up": False}, None),
    ("not up", {"up": False}, True),
    ("x > 1", {"x": None}, None),
    ("x > 1", {"x": math.nan}, None),  # NaN is not a measurement
    ("x - x > 0", {"x": math.inf}, None),  # nor is inf - inf
    ("x > 1e300", {"x": 10**400}, True),  # an int beyond float range stays comparable
    ("x < 0", {"x": -(10**400)}, True),
    # booleans and numbers never equal each other
    ("up == true", {"up": True}, True),
    ("up == 1", {"up": True}, False),
    ("drill_ok == false", {"drill_ok": 0}, False),
    ("up > 0", {"up": True}, None),  # ordering a boolean is unknown
    ("TRUE and not False", {}, True),
    # strings
    ("status == 'down'", {"status": "down"}, True),
    ('status == "down"', {"status": "up"}, False),
    ("status != 'down'", {"status": "up"}, True),
    ("version >= 'v2'", {"version": "v10"}, False),  # lexicographic
    ("name < 'b'", {"name": "a"}, True),
    ("name < 1", {"name": "a"}, None),
    ("name + 1 > 0", {"name": "a"}, None),
    ("status == 1", {"status": "1"}, False),
    # in
    ("code in (500, 502, 503)", {"code": 502}, True),
    ("code in (500, 502)", {"code": 200}, False),
    ("code in (500, other)", {"code": 200}, None),  # could equal the unknown option
    ("code in (500, other)", {"code": 500}, True),
    ("code in (500)", {}, None),
    ("status in ('down', 'unknown')", {"status": "down"}, True),
    ("up in (1)", {"up": True}, False),
    ("not code in (1, 2)", {"code": 3}, True),
    ("code in (1, 2) and up", {"code": 1, "up": True}, True),
    # dotted metric names
    ("table.users.delta < -100", {"table.users.delta": -500}, True),
    # a bare metric is its truth value
    ("up", {"up": True}, True),
    ("latency", {"latency": 0.0}, False),
]


@pytest.mark.parametrize(("source", "metrics", "expected"), EVALUATIONS)
def test_evaluate(source: str, metrics: dict[str, MetricValue], expected: bool | None) -> None:
    assert parse_expression(source).evaluate(metrics) is expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty condition"),
        ("   ", "empty condition"),
        ("a >", "condition ends too early"),
        ("a > 1 b", "unexpected 'b'"),
        ("a < b < c", "chained comparisons need 'and'"),
        ("a in (1) == true", "chained comparisons need 'and'"),
        ("a == 1 in (1)", "chained comparisons need 'and'"),
        ("(a > 1", "expected ')', found end of condition"),
        ("a in 1", "expected '(', found '1.0'"),
        ("a in ()", "unexpected ')'"),
        ("a $ b", "unexpected character '$' at 3"),
        ("5x > 1", "unexpected character '5' at 1"),
        ("5 s > 1", "unexpected 's'"),
        ("'unterminated", "unexpected character"),
        ("and a", "unexpected 'and'"),
        ("a > 1.2.3", "unexpected character '.'"),
        ("5m\u017f > 1", "unexpected character"),  # not a unit under Unicode case folding
        ("x \u00a0> 1", "unexpected character"),
        ("x" * (MAX_LENGTH + 1), "longer than"),
        ("(" * 70 + "a" + ")" * 70, "nested too deeply"),
        ("not " * 70 + "a", "nested too deeply"),
        ("+".join(["a"] * 900), "too long"),
    ],
)
def test_errors(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse_expression(source)


def test_non_string_is_an_error() -> None:
    with pytest.raises(ExpressionError):
        parse_expression(5)  # type: ignore[arg-type]


def test_a_long_realistic_chain_parses() -> None:
    source = " or ".join(f"m{i} > {i}" for i in range(25))
    assert parse_expression(source).evaluate({"m24": 100}) is True


@pytest.mark.parametrize(
    ("source", "metrics", "value", "threshold", "metric"),
    [
        ("latency_p95 > 5s", {"latency_p95": 7}, 7.0, 5.0, "latency_p95"),
        ("not up", {"up": False}, False, None, "up"),
        ("a > 1 or b > 2", {"a": 0, "b": 3}, 0.0, 1.0, "a"),
        ("availability < availability_target", {"availability": 0.9}, 0.9, None, "availability"),
        ("code in (500, 502)", {"code": 500}, 500.0, None, "code"),
        ("newest_age > max_age or failed", {}, None, None, "newest_age"),
        ("2 * x > 1", {"x": 3}, 6.0, 1.0, "x"),
    ],
)
def test_value_threshold_metric(
    source: str, metrics: dict[str, MetricValue], value: object, threshold: object, metric: str
) -> None:
    expression = parse_expression(source)
    assert expression.value_of(metrics) == value
    assert expression.threshold() == threshold
    assert expression.metric() == metric


def test_threshold_from_metrics() -> None:
    expression = parse_expression("availability < availability_target")
    assert expression.threshold({"availability_target": 0.995}) == 0.995
    assert parse_expression("x > 5").threshold({"x": 1}) == 5.0


def test_metric_names() -> None:
    expression = parse_expression("a > b and not c or d in (e, 1)")
    assert expression.metric_names() == {"a", "b", "c", "d", "e"}


# -- fuzzing -----------------------------------------------------------------------------

TOKENS = [
    *("and", "or", "not", "in", "true", "false", "AND", "Not"),
    *("(", ")", ",", "<", "<=", ">", ">=", "==", "!=", "+", "-", "*", "/", "=", "!"),
    *("1", "0", "5s", "99.5%", "1e309", "1e", "2mib", "3.", ".5", "007", "1_0"),
    *("up", "latency_p95", "table.users.rows", "a.", "_", "x1"),
    *("'down'", '"up"', "'", '"', "\\", "$", "\u00e9", "\u017f", "\u212a", "\x00", "\n"),
]
metric_names = st.sampled_from(["up", "latency_p95", "table.users.rows", "x1", "_", "a"])
metric_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
metric_maps = st.dictionaries(metric_names, metric_values, max_size=6)


def _parse_or_none(source: str) -> Expression | None:
    try:
        return parse_expression(source)
    except ExpressionError:
        return None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("a1 ()<>=!.,'\"%+-*/_ntoud\u017f\t"), max_size=60))
def test_random_text_raises_only_expression_error(source: str) -> None:
    _parse_or_none(source)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(TOKENS), max_size=25),
    st.sampled_from([" ", ""]),
    metric_maps,
)
def test_token_soup_parses_or_fails_cleanly_and_evaluates(
    tokens: list[str], separator: str, metrics: dict[str, MetricValue]
) -> None:
    expression = _parse_or_none(separator.join(tokens))
    if expression is not None:
        assert expression.evaluate(metrics) in (True, False, None)
        expression.value_of(metrics)
        expression.threshold(metrics)
        expression.metric()


VALID = [source for source, _, _ in EVALUATIONS]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID), metric_maps)
def test_evaluate_never_raises_on_arbitrary_metrics(
    source: str, metrics: dict[str, MetricValue]
) -> None:
    expression = parse_expression(source)
    assert expression.evaluate(metrics) in (True, False, None)
    expression.value_of(metrics)
    expression.threshold(metrics)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=1000), st.sampled_from(["+", " and ", " or ", "*"]))
def test_long_chains_parse_within_limits_or_fail_cleanly(count: int, op: str) -> None:
    expression = _parse_or_none(op.join(["a"] * count))
    if expression is not None:
        assert expression.evaluate({"a": 1}) in (True, False)


@pytest.mark.parametrize(
    ("value", "metric", "shown"),
    [
        (float("inf"), "latency_p95", "∞"),
        (10**400, "database_size", "∞"),
        (float("nan"), "x", "unknown"),
    ],
)
def test_summary_values_never_raise(value: float, metric: str, shown: str) -> None:
    from console.alerts.summary import format_value

    assert format_value(value, metric) == shown
