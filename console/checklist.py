"""The go-live checklist: the plan's items, ticked by proof where a probe can prove them.

Pure logic: configured items, the latest probe results, the rules and the manual
ticks from the state store in; one `ItemState` per item out. An item is *proven*
while every condition it declares holds now:

- `proof`: an expression (the rule language) over the metrics of its `probe`, or
  of every probe of its `kind`, plus the console facts in `FACTS`;
- `rules`: each named rule is enabled and watches at least one configured probe.

Proofs are live: a backup that stops verifying un-proves "Database backup
verified". An operator's manual tick counts whether or not a proof exists, so
an item the probes cannot see (or see wrongly) can still be signed off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from console.alerts.expr import Expression
from console.config.golive import DEFAULT_CHECKLIST, FACTS
from console.config.model import PHASES, ChecklistItem, Phase, RuleConfig
from console.state.records import ChecklistTick
from probes.result import MetricValue, ProbeResult

__all__ = [
    "DEFAULT_CHECKLIST",
    "FACTS",
    "ChecklistItem",
    "ItemState",
    "ProofStatus",
    "evaluate",
    "progress",
]

ProofStatus = Literal["proven", "unproven", "unknown", "manual"]


@dataclass(frozen=True, slots=True)
class ItemState:
    item: ChecklistItem
    done: bool
    proof: ProofStatus
    # What proved it ("backups: newest_verified") or why not ("no sentry probe configured").
    evidence: str = ""
    proven_at: float | None = None  # observed_at of the newest result the proof read
    tick: ChecklistTick | None = None  # the operator's manual tick, when ticked

    @property
    def by(self) -> str | None:
        """ "proof", or the operator who ticked it; None while not done."""
        if self.proof == "proven":
            return "proof"
        return self.tick.by if self.tick else None

    @property
    def at(self) -> float | None:
        if self.proof == "proven":
            return self.proven_at
        return self.tick.at if self.tick else None

    def line(self, clock: Callable[[float], str] | None = None) -> str:
        """For a panel: "backups: newest_verified at 05:12", "ticked by alice at 09:30"."""
        show = clock or _hh_mm
        if self.proof == "proven":
            when = f" at {show(self.proven_at)}" if self.proven_at is not None else ""
            return f"{self.evidence}{when}"
        if self.tick is not None:
            ticked = f"ticked by {self.tick.by} at {show(self.tick.at)}"
            return f"{ticked}; {self.evidence}" if self.evidence else ticked
        return self.evidence


@dataclass(frozen=True, slots=True)
class _Check:
    ok: bool | None
    evidence: str
    at: float | None = None


def evaluate(
    items: Sequence[ChecklistItem],
    probes: Mapping[str, ProbeResult | None],
    *,
    probe_kinds: Mapping[str, str],
    rules: Sequence[RuleConfig],
    telemetry_configured: bool,
    ticks: Mapping[str, ChecklistTick],
) -> list[ItemState]:
    """Each item's state. `probes` holds the latest result per probe name (None: none yet)."""
    facts: dict[str, MetricValue] = {"telemetry_configured": telemetry_configured}
    states = []
    for item in items:
        tick = ticks.get(item.id)
        ticked = tick if tick is not None and tick.ticked else None
        if not item.automatic:
            states.append(ItemState(item, done=ticked is not None, proof="manual", tick=ticked))
            continue
        checks = _rule_checks(item, rules, probe_kinds) + _proof_checks(
            item, probes, probe_kinds, facts
        )
        proof, evidence, at = _combine(checks)
        states.append(
            ItemState(
                item,
                done=proof == "proven" or ticked is not None,
                proof=proof,
                evidence=evidence,
                proven_at=at,
                tick=ticked,
            )
        )
    return states


def progress(states: Sequence[ItemState]) -> dict[Phase, tuple[int, int]]:
    """(done, total) per phase, in the plan's order; phases without items are left out."""
    counts: dict[Phase, tuple[int, int]] = {}
    for phase in PHASES:
        mine = [s for s in states if s.item.phase == phase]
        if mine:
            counts[phase] = (sum(s.done for s in mine), len(mine))
    return counts


def _rule_checks(
    item: ChecklistItem, rules: Sequence[RuleConfig], probe_kinds: Mapping[str, str]
) -> list[_Check]:
    if not item.rules:
        return []
    by_name = {rule.name: rule for rule in rules}
    for name in item.rules:
        rule = by_name.get(name)
        if rule is None or not rule.enabled:
            return [_Check(False, f"rule {name} is disabled")]
        if not any(rule.matches(probe, kind) for probe, kind in probe_kinds.items()):
            return [_Check(False, f"rule {name} watches no configured probe")]
    return [_Check(True, f"rules {', '.join(item.rules)} enabled")]


def _proof_checks(
    item: ChecklistItem,
    probes: Mapping[str, ProbeResult | None],
    probe_kinds: Mapping[str, str],
    facts: Mapping[str, MetricValue],
) -> list[_Check]:
    proof = item.proof
    if proof is None:
        return []
    if item.probe is None and item.kind is None:
        return [_Check(proof.evaluate(facts), proof.source)]
    if item.probe is not None:
        targets = [item.probe] if item.probe in probe_kinds else []
    else:
        targets = [name for name, kind in probe_kinds.items() if kind == item.kind]
    if not targets:
        return [_Check(False, f"no {item.probe or item.kind} probe configured")]
    checks = []
    for name in targets:
        result = probes.get(name)
        if result is None:
            checks.append(_Check(None, f"{name}: no result yet"))
        elif not result.status.evaluable:
            checks.append(_Check(False, f"{name} is {result.status}: {result.error or '?'}"))
        else:
            metrics = {**result.metrics, **facts}
            ok = proof.evaluate(metrics)
            if ok is None:
                missing = sorted(proof.metric_names() - set(metrics))
                why = f"{', '.join(missing)} not measured" if missing else "unknown"
                checks.append(_Check(None, f"{name}: {why}{_because(result.error)}"))
            elif ok:
                checks.append(_Check(True, f"{name}: {proof.source}", result.observed_at))
            else:
                checks.append(_Check(False, f"{name}: {_falsified(proof, metrics)}"))
    return checks


def _combine(checks: Sequence[_Check]) -> tuple[ProofStatus, str, float | None]:
    """All true: proven (newest evidence time). Any false: unproven. Else unknown."""
    if unproven := [c for c in checks if c.ok is False]:
        return "unproven", unproven[0].evidence, None
    if unknown := [c for c in checks if c.ok is None]:
        return "unknown", unknown[0].evidence, None
    times = [c.at for c in checks if c.at is not None]
    return "proven", "; ".join(c.evidence for c in checks), max(times) if times else None


def _falsified(proof: Expression, metrics: Mapping[str, MetricValue]) -> str:
    """`newest_verified is false`; with the values read when the proof is more than a name."""
    names = sorted(proof.metric_names())
    if names == [proof.source.strip()]:
        return f"{proof.source} is false"
    values = ", ".join(f"{n}={_show(metrics.get(n))}" for n in names)
    return f"{proof.source} is false ({values})"


def _because(error: str | None) -> str:
    return f" ({error})" if error else ""


def _show(value: MetricValue) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _hh_mm(at: float | None) -> str:
    return "?" if at is None else time.strftime("%H:%M", time.localtime(at))
