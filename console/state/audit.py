"""The event log (alert lifecycle) and the audit log (every operator action)."""

from __future__ import annotations

from collections.abc import Mapping

from console.alerts.model import AlertEvent
from console.state.db import Database, loads_object
from console.state.records import AuditEntry, EventRecord


class AuditLog(Database):
    def record_event(self, event: AlertEvent) -> None:
        occ = event.occurrence
        self._execute(
            "INSERT INTO events (at, kind, occurrence_id, rule, probe, severity, actor, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.at,
                event.kind.value,
                occ.id,
                occ.rule,
                occ.probe,
                occ.severity,
                event.actor,
                self._clean(event.note),
            ),
        )

    def events(self, limit: int = 100) -> list[EventRecord]:
        """Newest first."""
        rows = self._query("SELECT * FROM events ORDER BY at DESC, id DESC LIMIT ?", (limit,))
        return [
            EventRecord(
                id=row["id"],
                at=row["at"],
                kind=row["kind"],
                occurrence_id=row["occurrence_id"],
                rule=row["rule"],
                probe=row["probe"],
                severity=row["severity"],
                actor=row["actor"],
                note=row["note"],
            )
            for row in rows
        ]

    def audit(
        self,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        detail: Mapping[str, object] | None = None,
    ) -> None:
        """Record an operator action; Secrets in `detail` are stored masked, text scrubbed."""
        self._execute(
            "INSERT INTO audit (at, actor, action, target, outcome, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.clock.now(),
                self._clean(actor),
                action,
                self._clean(target),
                self._clean(outcome),
                self._json(detail or {}),
            ),
        )

    def audit_entries(self, limit: int = 200) -> list[AuditEntry]:
        """Newest first."""
        rows = self._query("SELECT * FROM audit ORDER BY at DESC, id DESC LIMIT ?", (limit,))
        return [
            AuditEntry(
                id=row["id"],
                at=row["at"],
                actor=row["actor"],
                action=row["action"],
                target=row["target"],
                outcome=row["outcome"],
                detail=loads_object(row["detail"]),
            )
            for row in rows
        ]
