"""Backups to a local directory, and retention on both kinds of destination."""

# ruff: noqa: F811 - fixtures imported from tests.test_backup_support are parameters here

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from console.actions.backup import BackupFailed, run_backup
from console.actions.catalog import new_stem
from console.actions.progress import Cancelled, CancelToken, Progress
from console.demo.cluster import ThrowawayCluster
from console.state.store import Store
from probes.backup_manifest import BackupManifest
from tests.fixtures.s3 import S3Bucket
from tests.test_backup_support import (  # noqa: F401 - fixtures
    SMALL_PART,
    big_dsn,
    kill_children,
    make_config,
    s3_config,
    s3_keys,
    store,
)

pytestmark = [pytest.mark.postgres]
DAY = 86400.0


def _files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_local_backup_is_a_dump_and_a_manifest_and_nothing_else(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    dest = tmp_path / "backups"
    dest.mkdir()
    outcome = run_backup(
        make_config(tmp_path, pg_dsn, str(dest), cluster=pg_cluster),
        store,
        lambda _p: None,
        CancelToken(),
        "alice",
    )
    stem = outcome.manifest.key.removesuffix(".dump")
    assert _files(dest) == [f"{stem}.dump", f"{stem}.manifest.json"]
    manifest = BackupManifest.from_json((dest / f"{stem}.manifest.json").read_bytes())
    assert manifest.verification == "verified"
    assert hashlib.sha256((dest / outcome.manifest.key).read_bytes()).hexdigest() == manifest.sha256


def test_a_missing_directory_is_refused_not_created(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    missing = tmp_path / "unmounted"
    config = make_config(tmp_path, pg_dsn, str(missing), cluster=pg_cluster)
    with pytest.raises(BackupFailed, match="unmounted does not exist"):
        run_backup(config, store, lambda _p: None, CancelToken(), "alice")
    assert not missing.exists()


@pytest.mark.parametrize("how", ["kill", "cancel"])
def test_an_interrupted_local_backup_leaves_no_file(
    how: str, tmp_path: Path, big_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    dest = tmp_path / "backups"
    dest.mkdir()
    config = make_config(tmp_path, big_dsn, str(dest), cluster=pg_cluster, part_size=SMALL_PART)
    cancel = CancelToken()

    def progress(p: Progress) -> None:
        if p.phase == "upload" and p.bytes_done >= SMALL_PART:
            if how == "kill":
                kill_children("pg_dump")
            else:
                cancel.cancel()

    with pytest.raises(Cancelled if how == "cancel" else BackupFailed):
        run_backup(config, store, progress, cancel, "alice")
    assert _files(dest) == []  # not even the temp file


def test_a_truncated_local_file_fails_verification(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, store: Store
) -> None:
    dest = tmp_path / "backups"
    dest.mkdir()

    def progress(p: Progress) -> None:
        if p.phase == "verify" and p.bytes_done == 0:
            [dump] = dest.glob("*.dump")
            with dump.open("r+b") as handle:
                handle.truncate(dump.stat().st_size - 100)

    config = make_config(tmp_path, pg_dsn, str(dest), cluster=pg_cluster)
    with pytest.raises(BackupFailed, match="failed verification: stored size"):
        run_backup(config, store, progress, CancelToken(), "alice")
    [manifest_file] = dest.glob("*.manifest.json")
    assert BackupManifest.from_json(manifest_file.read_bytes()).verification == "failed"


def _plant(
    write: Callable[[str, bytes], None], age_days: float, verification: str | None, now: float
) -> str:
    """A fake old backup (tiny dump + manifest) written straight to the destination."""
    started = now - age_days * DAY
    stem = new_stem("main", started)
    write(f"{stem}.dump", b"PGDMP old")
    if verification is not None:
        manifest = BackupManifest(
            key=f"{stem}.dump",
            database="main",
            size=9,
            sha256="0" * 64,
            server_version="15.0",
            pg_dump_version="15.0",
            started_at=started,
            finished_at=started + 1,
            verification=verification,  # type: ignore[arg-type]
        )
        write(f"{stem}.manifest.json", manifest.to_json())
    return stem


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_retention_after_a_verified_backup(
    kind: str,
    tmp_path: Path,
    pg_dsn: str,
    pg_cluster: ThrowawayCluster,
    s3_bucket: S3Bucket,
    store: Store,
) -> None:
    now = time.time()
    if kind == "local":
        dest = tmp_path / "backups"
        dest.mkdir()
        config = make_config(tmp_path, pg_dsn, str(dest), cluster=pg_cluster, keep_min=2)

        def put(key: str, data: bytes) -> None:
            (dest / key).write_bytes(data)

        def listing() -> list[str]:
            return _files(dest)
    else:
        config = s3_config(tmp_path, pg_dsn, s3_bucket, pg_cluster, keep_min=2)

        def put(key: str, data: bytes) -> None:
            s3_bucket.put("backups/" + key, data)

        def listing() -> list[str]:
            return [k.removeprefix("backups/") for k in s3_keys(s3_bucket, "backups/")]

    old_verified = _plant(put, 100, "verified", now)
    old_failed = _plant(put, 60, "failed", now)
    orphan = _plant(put, 50, None, now)  # a dump whose manifest never came
    kept_verified = _plant(put, 40, "verified", now)  # old, but one of the newest two verified
    young_failed = _plant(put, 3, "failed", now)
    other_db = "warroom-other-20200101T000000Z.dump"  # another database's: not ours to judge
    put(other_db, b"x")

    outcome = run_backup(config, store, lambda _p: None, CancelToken(), "alice")

    assert set(outcome.deleted) == {old_verified, old_failed, orphan}
    remaining = listing()
    for stem in (old_verified, old_failed, orphan):
        assert not any(name.startswith(stem) for name in remaining)
    for stem in (kept_verified, young_failed, outcome.manifest.key.removesuffix(".dump")):
        assert f"{stem}.dump" in remaining
    assert other_db in remaining
    deletions = [e for e in store.audit_entries() if e.action == "backup.delete"]
    assert {e.target for e in deletions} == set(outcome.deleted)
    assert all(e.outcome == "ok" and e.actor == "alice" for e in deletions)
    assert any("incomplete" in str(e.detail) for e in deletions)
