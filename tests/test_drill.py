"""Restore drills against the throwaway cluster: success, detection of damage and loss, safety."""

# ruff: noqa: F811 - fixtures imported from tests.test_backup_support are parameters here

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from console.actions.backup import run_backup
from console.actions.drill import DrillFailed, cleanup, run_drill
from console.actions.progress import Cancelled, CancelToken, Progress
from console.actions.scratch import scratch_name
from console.config.model import Config, Duration
from console.config.secret import Secret
from console.demo.cluster import ThrowawayCluster, free_port
from console.state.store import Store
from probes.backup_manifest import DrillReport
from tests.fixtures.s3 import S3Bucket
from tests.test_backup_support import (  # noqa: F401 - fixtures
    big_dsn,
    children_named,
    count,
    database_exists,
    drop_database,
    make_config,
    s3_config,
    s3_keys,
    store,
)

pytestmark = [pytest.mark.postgres]
FIXED = 1_700_000_000.0  # a clock for drills whose scratch name the test must know


def _quiet(_p: Progress) -> None:
    pass


def _backed_up(config: Config, store: Store) -> str:
    return run_backup(config, store, _quiet, CancelToken(), "alice").manifest.key


def _local(tmp_path: Path, dsn: str, cluster: ThrowawayCluster, **kw: Any) -> Config:
    dest = tmp_path / "backups"
    dest.mkdir(exist_ok=True)
    return make_config(tmp_path, dsn, str(dest), cluster=cluster, **kw)


def _reports(tmp_path: Path) -> list[DrillReport]:
    return [DrillReport.from_json(p.read_bytes()) for p in (tmp_path / "backups/drills").glob("*")]


def _drill_temp_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("warroom-drill-*"))


def _at_phase(phase: str, action: Callable[[], None]) -> Callable[[Progress], None]:
    done: list[bool] = []

    def callback(p: Progress) -> None:
        if p.phase == phase and not done:
            done.append(True)
            action()

    return callback


def test_drill_restores_the_newest_verified_backup_and_reports(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    config = s3_config(tmp_path, pg_dsn, s3_bucket, pg_cluster, drill={"amcheck": True})
    key = _backed_up(config, store)
    temp_before = _drill_temp_dirs()
    phases: list[str] = []
    outcome = run_drill(config, store, lambda p: phases.append(p.phase), CancelToken(), "bob")

    report = outcome.report
    assert report.ok and report.error is None and report.backup_key == key
    assert set(report.phases) == {"download", "restore", "check"}
    assert 0 < report.rto <= report.rto_target == 300
    [report_key] = s3_keys(s3_bucket, "backups/drills/")
    body = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=report_key)["Body"].read()
    assert DrillReport.from_json(body) == report
    assert not database_exists(pg_cluster, report.database)
    assert store.scratch_databases() == []
    [record] = store.drills()
    assert record.ok and record.backup_key == key
    assert {"download", "restore", "check", "cleanup", "done"} <= set(phases)
    assert _drill_temp_dirs() == temp_before
    assert "verified: RTO" in outcome.summary


