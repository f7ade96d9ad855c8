"""Durable console state in one SQLite file: alerts, acks, silences, intents, audit,
the notification outbox, leases, backups and drills.

`Store.open(path)` is the only way in; see `console.state.db` for the threading and
durability rules every method follows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from console.alerts.model import Acknowledgement, AlertState, Matcher, Occurrence, Silence
from console.clock import Clock, SystemClock
from console.config.model import Config, Severity
from console.state.audit import AuditLog
from console.state.db import Database, connect, loads_object
from console.state.migrations import migrate
from console.state.operations import Operations
from console.state.outbox import Outbox
from console.state.records import (
    INTENT_KINDS,
    AmbiguousIdError,
    Intent,
    IntentKind,
    StateError,
)
from probes.result import MetricValue

MIN_PREFIX = 6
ENGINE_LEASE = "engine"  # held by the one process that runs the alert engine and notifier

_OCCURRENCE_COLUMNS = (
    "id, rule, probe, severity, state, summary, started_at, fired_at, resolved_at, value, "
    "threshold, degraded, ack_by, ack_at, ack_note, deadline, escalated_at, notified, "
    "last_notified_at, silenced_by, suppressed_by"
)


class Store(Outbox, AuditLog, Operations, Database):
    @classmethod
    def open(cls, path: Path, clock: Clock | None = None) -> Store:
        """Open or create the state file, migrating it forward; StateError if unusable."""
        path = Path(path).expanduser()
        try:
            conn = connect(path)
        except OSError as exc:
            raise StateError(f"{path}: cannot open state file: {exc.strerror or exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path}: cannot open state file: {exc}") from None
        try:
            migrate(conn, path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StateError(f"{path}: not a usable state file: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, clock or SystemClock())

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- alert occurrences ---------------------------------------------------------

    def save_occurrence(self, occ: Occurrence) -> None:
        ack = occ.ack
        self._execute(
            f"INSERT OR REPLACE INTO occurrences ({_OCCURRENCE_COLUMNS}) "
            f"VALUES ({', '.join('?' * 21)})",
            (
                occ.id,
                occ.rule,
                occ.probe,
                occ.severity,
                occ.state.value,
                self._clean(occ.summary),
                occ.started_at,
                occ.fired_at,
                occ.resolved_at,
                self._json(occ.value),
                self._json(occ.threshold),
                occ.degraded,
                ack.by if ack else None,
                ack.at if ack else None,
                self._clean(ack.note) if ack else None,
                occ.deadline,
                occ.escalated_at,
                occ.notified,
                occ.last_notified_at,
                occ.silenced_by,
                occ.suppressed_by,
            ),
        )

    def open_occurrences(self) -> list[Occurrence]:
        """Pending and firing occurrences, P0 first, then oldest first."""
        rows = self._query(
            f"SELECT {_OCCURRENCE_COLUMNS} FROM occurrences WHERE state != 'resolved' "
            "ORDER BY severity, started_at, id"
        )
        return [_occurrence(row) for row in rows]

    def occurrence(self, occurrence_id: str) -> Occurrence | None:
        """By id, or by a unique prefix of at least MIN_PREFIX characters.

        Raises AmbiguousIdError when a prefix matches several occurrences.
        """
        rows = self._query(
            f"SELECT {_OCCURRENCE_COLUMNS} FROM occurrences WHERE id = ?", (occurrence_id,)
        )
        if not rows and len(occurrence_id) >= MIN_PREFIX:
            pattern = occurrence_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = self._query(
                f"SELECT {_OCCURRENCE_COLUMNS} FROM occurrences "
                "WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 3",
                (pattern + "%",),
            )
            if len(rows) > 1:
                ids = ", ".join(row["id"] for row in rows)
                raise AmbiguousIdError(f'"{occurrence_id}" matches several alerts ({ids}, ...)')
        return _occurrence(rows[0]) if rows else None

    def recent_occurrences(self, limit: int = 200) -> list[Occurrence]:
        """Newest first, resolved ones included."""
        rows = self._query(
            f"SELECT {_OCCURRENCE_COLUMNS} FROM occurrences "
            "ORDER BY started_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [_occurrence(row) for row in rows]

    # -- silences ------------------------------------------------------------------

    def save_silence(self, s: Silence) -> None:
        self._execute(
            "INSERT OR REPLACE INTO silences "
            "(id, rule, probe, severity, starts_at, ends_at, author, comment, lifted_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s.id,
                s.matcher.rule,
                s.matcher.probe,
                s.matcher.severity,
                s.starts_at,
                s.ends_at,
                s.author,
                self._clean(s.comment),
                s.lifted_at,
            ),
        )

    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        """Every silence, newest first; only those in force at `active_at` if given."""
        if active_at is None:
            rows = self._query("SELECT * FROM silences ORDER BY starts_at DESC, id")
        else:
            rows = self._query(
                "SELECT * FROM silences WHERE lifted_at IS NULL AND starts_at <= ? "
                "AND ends_at > ? ORDER BY starts_at DESC, id",
                (active_at, active_at),
            )
        return [
            Silence(
                id=row["id"],
                matcher=Matcher(rule=row["rule"], probe=row["probe"], severity=row["severity"]),
                starts_at=row["starts_at"],
                ends_at=row["ends_at"],
                author=row["author"],
                comment=row["comment"],
                lifted_at=row["lifted_at"],
            )
            for row in rows
        ]

    # -- operator intents ----------------------------------------------------------

    def add_intent(
        self,
        kind: IntentKind,
        target: str,
        author: str,
        note: str = "",
        payload: Mapping[str, object] | None = None,
    ) -> int:
        if kind not in INTENT_KINDS:
            raise ValueError(f"unknown intent kind {kind!r}")
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO intents (kind, target, author, note, payload, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    target,
                    author,
                    self._clean(note),
                    self._json(payload or {}),
                    self.clock.now(),
                ),
            )
        return cast(int, cursor.lastrowid)

    def pending_intents(self) -> list[Intent]:
        """Not yet applied, oldest first (the order operators gave them)."""
        rows = self._query("SELECT * FROM intents WHERE applied_at IS NULL ORDER BY id")
        return [
            Intent(
                id=row["id"],
                kind=row["kind"],
                target=row["target"],
                author=row["author"],
                note=row["note"],
                payload=loads_object(row["payload"]),
                created_at=row["created_at"],
            )
            for row in rows
        ]

    def mark_intent_applied(self, intent_id: int, outcome: str) -> None:
        self._execute(
            "UPDATE intents SET applied_at = ?, outcome = ? WHERE id = ?",
            (self.clock.now(), self._clean(outcome), intent_id),
        )

    # -- leases --------------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Take the lease if free or expired, renew it if `holder` has it; True if held."""
        now = self.clock.now()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT holder, expires_at FROM leases WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and row["holder"] != holder and row["expires_at"] > now:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO leases (name, holder, expires_at) VALUES (?, ?, ?)",
                (name, holder, now + ttl),
            )
        return True

    def release_lease(self, name: str, holder: str) -> None:
        self._execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    def lease_holder(self, name: str) -> str | None:
        rows = self._query(
            "SELECT holder FROM leases WHERE name = ? AND expires_at > ?",
            (name, self.clock.now()),
        )
        return str(rows[0]["holder"]) if rows else None


