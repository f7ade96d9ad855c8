"""The notification outbox: what must reach Slack, persisted before it is sent.

Delivery is at-least-once with exactly one window for a duplicate: a holder that
dies after the webhook answered 200 but before `mark_delivered` committed. Its
claim expires after `claim_for` seconds and the row is claimed again. Everything
else (two processes, restarts, retries) is excluded by the unique key, the atomic
claim and marking delivered right after the answer.
"""

from __future__ import annotations

from collections.abc import Mapping

from console.alerts.model import Notification
from console.state.db import Database, loads_object
from console.state.records import OutboxRow

CLAIM_FOR = 120.0  # seconds; must exceed one HTTP attempt (timeout) by a wide margin

_OPEN = "delivered_at IS NULL AND failed_at IS NULL"


class Outbox(Database):
    def enqueue(self, notification: Notification, payload: Mapping[str, object]) -> bool:
        """Store a notification to send; False if one with this key already exists."""
        occ = notification.occurrence
        changed = self._execute(
            "INSERT OR IGNORE INTO outbox "
            "(key, kind, occurrence_id, severity, payload, created_at, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                notification.key,
                notification.kind.value,
                occ.id,
                occ.severity,
                self._json(payload),
                notification.created_at,
                notification.created_at,
            ),
        )
        return changed == 1

    def claim_due(
        self, holder: str, now: float, limit: int = 10, *, claim_for: float = CLAIM_FOR
    ) -> list[OutboxRow]:
        """Claim rows due at `now` for `holder`, most severe first.

        A row is not due while an older row of the same occurrence is still open, so
        a resolve never overtakes the fire it resolves. The select and the update
        are one IMMEDIATE transaction: no two claimers get the same row.
        """
        with self._transaction() as conn:
            rows = conn.execute(
                """
                UPDATE outbox SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1
                WHERE seq IN (
                    SELECT o.seq FROM outbox AS o
                    WHERE o.delivered_at IS NULL AND o.failed_at IS NULL
                      AND o.next_attempt_at <= ?
                      AND (o.claimed_until IS NULL OR o.claimed_until <= ?)
                      AND NOT EXISTS (
                          SELECT 1 FROM outbox AS e
                          WHERE e.occurrence_id = o.occurrence_id AND e.seq < o.seq
                            AND e.delivered_at IS NULL AND e.failed_at IS NULL
                      )
                    ORDER BY o.severity, o.next_attempt_at, o.seq
                    LIMIT ?
                )
                RETURNING *
                """,
                (holder, now + claim_for, now, now, limit),
            ).fetchall()
        # RETURNING gives rows in no particular order (and values before column affinity).
        rows.sort(key=lambda row: (row["severity"], row["next_attempt_at"], row["seq"]))
        return [
            OutboxRow(
                key=row["key"],
                kind=row["kind"],
                occurrence_id=row["occurrence_id"],
                severity=row["severity"],
                payload=loads_object(row["payload"]),
                created_at=float(row["created_at"]),
                attempts=row["attempts"],
                next_attempt_at=float(row["next_attempt_at"]),
                last_error=row["last_error"],
            )
            for row in rows
        ]

    def release_claim(self, key: str, holder: str) -> None:
        """Give a claimed row back unattempted (the claimer is stopping).

        Only `holder`'s own claim: one that expired and was taken by another
        holder stays theirs, or a third could claim and send the row beside them.
        """
        self._execute(
            "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL, attempts = attempts - 1 "
            "WHERE key = ? AND claimed_by = ? AND delivered_at IS NULL AND failed_at IS NULL",
            (key, holder),
        )

    def mark_delivered(self, key: str) -> None:
        self._finish(key, "delivered_at = :now, last_error = NULL", {})

    def mark_retry(self, key: str, next_attempt_at: float, error: str) -> None:
        self._finish(
            key,
            "next_attempt_at = :next, last_error = :error",
            {"next": next_attempt_at, "error": self._clean(error)},
        )

    def mark_failed(self, key: str, error: str) -> None:
        """Given up, or not retryable: the row is never claimed again."""
        self._finish(key, "failed_at = :now, last_error = :error", {"error": self._clean(error)})

    def _finish(self, key: str, assignments: str, params: Mapping[str, object]) -> None:
        self._execute(
            f"UPDATE outbox SET {assignments}, claimed_by = NULL, claimed_until = NULL, "
            "last_attempt_at = :now, "
            "finish_seq = (SELECT ifnull(max(finish_seq), 0) + 1 FROM outbox) WHERE key = :key",
            {"now": self.clock.now(), "key": key, **params},
        )

    def notification_health(self) -> str | None:
        """Health line ("notifications failing: <error>") while the newest attempt failed."""
        rows = self._query(
            "SELECT last_error FROM outbox WHERE finish_seq IS NOT NULL "
            "ORDER BY finish_seq DESC LIMIT 1"
        )
        if rows and rows[0]["last_error"]:
            return f"notifications failing: {rows[0]['last_error']}"
        return None

    def pending_notifications(self) -> int:
        return int(self._query(f"SELECT count(*) FROM outbox WHERE {_OPEN}")[0][0])
