"""The alert engine: probe results and a clock in, alert events out.

Pure logic (no I/O, asyncio, Textual or sqlite). Every state change comes back as
`AlertEvent`s; the caller persists each event's occurrence in order (the last event
of an occurrence carries its latest state) and enqueues its notifications in the
durable outbox, which refuses duplicate keys. Times are `clock.now()` wall-clock
seconds throughout, because deadlines and fired_at outlive the process.

Choices the issue left open (the lifecycle itself is in `lifecycle.py`, who hears
what in `notify_policy.py`):

- A degraded occurrence (warn_when) is pending with `degraded=True`; it never
  notifies and has no deadline. A firing alert whose condition falls back to the
  warn level resolves (sending RESOLVE if it paged) and reopens as degraded.
- Dependencies: while any occurrence of a rule's parent fires, the child is shown
  with `suppressed_by` and notifies nobody. When the parent stops firing, a firing
  child that never paged pages only once a result taken after that still reads bad
  (and group_wait since it fired has passed): its probe may simply not have
  reported the recovery yet. Dependency cycles are ignored (they would mute all).
- Acknowledging works on any open occurrence and mutes it (no FIRE, REPEAT or
  ESCALATE) until resolved or unacknowledged; ACKNOWLEDGE is sent only to a channel
  that heard FIRE. Unacknowledging restores deadline = fired_at + ack_deadline; if
  that is past, the next tick escalates (unless it escalated already).
- Escalation happens once per occurrence, only after a FIRE went out, and waits
  while the occurrence is silenced or suppressed.
- A severity missing from `ack_deadline` gets no deadline; from `group_wait`, none.
- Silences apply when active: a future one silences at its start (SILENCED), an
  expired one releases (UNSILENCED) and a never-notified firing alert pages then.
- An occurrence's summary, value and threshold follow the latest bad (or warn)
  reading; that refresh alone is not an event.
- Results from probes not in `probes` are ignored: the mapping is the configuration.
  Restored occurrences whose rule or probe is gone resolve at the next tick.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from console.alerts.dependencies import acyclic_parents, depth
from console.alerts.lifecycle import Level, Reading, Track, level, reading
from console.alerts.model import (
    Acknowledgement,
    AlertEvent,
    AlertState,
    EventKind,
    Notification,
    Occurrence,
    Silence,
)
from console.alerts.notify_policy import NotifyPolicy
from console.clock import Clock
from console.config.model import SEVERITIES, AlertsConfig, RuleConfig, Severity
from probes.result import ProbeResult

_NONE: Mapping[Severity, str] = MappingProxyType({})
_Key = tuple[str, str]  # (rule, probe): at most one open occurrence each


class AlertError(ValueError):
    """An operator action that cannot apply; the message is one line for the UI."""


def _uuid() -> str:
    return uuid.uuid4().hex


class AlertEngine:
    def __init__(
        self,
        rules: Sequence[RuleConfig],
        alerts: AlertsConfig,
        clock: Clock,
        *,
        probes: Mapping[str, str],
        notify_min_severity: Severity | None,
        notify_acknowledged: bool = True,
        channel_mentions: Mapping[Severity, str] = _NONE,
        escalation_mentions: Mapping[Severity, str] = _NONE,
        new_id: Callable[[], str] = _uuid,
    ) -> None:
        enabled = [rule for rule in rules if rule.enabled]
        self._alerts = alerts
        self._clock = clock
        self._new_id = new_id
        self._policy = NotifyPolicy(
            min_severity=notify_min_severity,
            repeat_interval=float(alerts.repeat_interval),
            notify_acknowledged=notify_acknowledged,
            channel_mentions=dict(channel_mentions),
            escalation_mentions=dict(escalation_mentions),
        )
        self._parents = acyclic_parents(enabled)
        # Parents evaluate (and fire on the clock) before their children, so a parent
        # firing at the same moment suppresses the child before it could page.
        self._depth = {rule.name: depth(rule.name, self._parents) for rule in enabled}
        ordered = sorted(enabled, key=lambda rule: self._depth[rule.name])
        self._rules = {rule.name: rule for rule in ordered}
        self._by_probe = {
            name: [rule for rule in ordered if rule.matches(name, kind)]
            for name, kind in probes.items()
        }
        self._tracks: dict[_Key, Track] = {}
        self._orphans: list[Occurrence] = []
        self._silences: dict[str, Silence] = {}

    # -- state in ---------------------------------------------------------------------

    def restore(self, occurrences: Iterable[Occurrence], silences: Iterable[Silence]) -> None:
        """Replace all state with what the store holds (after a restart or a new lease)."""
        now = self._clock.now()
        self._tracks.clear()
        self._orphans.clear()
        self._silences = {s.id: s for s in silences if s.lifted_at is None and s.ends_at > now}
        for occ in sorted((o for o in occurrences if o.open), key=lambda o: o.started_at):
            rule = self._rules.get(occ.rule)
            if rule is None or rule not in self._by_probe.get(occ.probe, ()):
                self._orphans.append(occ)
                continue
            older = self._tracks.get((occ.rule, occ.probe))
            if older is not None:  # two open for one key: keep the newest
                self._orphans.append(older.occ)
            notify_after = None if occ.fired_at is None else occ.fired_at + self._wait(occ)
            self._tracks[(occ.rule, occ.probe)] = Track(rule, occ, notify_after=notify_after)

    def observe(self, result: ProbeResult) -> list[AlertEvent]:
        now = self._clock.now()
        events: list[AlertEvent] = []
        for rule in self._by_probe.get(result.name, ()):
            at = level(rule, result)
            if at is not None:
                events += self._step(rule, result, at, now)
        return events + self._advance(now)

    def tick(self) -> list[AlertEvent]:
        return self._advance(self._clock.now())

    # -- operator actions ---------------------------------------------------------------

    def acknowledge(self, occurrence_id: str, by: str, note: str = "") -> AlertEvent:
        track = self._track(occurrence_id)
        if track.occ.ack is not None:
            raise AlertError(f"{_name(track.occ)} is already acknowledged by {track.occ.ack.by}")
        now = self._clock.now()
        track.occ = replace(track.occ, ack=Acknowledgement(by, now, note), deadline=None)
        sent = self._policy.acknowledge(track.occ, now)
        return AlertEvent(EventKind.ACKNOWLEDGED, track.occ, now, by, note, sent)

    def unacknowledge(self, occurrence_id: str, by: str) -> AlertEvent:
        track = self._track(occurrence_id)
        if track.occ.ack is None:
            raise AlertError(f"{_name(track.occ)} is not acknowledged")
        owned_by_nobody = replace(track.occ, ack=None)
        track.occ = replace(owned_by_nobody, deadline=self._deadline(owned_by_nobody))
        return AlertEvent(EventKind.UNACKNOWLEDGED, track.occ, self._clock.now(), by)

    def add_silence(self, silence: Silence) -> list[AlertEvent]:
        now = self._clock.now()
        if silence.id in self._silences:
            raise AlertError(f"silence {silence.id} exists already")
        if silence.ends_at <= max(silence.starts_at, now):
            raise AlertError("a silence must end in the future and after it starts")
        self._silences[silence.id] = silence
        return self._advance(now)

    def lift_silence(self, silence_id: str, by: str) -> list[AlertEvent]:
        now = self._clock.now()
        silence = self._silences.get(silence_id)
        if silence is None or silence.lifted_at is not None or silence.ends_at <= now:
            raise AlertError(f"no active or upcoming silence {silence_id}")
        self._silences[silence_id] = replace(silence, lifted_at=now)
        events: list[AlertEvent] = []
        for track in self._tracks.values():
            if track.occ.silenced_by == silence_id:
                events += self._reflag(track, now, lifted_by=by)
        return events + self._advance(now)

    # -- state out ------------------------------------------------------------------

    def open_occurrences(self) -> list[Occurrence]:
        """P0 first, then the oldest first."""
        found = [track.occ for track in self._tracks.values()] + self._orphans
        return sorted(found, key=lambda o: (SEVERITIES.index(o.severity), o.started_at, o.id))

    def occurrence(self, occurrence_id: str) -> Occurrence | None:
        return next((o for o in self.open_occurrences() if o.id == occurrence_id), None)

    def silences(self) -> list[Silence]:
        """Active and upcoming silences, soonest first."""
        now = self._clock.now()
        live = [s for s in self._silences.values() if s.lifted_at is None and s.ends_at > now]
        return sorted(live, key=lambda s: (s.starts_at, s.id))

    # -- one result for one rule ---------------------------------------------------------

    def _step(
        self, rule: RuleConfig, result: ProbeResult, at: Level, now: float
    ) -> list[AlertEvent]:
        track = self._tracks.get((rule.name, result.name))
        if track is not None and at is Level.BAD:
            track.held = False
        if track is None:
            if at is Level.GOOD:
                return []
            return self._open(rule, result.name, at, reading(rule, result, at), now)
        if track.occ.state is AlertState.FIRING:
            if at is Level.BAD:
                track.bad()
                track.occ = _shown(track.occ, reading(rule, result, at))
                return []
            track.good(now, reading(rule, result, at) if at is Level.WARN else None)
            return self._resolve(track, now) if track.resolve_ready(now) else []
        if at is Level.GOOD:  # one good result discards a pending alert
            return [self._close(track, now)]
        occ = _shown(track.occ, reading(rule, result, at))
        if at is Level.WARN:
            track.occ = occ
            if occ.degraded:
                return []
            track.bad_count = 0
            track.occ = replace(occ, degraded=True, started_at=now)
            return [AlertEvent(EventKind.DEGRADED, track.occ, now)]
        became_pending = occ.degraded
        if became_pending:  # `for` and `failures` count from the first bad result
            occ = replace(occ, degraded=False, started_at=now)
            track.bad_count = 0
        track.occ = occ
        track.bad_count += 1
        if track.fire_ready(now):
            return self._fire(track, now)
        return [AlertEvent(EventKind.PENDING, occ, now)] if became_pending else []

    def _open(
        self, rule: RuleConfig, probe: str, at: Level, shown: Reading, now: float
    ) -> list[AlertEvent]:
        occ = Occurrence(
            id=self._new_id(),
            rule=rule.name,
            probe=probe,
            severity=rule.severity,
            state=AlertState.PENDING,
            summary=shown.summary,
            started_at=now,
            value=shown.value,
            threshold=shown.threshold,
            degraded=at is Level.WARN,
            suppressed_by=self._suppressor(rule),
        )
        occ = replace(occ, silenced_by=self._silence_for(occ, now))
        track = Track(rule, occ, bad_count=1 if at is Level.BAD else 0)
        self._tracks[(rule.name, probe)] = track
        if at is Level.WARN:
            return [AlertEvent(EventKind.DEGRADED, occ, now)]
        if track.fire_ready(now):
            return self._fire(track, now)
        return [AlertEvent(EventKind.PENDING, occ, now)]

    def _fire(self, track: Track, now: float) -> list[AlertEvent]:
        occ = replace(track.occ, state=AlertState.FIRING, fired_at=now)
        occ = replace(
            occ,
            deadline=self._deadline(occ),
            suppressed_by=self._suppressor(track.rule),
            silenced_by=self._silence_for(occ, now),
        )
        track.bad()
        track.notify_after = now + self._wait(occ)
        sent: tuple[Notification, ...] = ()
        if self._policy.fire_due(occ, track.may_page(now)):
            occ, fire = self._policy.fire(occ, now)
            sent = (fire,)
        track.occ = occ
        return [AlertEvent(EventKind.FIRED, occ, now, notifications=sent)]

    def _resolve(self, track: Track, now: float) -> list[AlertEvent]:
        events = [self._close(track, now)]
        if track.warn is not None:
            events += self._open(track.rule, track.occ.probe, Level.WARN, track.warn, now)
        return events

    def _close(self, track: Track, now: float) -> AlertEvent:
        del self._tracks[(track.occ.rule, track.occ.probe)]
        return self._finish(track.occ, now)

    def _finish(self, occ: Occurrence, now: float, note: str = "") -> AlertEvent:
        """Resolve a firing occurrence, discard a pending one."""
        fired = occ.state is AlertState.FIRING
        done = replace(occ, state=AlertState.RESOLVED, resolved_at=now, deadline=None)
        kind = EventKind.RESOLVED if fired else EventKind.DISCARDED
        return AlertEvent(kind, done, now, note=note, notifications=self._policy.resolve(done, now))

    # -- the clock ----------------------------------------------------------------------

    def _advance(self, now: float) -> list[AlertEvent]:
        gone = "its rule or probe is no longer configured"
        events = [self._finish(occ, now, gone) for occ in self._orphans]
        self._orphans.clear()
        for track in sorted(self._tracks.values(), key=lambda t: self._depth[t.rule.name]):
            if track.occ.state is AlertState.PENDING and track.fire_ready(now):
                events += self._fire(track, now)
            elif track.occ.state is AlertState.FIRING and track.resolve_ready(now):
                events += self._resolve(track, now)
        self._silences = {
            s.id: s for s in self._silences.values() if s.lifted_at is None and s.ends_at > now
        }
        for track in self._tracks.values():
            events += self._reflag(track, now)
        for track in self._tracks.values():
            events += self._notify(track, now)
        return events

    def _reflag(self, track: Track, now: float, lifted_by: str | None = None) -> list[AlertEvent]:
        """Bring silenced_by and suppressed_by up to date, one event per change."""
        events: list[AlertEvent] = []
        occ = track.occ
        silence_id = self._silence_for(occ, now)
        if silence_id != occ.silenced_by:
            occ = replace(occ, silenced_by=silence_id)
            if silence_id is None:
                events.append(AlertEvent(EventKind.UNSILENCED, occ, now, lifted_by))
            else:
                silence = self._silences[silence_id]
                kind = EventKind.SILENCED
                events.append(AlertEvent(kind, occ, now, silence.author, silence.comment))
        parent = self._suppressor(track.rule)
        if parent != occ.suppressed_by:
            note = f"{parent or occ.suppressed_by} {'firing' if parent else 'no longer firing'}"
            occ = replace(occ, suppressed_by=parent)
            # Freed by its parent's recovery, a child is likely recovering too (its own
            # probe may not have reported since): it pages only on fresh evidence.
            track.held = parent is None
            kind = EventKind.SUPPRESSED if parent else EventKind.UNSUPPRESSED
            events.append(AlertEvent(kind, occ, now, note=note))
        track.occ = occ
        return events

    def _notify(self, track: Track, now: float) -> list[AlertEvent]:
        """FIRE once group_wait has passed, then ESCALATE and REPEAT when due."""
        policy = self._policy
        events: list[AlertEvent] = []
        if policy.fire_due(track.occ, track.may_page(now)):
            track.occ, sent = policy.fire(track.occ, now)
            events.append(AlertEvent(EventKind.NOTIFIED, track.occ, now, notifications=(sent,)))
        if policy.escalation_due(track.occ, now):
            track.occ, sent = policy.escalate(track.occ, now)
            events.append(AlertEvent(EventKind.ESCALATED, track.occ, now, notifications=(sent,)))
        if policy.repeat_due(track.occ, now):
            track.occ, sent = policy.repeat(track.occ, now)
            events.append(AlertEvent(EventKind.REPEATED, track.occ, now, notifications=(sent,)))
        return events

    # -- helpers ------------------------------------------------------------------------

    def _track(self, occurrence_id: str) -> Track:
        for track in self._tracks.values():
            if track.occ.id == occurrence_id:
                return track
        raise AlertError(f"no open alert with id {occurrence_id}")

    def _suppressor(self, rule: RuleConfig) -> str | None:
        parent = self._parents.get(rule.name)
        for track in self._tracks.values():
            if track.occ.rule == parent and track.occ.state is AlertState.FIRING:
                return parent
        return None

    def _silence_for(self, occ: Occurrence, now: float) -> str | None:
        """The silence covering an occurrence: its current one while that lasts, else the
        matching one that ends last (so "silenced until" is as informative as it gets)."""
        matching = [s for s in self._silences.values() if s.active(now) and s.matcher.matches(occ)]
        if any(s.id == occ.silenced_by for s in matching):
            return occ.silenced_by
        return max(matching, key=lambda s: (s.ends_at, s.id)).id if matching else None

    def _deadline(self, occ: Occurrence) -> float | None:
        limit = self._alerts.ack_deadline.get(occ.severity)
        if occ.fired_at is None or occ.degraded or occ.ack is not None or limit is None:
            return None
        return occ.fired_at + limit

    def _wait(self, occ: Occurrence) -> float:
        return float(self._alerts.group_wait.get(occ.severity, 0.0))


def _shown(occ: Occurrence, shown: Reading) -> Occurrence:
    return replace(occ, summary=shown.summary, value=shown.value, threshold=shown.threshold)


def _name(occ: Occurrence) -> str:
    return f"{occ.rule} on {occ.probe}"