def open_store(config: Config, clock: Clock | None = None) -> Store:
    """The configured state file, with every configured secret registered for scrubbing."""
    store = Store.open(config.console.state_path, clock)
    store.register_secrets(config.secrets())
    return store


def _metric(text: str) -> MetricValue:
    return cast(MetricValue, json.loads(text))


def _occurrence(row: sqlite3.Row) -> Occurrence:
    ack = (
        Acknowledgement(by=row["ack_by"], at=row["ack_at"], note=row["ack_note"] or "")
        if row["ack_by"] is not None
        else None
    )
    return Occurrence(
        id=row["id"],
        rule=row["rule"],
        probe=row["probe"],
        severity=cast(Severity, row["severity"]),
        state=AlertState(row["state"]),
        summary=row["summary"],
        started_at=row["started_at"],
        fired_at=row["fired_at"],
        resolved_at=row["resolved_at"],
        value=_metric(row["value"]),
        threshold=_metric(row["threshold"]),
        degraded=bool(row["degraded"]),
        ack=ack,
        deadline=row["deadline"],
        escalated_at=row["escalated_at"],
        notified=bool(row["notified"]),
        last_notified_at=row["last_notified_at"],
        silenced_by=row["silenced_by"],
        suppressed_by=row["suppressed_by"],
    )
