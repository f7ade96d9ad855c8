"""Who hears about an occurrence, and when: the engine's notification decisions.

The policy only decides and builds `Notification`s; the outbox delivers them.
Keys are derived from persisted occurrence fields only, so an engine restored
after a crash produces the same key for the same notification and the outbox
refuses the duplicate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from console.alerts.model import AlertState, Notification, NotificationKind, Occurrence
from console.config.model import SEVERITIES, Severity


@dataclass(frozen=True, slots=True)
class NotifyPolicy:
    min_severity: Severity | None  # None: notifications are off
    repeat_interval: float  # 0: no repeats
    notify_acknowledged: bool
    channel_mentions: Mapping[Severity, str]  # severity -> "@here" and the like, on FIRE/REPEAT
    escalation_mentions: Mapping[Severity, str]  # severity -> who hears ESCALATE

    def allowed(self, severity: Severity) -> bool:
        """P0 > P1 > P2: only severities at or above the minimum page anyone."""
        if self.min_severity is None:
            return False
        return SEVERITIES.index(severity) <= SEVERITIES.index(self.min_severity)

    @staticmethod
    def muted(occ: Occurrence) -> bool:
        """Owned, silenced or behind a firing parent: nothing but RESOLVE/ACKNOWLEDGE."""
        return occ.ack is not None or occ.silenced_by is not None or occ.suppressed_by is not None

    def fire_due(self, occ: Occurrence, waited: bool) -> bool:
        """`waited`: group_wait has passed and nothing else holds the first page back."""
        return (
            _paging(occ)
            and not occ.notified
            and waited
            and self.allowed(occ.severity)
            and not self.muted(occ)
        )

    def repeat_due(self, occ: Occurrence, now: float) -> bool:
        return (
            _paging(occ)
            and occ.notified
            and self.repeat_interval > 0
            and occ.last_notified_at is not None
            and now >= occ.last_notified_at + self.repeat_interval
            and not self.muted(occ)
        )

    def escalation_due(self, occ: Occurrence, now: float) -> bool:
        # Once per occurrence, and only after someone was paged and did not acknowledge;
        # a silenced or suppressed occurrence escalates when it is neither any more.
        return (
            _paging(occ)
            and occ.notified
            and occ.escalated_at is None
            and occ.deadline is not None
            and now >= occ.deadline
            and not self.muted(occ)
        )

    def fire(self, occ: Occurrence, now: float) -> tuple[Occurrence, Notification]:
        sent = replace(occ, notified=True, last_notified_at=now)
        mentions = self.channel_mentions.get(occ.severity, "")
        return sent, Notification(f"{occ.id}:fire", NotificationKind.FIRE, sent, now, mentions)

    def repeat(self, occ: Occurrence, now: float) -> tuple[Occurrence, Notification]:
        # The sequence number is the repeat interval (counted from fired_at) of the page
        # this repeat follows: strictly increasing, since repeats are an interval apart.
        assert occ.last_notified_at is not None and occ.fired_at is not None
        number = math.floor((occ.last_notified_at - occ.fired_at) / self.repeat_interval) + 1
        sent = replace(occ, last_notified_at=now)
        mentions = self.channel_mentions.get(occ.severity, "")
        key = f"{occ.id}:repeat:{number}"
        return sent, Notification(key, NotificationKind.REPEAT, sent, now, mentions)

    def escalate(self, occ: Occurrence, now: float) -> tuple[Occurrence, Notification]:
        # The repeat cadence (last_notified_at) is the channel's; escalation goes elsewhere.
        sent = replace(occ, escalated_at=now)
        mentions = self.escalation_mentions.get(occ.severity, "")
        key = f"{occ.id}:escalate"
        return sent, Notification(key, NotificationKind.ESCALATE, sent, now, mentions)

    @staticmethod
    def resolve(occ: Occurrence, now: float) -> tuple[Notification, ...]:
        """Whoever heard FIRE hears RESOLVE, silenced, suppressed or acknowledged alike."""
        if not occ.notified:
            return ()
        return (Notification(f"{occ.id}:resolve", NotificationKind.RESOLVE, occ, now),)

    def acknowledge(self, occ: Occurrence, now: float) -> tuple[Notification, ...]:
        """Only a channel that heard FIRE is told who owns it, once per acknowledgement.

        The key carries the acknowledgement's time (persisted with it), so a restart
        never re-sends one, and an ack after an unack is news of its own.
        """
        if not (self.notify_acknowledged and occ.notified and occ.ack is not None):
            return ()
        key = f"{occ.id}:acknowledge:{occ.ack.by}:{int(occ.ack.at * 1000)}"
        return (Notification(key, NotificationKind.ACKNOWLEDGE, occ, now),)


def _paging(occ: Occurrence) -> bool:
    return occ.state is AlertState.FIRING and not occ.degraded
