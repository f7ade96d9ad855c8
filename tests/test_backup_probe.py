"""BackupStatusProbe against moto's S3 server (tests/fixtures/s3.py) and a local directory."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from console.config.model import BackupConfig, DrillConfig, Duration
from console.config.secret import Secret
from probes.backup_manifest import BackupManifest, DrillReport, Verification, backup_stem
from probes.backups import BackupStatusProbe
from probes.result import Status
from tests.fixtures.s3 import REGION, S3Bucket, enforce_s3_auth

CONTRACT = {
    "up", "newest_age", "newest_size", "newest_verified", "newest_verification_failed",
    "verified_age", "retained_count", "total_bytes", "max_age", "drill_ok", "drill_rto",
    "rto_target", "drill_age",
}  # fmt: skip
PREFIX = "warroom/"
DRILL = DrillConfig(target_dsn=Secret("postgresql://drill@localhost/postgres"))


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


def backup_files(
    age: float, size: int = 1000, verification: Verification = "verified", database: str = "main"
) -> dict[str, bytes]:
    finished = time.time() - age
    stem = backup_stem(database, stamp(finished))
    manifest = BackupManifest(
        key=f"{stem}.dump",
        database=database,
        size=size,
        sha256="0" * 64,
        server_version="16.4",
        pg_dump_version="16.4",
        started_at=finished - 30,
        finished_at=finished,
        verification=verification,
        verified_at=finished + 5 if verification == "verified" else None,
        verification_error="checksum mismatch" if verification == "failed" else None,
    )
    return {f"{stem}.dump": b"x" * size, f"{stem}.manifest.json": manifest.to_json()}


def drill_file(age: float, ok: bool = True, rto: float = 42.0) -> dict[str, bytes]:
    finished = time.time() - age
    report = DrillReport("k.dump", finished - rto, finished, ok, rto, 300.0)
    return {f"drills/{stamp(finished)}.json": report.to_json()}


def s3_config(bucket: S3Bucket, **overrides: Any) -> BackupConfig:
    fields: dict[str, Any] = {
        "database": "main",
        "destination": f"s3://{bucket.name}/{PREFIX}",
        "endpoint_url": bucket.endpoint_url,
        "region": REGION,
        "timeout": Duration(10.0),
    } | overrides
    return BackupConfig(**fields)


def upload(bucket: S3Bucket, files: dict[str, bytes]) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda item: bucket.put(PREFIX + item[0], item[1]), files.items()))


async def test_healthy_backups_on_s3(s3_bucket: S3Bucket) -> None:
    upload(
        s3_bucket,
        backup_files(3600, 1000) | backup_files(90000, 2000) | backup_files(180000, 3000)
        | drill_file(7200),
    )  # fmt: skip
    result = await BackupStatusProbe(s3_config(s3_bucket), DRILL).run()
    assert result.status is Status.OK, result.error
    assert (result.name, result.kind) == ("backups", "backups")
    metrics = result.metrics
    assert set(metrics) == CONTRACT
    assert metrics["newest_age"] == pytest.approx(3600, abs=5)
    assert metrics["verified_age"] == pytest.approx(3600, abs=5)
    assert metrics["newest_size"] == 1000 and metrics["newest_verified"] is True
    assert metrics["newest_verification_failed"] is False
    assert metrics["retained_count"] == 3 and metrics["total_bytes"] == 6000
    assert metrics["max_age"] == 26 * 3600.0
    assert metrics["drill_ok"] is True and metrics["drill_rto"] == 42.0
    assert metrics["rto_target"] == 300.0
    assert metrics["drill_age"] == pytest.approx(7200, abs=5)


@pytest.mark.slow
async def test_listing_pages_past_a_thousand_objects(s3_bucket: S3Bucket) -> None:
    # 1100 dumps without manifests (unfinished: not backups), all sorting before the
    # one complete backup, so it is only found on the second page of the listing.
    old = time.time() - 400 * 86400
    junk = {f"{backup_stem('app', stamp(old + i))}.dump": b"" for i in range(1100)}
    upload(s3_bucket, junk | backup_files(600))
    probe = BackupStatusProbe(s3_config(s3_bucket), None)
    result = await probe.run()
    assert result.status is Status.OK, result.error
    assert result.metrics["retained_count"] == 1
    assert result.metrics["newest_age"] == pytest.approx(600, abs=60)  # the upload takes a while
    assert "drill_ok" not in result.metrics and "rto_target" not in result.metrics


async def test_a_stale_backup_is_critical(s3_bucket: S3Bucket) -> None:
    upload(s3_bucket, backup_files(30 * 3600))
    result = await BackupStatusProbe(s3_config(s3_bucket), DRILL).run()
    assert result.status is Status.CRITICAL
    assert result.metrics["newest_age"] > result.metrics["max_age"]  # type: ignore[operator]
    assert result.error == "newest backup is older than max_age"


async def test_a_failed_verification_is_critical(s3_bucket: S3Bucket) -> None:
    upload(s3_bucket, backup_files(600, verification="failed") | backup_files(90000))
    result = await BackupStatusProbe(s3_config(s3_bucket), DRILL).run()
    assert result.status is Status.CRITICAL
    assert result.metrics["newest_verification_failed"] is True
    assert result.metrics["verified_age"] == pytest.approx(90000, abs=5)
    assert result.error == "newest backup failed verification: checksum mismatch"


async def test_only_complete_pairs_are_backups(s3_bucket: S3Bucket) -> None:
    newest = backup_files(60)
    orphan_manifest = {k: v for k, v in backup_files(120).items() if k.endswith(".json")}
    upload(s3_bucket, {k: v for k, v in newest.items() if k.endswith(".dump")} | orphan_manifest)
    upload(s3_bucket, backup_files(3600) | {"warroom-main-20200101T000000Z.manifest.json": b"{"})
    result = await BackupStatusProbe(s3_config(s3_bucket), None).run()
    assert result.metrics["retained_count"] == 1
    assert result.metrics["newest_age"] == pytest.approx(3600, abs=5)


async def test_an_empty_destination_is_critical(s3_bucket: S3Bucket) -> None:
    result = await BackupStatusProbe(s3_config(s3_bucket), None).run()
    assert result.status is Status.CRITICAL
    assert result.error == f"no backups in s3://{s3_bucket.name}/{PREFIX}"


async def test_a_missing_bucket_is_down(s3_bucket: S3Bucket) -> None:
    config = s3_config(s3_bucket, destination="s3://no-such-bucket-here/x/")
    result = await BackupStatusProbe(config, None).run()
    assert result.status is Status.DOWN
    assert result.error == "bucket no-such-bucket-here does not exist (NoSuchBucket)"
    assert result.metrics == {"up": False}


async def test_access_denied_is_down(s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    upload(s3_bucket, backup_files(60))
    iam = boto3.client("iam", endpoint_url=s3_bucket.endpoint_url, region_name=REGION)
    iam.create_user(UserName="no-s3-rights")
    key = iam.create_access_key(UserName="no-s3-rights")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    with enforce_s3_auth(s3_bucket.endpoint_url):
        result = await BackupStatusProbe(s3_config(s3_bucket), None).run()
    assert result.status is Status.DOWN
    assert result.error == f"access denied to s3://{s3_bucket.name}/{PREFIX} (AccessDenied)"


async def test_an_unreachable_endpoint_is_down(s3_bucket: S3Bucket) -> None:
    config = s3_config(s3_bucket, endpoint_url="http://127.0.0.1:9", timeout=Duration(1.0))
    result = await BackupStatusProbe(config, None).run()
    assert result.status is Status.DOWN
    assert (result.error or "").startswith(f"cannot reach s3://{s3_bucket.name}/")


def write_local(root: Path, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)


async def test_a_local_directory(tmp_path: Path) -> None:
    write_local(tmp_path, backup_files(600, 500) | drill_file(60, ok=False, rto=400.0))
    (tmp_path / "notes.txt").write_text("not a backup")
    config = BackupConfig(database="main", destination=str(tmp_path))
    probe = BackupStatusProbe(config, DRILL)
    result = await probe.run()
    assert result.status is Status.OK, result.error
    assert result.metrics["retained_count"] == 1 and result.metrics["total_bytes"] == 500
    assert result.metrics["drill_ok"] is False and result.metrics["drill_rto"] == 400.0
    # Verification finished later: the manifest is rewritten and read again.
    write_local(tmp_path, {k: v for k, v in backup_files(600, 500, "failed").items()})
    assert (await probe.run()).metrics["newest_verification_failed"] is True


async def test_a_missing_directory_is_down(tmp_path: Path) -> None:
    config = BackupConfig(database="main", destination=str(tmp_path / "gone"))
    result = await BackupStatusProbe(config, None).run()
    assert result.status is Status.DOWN
    assert result.error == f"backup directory {tmp_path / 'gone'} does not exist"


async def test_only_the_configured_databases_backups_count(tmp_path: Path) -> None:
    files = backup_files(40 * 3600) | backup_files(60, database="main-replica")
    for name, body in files.items():
        (tmp_path / name).write_bytes(body)
    probe = BackupStatusProbe(BackupConfig(database="main", destination=str(tmp_path)), None)
    result = await probe.run()
    assert result.metrics["retained_count"] == 1
    assert result.status is Status.CRITICAL  # main's only backup is stale, whatever else is fresh
