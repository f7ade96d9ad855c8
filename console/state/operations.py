"""Records of remediation work: backups, restore drills, their scratch databases, and
the go-live checklist's manual ticks."""

from __future__ import annotations

import json
from collections.abc import Mapping

from console.state.db import Database
from console.state.records import BackupRecord, ChecklistTick, DrillRecord


class Operations(Database):
    def record_backup(
        self,
        key: str,
        database: str,
        outcome: str,
        size: int | None,
        sha256: str | None,
        started_at: float,
        finished_at: float,
        error: str | None,
    ) -> None:
        """Insert or update (by key) one backup's outcome."""
        self._execute(
            "INSERT OR REPLACE INTO backups "
            "(key, database, outcome, size, sha256, started_at, finished_at, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, database, outcome, size, sha256, started_at, finished_at, self._clean_opt(error)),
        )

    def backups(self, limit: int = 20) -> list[BackupRecord]:
        """Newest first."""
        rows = self._query(
            "SELECT * FROM backups ORDER BY started_at DESC, key DESC LIMIT ?", (limit,)
        )
        return [
            BackupRecord(
                key=row["key"],
                database=row["database"],
                outcome=row["outcome"],
                size=row["size"],
                sha256=row["sha256"],
                started_at=row["started_at"],
                finished_at=row["finished_at"],
                error=row["error"],
            )
            for row in rows
        ]

    def record_drill(
        self,
        backup_key: str,
        database: str,
        ok: bool,
        rto: float | None,
        phases: Mapping[str, float],
        error: str | None,
        started_at: float,
        finished_at: float,
    ) -> None:
        self._execute(
            "INSERT INTO drills "
            "(backup_key, database, ok, rto, phases, error, started_at, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                backup_key,
                database,
                ok,
                rto,
                self._json(phases),
                self._clean_opt(error),
                started_at,
                finished_at,
            ),
        )

    def drills(self, limit: int = 20) -> list[DrillRecord]:
        """Newest first."""
        rows = self._query(
            "SELECT * FROM drills ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)
        )
        return [
            DrillRecord(
                id=row["id"],
                backup_key=row["backup_key"],
                database=row["database"],
                ok=bool(row["ok"]),
                rto=row["rto"],
                phases={str(k): float(v) for k, v in json.loads(row["phases"]).items()},
                error=row["error"],
                started_at=row["started_at"],
                finished_at=row["finished_at"],
            )
            for row in rows
        ]

    def register_scratch_database(self, name: str, server: str) -> None:
        """Call BEFORE creating it, so a crash mid-drill still leaves it findable."""
        self._execute(
            "INSERT OR REPLACE INTO scratch_databases (name, server, registered_at) "
            "VALUES (?, ?, ?)",
            (name, self._clean(server), self.clock.now()),
        )

    def scratch_databases(self, server: str | None = None) -> list[str]:
        """Registered and not yet forgotten, oldest first; on `server` if given."""
        if server is None:
            rows = self._query("SELECT name FROM scratch_databases ORDER BY registered_at, name")
        else:
            rows = self._query(
                "SELECT name FROM scratch_databases WHERE server = ? ORDER BY registered_at, name",
                (self._clean(server),),
            )
        return [str(row["name"]) for row in rows]

    def forget_scratch_database(self, name: str) -> None:
        self._execute("DELETE FROM scratch_databases WHERE name = ?", (name,))

    def set_checklist_item(self, item_id: str, ticked: bool, by: str) -> None:
        self._execute(
            "INSERT OR REPLACE INTO checklist (item_id, ticked, by, at) VALUES (?, ?, ?, ?)",
            (item_id, ticked, by, self.clock.now()),
        )

    def checklist_items(self) -> dict[str, ChecklistTick]:
        rows = self._query("SELECT * FROM checklist ORDER BY item_id")
        return {
            row["item_id"]: ChecklistTick(
                item_id=row["item_id"], ticked=bool(row["ticked"]), by=row["by"], at=row["at"]
            )
            for row in rows
        }
