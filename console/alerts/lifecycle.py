"""One rule on one probe: how a result reads, and when pending fires and firing clears.

    inactive -> pending -> firing -> resolved      (pending -> discarded on a good result)
    inactive -> degraded (warn_when) -> pending ...

A degraded occurrence is a pending one with `degraded=True`: shown, never fired on
its own, no deadline, never notified; it becomes a real pending alert (and its
`started_at` moves to that moment, so `for` counts from there) when `when` is true.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from console.alerts.model import Occurrence
from console.alerts.summary import render_summary
from console.config.model import RuleConfig
from probes.result import MetricValue, ProbeResult


class Level(Enum):
    GOOD = "good"
    WARN = "warn"  # warn_when true, when false
    BAD = "bad"


def level(rule: RuleConfig, result: ProbeResult) -> Level | None:
    """How a result reads for a rule; None (unknown) changes nothing.

    A result that did not reach its target (down/unknown) can make a condition bad
    (`not up` is *known* there) but never good: its absent metrics prove nothing.
    """
    bad = rule.when.evaluate(result.metrics)
    if bad:
        return Level.BAD
    if bad is None or not result.status.evaluable:
        return None
    if rule.warn_when is None:
        return Level.GOOD
    warn = rule.warn_when.evaluate(result.metrics)
    if warn is None:
        return None
    return Level.WARN if warn else Level.GOOD


@dataclass(frozen=True, slots=True)
class Reading:
    """What an occurrence shows from the result that made it bad (or degraded)."""

    summary: str
    value: MetricValue
    threshold: MetricValue


def reading(rule: RuleConfig, result: ProbeResult, at: Level) -> Reading:
    expression = rule.warn_when if at is Level.WARN and rule.warn_when else rule.when
    value = expression.value_of(result.metrics)
    summary = render_summary(
        rule.summary,
        probe=result.name,
        value=value,
        error=result.error,
        metric=expression.metric(),
    )
    return Reading(summary, value, expression.threshold(result.metrics))


@dataclass(slots=True)
class Track:
    """The engine's working state for one open occurrence.

    Only `occ` is persisted (by the caller, from events); the counters restart at
    zero after a restore, which can only delay a transition, never invent one.
    """

    rule: RuleConfig
    occ: Occurrence
    bad_count: int = 0  # consecutive bad results while pending (`failures`)
    good_count: int = 0  # consecutive good results while firing (`successes`)
    good_since: float | None = None  # condition false since, while firing (`clear_after`)
    # The last good reading while firing was at warn level: resolving reopens degraded.
    warn: Reading | None = None
    notify_after: float | None = None  # no FIRE before (group_wait)
    held: bool = False  # freed from suppression: no FIRE before a fresh bad result

    def may_page(self, now: float) -> bool:
        return not self.held and self.notify_after is not None and now >= self.notify_after

    def fire_ready(self, now: float) -> bool:
        return (
            not self.occ.degraded
            and now - self.occ.started_at >= self.rule.for_
            and self.bad_count >= (self.rule.failures or 0)
        )

    def resolve_ready(self, now: float) -> bool:
        return (
            self.good_since is not None
            and now - self.good_since >= self.rule.clear_after
            and self.good_count >= (self.rule.successes or 0)
        )

    def bad(self) -> None:
        self.good_count = 0
        self.good_since = None
        self.warn = None

    def good(self, now: float, warn: Reading | None) -> None:
        self.good_count += 1
        self.good_since = now if self.good_since is None else self.good_since
        self.warn = warn
