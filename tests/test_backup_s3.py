"""Backups to S3 (moto's server on loopback) from the throwaway cluster: success and every failure.

Each failure must leave no object, no manifest and no in-progress multipart upload.
"""

# ruff: noqa: F811 - fixtures imported from tests.test_backup_support are parameters here

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from console.actions.backup import BackupFailed, run_backup
from console.actions.catalog import new_stem
from console.actions.progress import Cancelled, CancelToken, Progress
from console.demo.cluster import ThrowawayCluster
from console.state.store import Store
from probes.backup_manifest import BackupManifest
from tests.fixtures.s3 import S3Bucket
from tests.test_backup_support import (  # noqa: F401 - fixtures
    BIG_ROWS,
    SMALL_PART,
    assert_nothing_left,
    big_dsn,
    children_named,
    count,
    kill_children,
    make_config,
    s3_config,
    s3_keys,
    s3_uploads,
    store,
)

pytestmark = [pytest.mark.postgres]
PREFIX = "backups/"


def _manifest(bucket: S3Bucket) -> BackupManifest:
    [key] = [k for k in s3_keys(bucket) if k.endswith(".manifest.json")]
    body = bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read()
    return BackupManifest.from_json(body)


def _object(bucket: S3Bucket, key: str) -> bytes:
    data: bytes = bucket.client.get_object(Bucket=bucket.name, Key=PREFIX + key)["Body"].read()
    return data


def _on_upload(after: int, action: Callable[[], None]) -> Callable[[Progress], None]:
    """A progress callback running `action` once, when `after` bytes have been dumped."""
    fired: list[Progress] = []

    def callback(p: Progress) -> None:
        if p.phase == "upload" and p.bytes_done >= after and not fired:
            fired.append(p)
            action()

    return callback


