"""Backup and drill through the Monitor, as the console's `b` and `R` run them: real
pg_dump/pg_restore, a local backup directory, the real store; progress arrives on
the loop, outcomes are audited, the status probe sees the result, cancel is clean."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.actions.progress import Cancelled, CancelToken, Progress
from console.clock import SystemClock
from console.demo.cluster import ThrowawayCluster
from console.monitor import Monitor
from probes.backups import BackupStatusProbe
from tests.test_backup_support import make_config


@pytest.fixture
def monitor(tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster) -> Monitor:
    backups = tmp_path / "backups"
    backups.mkdir()
    config = make_config(tmp_path, pg_dsn, str(backups), cluster=pg_cluster)
    assert config.backup is not None
    status = BackupStatusProbe(config.backup, config.drill)
    return Monitor(config, [status], clock=SystemClock())


async def test_backup_then_drill_from_the_console_path(monitor: Monitor) -> None:
    await monitor.start()
    try:
        updates: list[Progress] = []
        summary = await monitor.run_backup(updates.append, CancelToken())
        assert "verified" in summary
        assert {u.phase for u in updates} >= {"upload", "verify"}
        views = {v.action: v for v in monitor.snapshot().actions}
        assert views["backup"].running is False and views["backup"].last_ok is True

        summary = await monitor.run_drill(updates.append, CancelToken())
        assert summary.startswith("restored") and "RTO" in summary
        audit = [(a.action, a.outcome) for a in monitor.store.audit_entries()]
        assert any(action == "backup" for action, _ in audit)
        assert any(action == "drill" for action, _ in audit)

        await monitor.check_once()
        metrics = monitor.snapshot().probe("backups").last.metrics  # type: ignore[union-attr]
        assert metrics["newest_verified"] is True and metrics["drill_ok"] is True
    finally:
        await monitor.stop()


async def test_cancelled_backup_leaves_nothing_and_says_so(monitor: Monitor) -> None:
    await monitor.start()
    try:
        cancel = CancelToken()

        def on_progress(update: Progress) -> None:
            if update.phase == "upload":
                cancel.cancel()

        with pytest.raises(Cancelled):
            await monitor.run_backup(on_progress, cancel)
        assert monitor.config.backup is not None
        assert list(Path(monitor.config.backup.destination).iterdir()) == []
        views = {v.action: v for v in monitor.snapshot().actions}
        assert views["backup"].last_outcome == "cancelled"
        await asyncio.sleep(0)
    finally:
        await monitor.stop()
