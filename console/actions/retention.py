"""Retention: delete backups older than `retention_days`, never the newest `keep_min` verified ones.

The newest verified backup is always kept, whatever the configuration says,
so retention can never leave the database without a restorable backup.
Incomplete and failed backups age out like any other. Each deletion is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from console.actions.catalog import StoredBackup
from console.actions.destinations import Destination

DAY = 86400.0


class AuditStore(Protocol):
    def audit(
        self,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        detail: Mapping[str, object] | None = None,
    ) -> object: ...


def plan_retention(
    backups: Sequence[StoredBackup], now: float, retention_days: int, keep_min: int
) -> list[StoredBackup]:
    """The backups to delete (pure)."""
    verified = sorted((b for b in backups if b.verified), key=lambda b: b.info.started_at)
    keep = {b.info.stem for b in verified[-max(1, keep_min) :]}
    cutoff = now - retention_days * DAY
    return [b for b in backups if b.info.started_at < cutoff and b.info.stem not in keep]


def _reason(backup: StoredBackup, retention_days: int) -> str:
    state = "incomplete" if backup.manifest is None else backup.manifest.verification
    return f"{state}, older than {retention_days} days"


def apply_retention(
    destination: Destination,
    store: AuditStore,
    operator: str,
    doomed: Sequence[StoredBackup],
    retention_days: int,
) -> list[str]:
    """Delete each doomed backup, manifest first (it stops being listed as a backup at once)."""
    deleted: list[str] = []
    for backup in doomed:
        reason = _reason(backup, retention_days)
        try:
            if backup.has_manifest:
                destination.delete(backup.manifest_key)
            if backup.has_dump:
                destination.delete(backup.dump_key)
        except Exception as exc:
            detail = {"reason": reason, "error": str(exc)}
            store.audit(operator, "backup.delete", backup.info.stem, "failed", detail)
            raise
        store.audit(operator, "backup.delete", backup.info.stem, "ok", {"reason": reason})
        deleted.append(backup.info.stem)
    return deleted