def test_backup_streams_a_verified_dump_with_snapshot_counts(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    config = s3_config(tmp_path, pg_dsn, s3_bucket, pg_cluster)
    phases: list[str] = []
    outcome = run_backup(config, store, lambda p: phases.append(p.phase), CancelToken(), "alice")

    manifest = _manifest(s3_bucket)
    assert manifest == outcome.manifest
    assert manifest.verification == "verified" and manifest.verification_error is None
    dump = _object(s3_bucket, manifest.key)
    assert (len(dump), hashlib.sha256(dump).hexdigest()) == (manifest.size, manifest.sha256)
    assert dump.startswith(b"PGDMP")  # plain custom format, restorable by the stock tools
    for table, rows in manifest.critical_tables.items():
        assert rows == count(pg_cluster, "app", table)
    assert "public.users" in manifest.tables
    assert manifest.pg_dump_version.startswith("15") and manifest.server_version.startswith("15")
    assert s3_uploads(s3_bucket) == []
    assert {"prepare", "upload", "verify", "retention", "done"} <= set(phases)
    [record] = store.backups()
    assert (record.key, record.outcome, record.sha256) == (
        manifest.key,
        "verified",
        manifest.sha256,
    )
    assert store.audit_entries()[0].action == "backup"


def test_many_parts_concurrently_with_sse_storage_class_and_required_checksums(
    tmp_path: Path, big_dsn: str, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    config = s3_config(
        tmp_path,
        big_dsn,
        s3_bucket,
        pg_cluster,
        critical=("blobs",),
        part_size=SMALL_PART,
        upload_concurrency=3,
        sse="AES256",
        storage_class="STANDARD_IA",
        checksums="when_required",
    )
    outcome = run_backup(config, store, lambda _p: None, CancelToken(), "alice")
    assert outcome.manifest.size > 2 * SMALL_PART
    assert outcome.manifest.critical_tables == {"blobs": BIG_ROWS}
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=PREFIX + outcome.manifest.key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "STANDARD_IA"
    assert head["ContentLength"] == outcome.manifest.size


def test_the_object_restores_with_stock_tools_alone(
    tmp_path: Path,
    pg_scratch_db: Callable[[], str],
    pg_cluster: ThrowawayCluster,
    s3_bucket: S3Bucket,
    store: Store,
) -> None:
    """The README's manual restore: fetch the object, pg_restore it; nothing of Warroom needed."""
    config = s3_config(tmp_path, pg_cluster.dsn("app"), s3_bucket, pg_cluster)
    outcome = run_backup(config, store, lambda _p: None, CancelToken(), "alice")
    local = tmp_path / "fetched.dump"
    s3_bucket.client.download_file(s3_bucket.name, PREFIX + outcome.manifest.key, str(local))
    target = pg_scratch_db()  # seeded; restore with --clean over it
    name = target.rsplit("/", 1)[1]
    restore = [str(pg_cluster.bin_dir / "pg_restore"), "--clean", "--if-exists", "--no-owner"]
    subprocess.run([*restore, "--dbname", target, str(local)], check=True, capture_output=True)
    for table, rows in outcome.manifest.critical_tables.items():
        assert count(pg_cluster, name, table) == rows


def test_pg_dump_killed_mid_stream_leaves_nothing(
    tmp_path: Path, big_dsn: str, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    config = s3_config(tmp_path, big_dsn, s3_bucket, pg_cluster, part_size=SMALL_PART)
    killed = []
    progress = _on_upload(SMALL_PART, lambda: killed.append(kill_children("pg_dump")))
    with pytest.raises(BackupFailed, match="pg_dump was killed by signal 9"):
        run_backup(config, store, progress, CancelToken(), "alice")
    assert killed == [1]
    assert_nothing_left(s3_bucket)
    assert store.backups()[0].outcome == "failed"


def test_pg_dump_failing_after_the_snapshot_leaves_nothing(
    tmp_path: Path,
    pg_monitor_dsn: str,
    pg_cluster: ThrowawayCluster,
    s3_bucket: S3Bucket,
    store: Store,
) -> None:
    # The monitor role may count the critical tables but not read their sequences.
    config = s3_config(tmp_path, pg_monitor_dsn, s3_bucket, pg_cluster)
    with pytest.raises(BackupFailed, match=r"pg_dump exited with status 1: .*permission denied"):
        run_backup(config, store, lambda _p: None, CancelToken(), "alice")
    assert_nothing_left(s3_bucket)
    assert "permission denied" in (store.backups()[0].error or "")


def test_a_bad_database_name_fails_clearly_without_the_password(
    tmp_path: Path, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    config = s3_config(tmp_path, pg_cluster.dsn("no_such_db"), s3_bucket, pg_cluster)
    with pytest.raises(BackupFailed, match='database "no_such_db" does not exist') as caught:
        run_backup(config, store, lambda _p: None, CancelToken(), "alice")
    assert pg_cluster.passwords["postgres"] not in str(caught.value)
    assert_nothing_left(s3_bucket)


def test_connection_dropped_mid_dump_leaves_nothing(
    tmp_path: Path, big_dsn: str, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    config = s3_config(tmp_path, big_dsn, s3_bucket, pg_cluster, part_size=SMALL_PART)

    def terminate() -> None:
        with pg_cluster.connect() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'warroom-pg_dump'"
            )

    with pytest.raises(BackupFailed, match="pg_dump exited with status 1"):
        run_backup(config, store, _on_upload(1, terminate), CancelToken(), "alice")
    assert_nothing_left(s3_bucket)


def test_a_missing_bucket_fails_clearly(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    config = make_config(
        tmp_path, pg_dsn, "s3://no-such-bucket-x/", cluster=pg_cluster, bucket=s3_bucket
    )
    with pytest.raises(BackupFailed, match="NoSuchBucket"):
        run_backup(config, store, lambda _p: None, CancelToken(), "alice")
    assert_nothing_left(s3_bucket)


def test_an_upload_aborted_under_us_fails_and_leaves_nothing(
    tmp_path: Path, big_dsn: str, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    """S3 errors mid-stream abort the backup: the upload vanished (moto answers 500s, S3 404s)."""
    config = s3_config(tmp_path, big_dsn, s3_bucket, pg_cluster, part_size=SMALL_PART)

    def abort_everything() -> None:
        for upload in s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name)["Uploads"]:
            s3_bucket.client.abort_multipart_upload(
                Bucket=s3_bucket.name, Key=upload["Key"], UploadId=upload["UploadId"]
            )

    with pytest.raises(BackupFailed, match="UploadPart"):
        run_backup(config, store, _on_upload(SMALL_PART, abort_everything), CancelToken(), "a")
    assert_nothing_left(s3_bucket)


def test_cancel_mid_stream_leaves_nothing(
    tmp_path: Path, big_dsn: str, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    config = s3_config(tmp_path, big_dsn, s3_bucket, pg_cluster, part_size=SMALL_PART)
    cancel = CancelToken()
    with pytest.raises(Cancelled):
        run_backup(config, store, _on_upload(SMALL_PART, cancel.cancel), cancel, "alice")
    assert_nothing_left(s3_bucket)
    assert store.backups()[0].outcome == "cancelled"
    assert children_named("pg_dump") == []


def test_cancel_during_verification_removes_the_complete_object(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    config = s3_config(tmp_path, pg_dsn, s3_bucket, pg_cluster)
    cancel = CancelToken()

    def progress(p: Progress) -> None:
        if p.phase == "verify":
            cancel.cancel()

    with pytest.raises(Cancelled):
        run_backup(config, store, progress, cancel, "alice")
    assert_nothing_left(s3_bucket)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_verification_catches_a_damaged_object_and_says_so_in_the_manifest(
    damage: str,
    tmp_path: Path,
    pg_dsn: str,
    pg_cluster: ThrowawayCluster,
    s3_bucket: S3Bucket,
    store: Store,
) -> None:
    config = s3_config(tmp_path, pg_dsn, s3_bucket, pg_cluster)

    def progress(p: Progress) -> None:
        # Between upload and read-back: what a faulty store or a tamperer would do.
        if p.phase == "verify" and p.bytes_done == 0:
            [key] = s3_keys(s3_bucket)
            data = bytearray(
                s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=key)["Body"].read()
            )
            if damage == "truncate":
                data = data[: len(data) // 2]
            else:
                data[len(data) // 2] ^= 0xFF
            s3_bucket.put(key, bytes(data))

    with pytest.raises(BackupFailed, match="failed verification"):
        run_backup(config, store, progress, CancelToken(), "alice")
    manifest = _manifest(s3_bucket)
    assert manifest.verification == "failed"
    assert manifest.verified_at is not None
    expected = "size" if damage == "truncate" else "SHA-256"
    assert expected in (manifest.verification_error or "")
    assert len(s3_keys(s3_bucket)) == 2  # the dump stays for forensics
    assert store.backups()[0].outcome == "failed"


def test_stale_uploads_of_crashed_backups_are_swept_and_others_left_alone(
    tmp_path: Path, pg_dsn: str, pg_cluster: ThrowawayCluster, s3_bucket: S3Bucket, store: Store
) -> None:
    client = s3_bucket.client
    stale = PREFIX + new_stem("main", time.time() - 2 * 86400) + ".dump"
    fresh = PREFIX + new_stem("main", time.time() - 60) + ".dump"
    foreign = PREFIX + "someone-elses-upload.bin"
    for key in (stale, fresh, foreign):
        client.create_multipart_upload(Bucket=s3_bucket.name, Key=key)
    config = s3_config(tmp_path, pg_dsn, s3_bucket, pg_cluster)
    outcome = run_backup(config, store, lambda _p: None, CancelToken(), "alice")
    assert outcome.swept == (stale[len(PREFIX) :],)
    assert sorted(s3_uploads(s3_bucket)) == sorted([fresh, foreign])


def test_manifest_counts_come_from_the_dumps_own_snapshot(
    tmp_path: Path,
    pg_scratch_db: Callable[[], str],
    pg_cluster: ThrowawayCluster,
    s3_bucket: S3Bucket,
    store: Store,
) -> None:
    dsn = pg_scratch_db()
    name = dsn.rsplit("/", 1)[1]
    before = count(pg_cluster, name, "support_tickets")

    def delete_rows() -> None:
        # Committed while pg_dump runs: neither the dump nor the counts may see it.
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM support_tickets")

    config = s3_config(tmp_path, dsn, s3_bucket, pg_cluster)
    outcome = run_backup(config, store, _on_upload(0, delete_rows), CancelToken(), "alice")
    assert count(pg_cluster, name, "support_tickets") == 0
    assert outcome.manifest.critical_tables["support_tickets"] == before > 0