def test_keep_leaves_the_restored_database_until_cleanup(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    config = _local(tmp_path, pg_dsn, pg_cluster)
    _backed_up(config, store)
    outcome = run_drill(config, store, _quiet, CancelToken(), "bob", keep=True)
    name = outcome.report.database
    assert outcome.kept and count(pg_cluster, name, "users") == count(pg_cluster, "app", "users")
    assert cleanup(config, store, "bob") == [name]
    assert not database_exists(pg_cluster, name)


def test_a_tampered_backup_fails_the_drill(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    config = _local(tmp_path, pg_dsn, pg_cluster)
    dump = tmp_path / "backups" / _backed_up(config, store)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size, one bit: only the checksum can tell
    dump.write_bytes(bytes(data))

    with pytest.raises(DrillFailed, match="does not match its manifest") as caught:
        run_drill(config, store, _quiet, CancelToken(), "bob")
    [report] = _reports(tmp_path)
    assert not report.ok and report == caught.value.report
    assert not database_exists(pg_cluster, report.database)
    assert not store.drills()[0].ok


def test_rows_and_tables_lost_in_the_restore_are_detected(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    config = _local(tmp_path, pg_dsn, pg_cluster, drill={"keep": True})
    _backed_up(config, store)
    name = scratch_name(FIXED)

    def lose_data() -> None:
        # What a broken restore looks like from the inside: rows and a table gone.
        with pg_cluster.connect(name) as conn:
            conn.execute("DELETE FROM support_tickets WHERE id % 2 = 0")
            conn.execute("DROP TABLE events")

    progress = _at_phase("check", lose_data)
    try:
        with pytest.raises(DrillFailed) as caught:
            run_drill(config, store, progress, CancelToken(), "bob", clock=lambda: FIXED)
        message = str(caught.value)
        assert "tables missing after restore: public.events" in message
        assert "support_tickets: 3 rows restored, 5 in the backup" in message
        assert "events: no table restored" in message
    finally:
        cleanup(config, store, "bob")


def test_drill_refuses_an_existing_database_and_never_drops_it(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    config = _local(tmp_path, pg_dsn, pg_cluster)
    _backed_up(config, store)
    name = scratch_name(FIXED)
    with pg_cluster.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with pytest.raises(DrillFailed, match="already exists"):
            run_drill(config, store, _quiet, CancelToken(), "bob", clock=lambda: FIXED)
        assert database_exists(pg_cluster, name)
        assert store.scratch_databases() == []
        assert cleanup(config, store, "bob") == []
        assert database_exists(pg_cluster, name)
    finally:
        drop_database(pg_cluster, name)


def test_a_crashed_drill_is_cleaned_up_by_the_next_and_strangers_are_left_alone(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    config = _local(tmp_path, pg_dsn, pg_cluster)
    _backed_up(config, store)
    crashed, stranger = scratch_name(FIXED - 86400), scratch_name(FIXED - 3600)
    # The crash: registered and created, then the process died before dropping it.
    store.register_scratch_database(crashed, f"localhost:{pg_cluster.port}")
    with pg_cluster.connect() as conn:
        conn.execute(f'CREATE DATABASE "{crashed}"')
        conn.execute(f'CREATE DATABASE "{stranger}"')  # same pattern, never registered
    try:
        outcome = run_drill(config, store, _quiet, CancelToken(), "bob")
        assert outcome.leftovers == (crashed,)
        assert not database_exists(pg_cluster, crashed)
        assert database_exists(pg_cluster, stranger)
        assert any(
            e.action == "drill.cleanup" and e.target == crashed for e in store.audit_entries()
        )
    finally:
        drop_database(pg_cluster, stranger)


def test_cancel_during_restore_stops_pg_restore_and_drops_everything(
    tmp_path: Path, big_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    config = _local(tmp_path, big_dsn, pg_cluster, critical=("blobs",))
    _backed_up(config, store)
    cancel = CancelToken()
    temp_before = _drill_temp_dirs()
    with pytest.raises(Cancelled):
        run_drill(
            config, store, _at_phase("restore", cancel.cancel), cancel, "bob", clock=lambda: FIXED
        )
    assert not database_exists(pg_cluster, scratch_name(FIXED))
    assert store.scratch_databases() == []
    assert children_named("pg_restore") == []
    assert _drill_temp_dirs() == temp_before


def test_an_rto_breach_fails_the_drill_with_a_report(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    config = _local(tmp_path, pg_dsn, pg_cluster, drill={"rto_target": Duration(0.001)})
    _backed_up(config, store)
    with pytest.raises(DrillFailed, match=r"RTO \d+\.\ds exceeds the target 0s"):
        run_drill(config, store, _quiet, CancelToken(), "bob")
    [report] = _reports(tmp_path)
    assert not report.ok and report.rto > report.rto_target


def test_no_verified_backup_is_a_failed_drill(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    config = _local(tmp_path, pg_dsn, pg_cluster)
    with pytest.raises(DrillFailed, match="no verified backup of main"):
        run_drill(config, store, _quiet, CancelToken(), "bob")
    [report] = _reports(tmp_path)
    assert not report.ok and report.backup_key == ""


def test_drill_refuses_the_production_server_and_database(
    tmp_path: Path, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    config = _local(tmp_path, pg_cluster.dsn("app"), pg_cluster, drill={"allow_same_server": False})
    with pytest.raises(DrillFailed, match="is the production server"):
        run_drill(config, store, _quiet, CancelToken(), "bob")
    # Allowed on the same server, but the scratch name is the production database's own.
    production = pg_cluster.dsn(scratch_name(FIXED))
    config = _local(tmp_path, production, pg_cluster)
    with pytest.raises(DrillFailed, match="refusing to restore into the production database"):
        run_drill(config, store, _quiet, CancelToken(), "bob", clock=lambda: FIXED)
    assert store.scratch_databases() == [] and _reports(tmp_path) == []


def test_an_unreachable_drill_server_is_a_failed_drill_with_a_report(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    config = _local(tmp_path, pg_dsn, pg_cluster, drill={"target_dsn": Secret(nobody)})
    _backed_up(config, store)
    with pytest.raises(DrillFailed, match=r"drill failed: .*connect"):
        run_drill(config, store, _quiet, CancelToken(), "bob")
    [report] = _reports(tmp_path)
    assert not report.ok and "connect" in (report.error or "")


async def test_the_status_probe_reads_what_backup_and_drill_write(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    """The contract with probes/backups.py: manifests and drill reports as it expects them."""
    from probes.backups import BackupStatusProbe

    config = _local(tmp_path, pg_dsn, pg_cluster)
    _backed_up(config, store)
    run_drill(config, store, _quiet, CancelToken(), "bob")
    assert config.backup is not None
    probe = BackupStatusProbe(config.backup, config.drill)
    try:
        result = await probe.run()
    finally:
        await probe.close()
    metrics = result.metrics
    assert metrics["newest_verified"] is True and metrics["drill_ok"] is True
    assert metrics["newest_verification_failed"] is False
    assert 0 < float(metrics["drill_rto"]) < float(metrics["rto_target"])  # type: ignore[arg-type]
