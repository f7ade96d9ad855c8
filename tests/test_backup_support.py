"""Shared pieces of the backup and drill tests: configs, a store, a database worth streaming.

Fixtures here are imported by name into test_backup_*.py / test_drill*.py.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from console.config.model import (
    BackupConfig,
    Config,
    ConsoleConfig,
    DrillConfig,
    PostgresConfig,
)
from console.config.secret import Secret
from console.demo.cluster import ThrowawayCluster
from console.demo.schema import CRITICAL_TABLES
from console.state.store import Store
from tests.fixtures.s3 import REGION, S3Bucket

BIG_DB = "backup_big"
BIG_ROWS = 400_000  # ~16 MB of custom-format dump: several 5 MiB parts
SMALL_PART = 5 * 1024 * 1024


def make_config(
    tmp_path: Path,
    dsn: str,
    destination: str,
    *,
    cluster: ThrowawayCluster,
    bucket: S3Bucket | None = None,
    critical: tuple[str, ...] = CRITICAL_TABLES,
    drill: dict[str, object] | None = None,
    **backup: object,
) -> Config:
    """A Config for `dsn` backing up to `destination`, drills on the same cluster."""
    s3: dict[str, object] = {}
    if bucket is not None:
        s3 = {"endpoint_url": bucket.endpoint_url, "region": REGION}
    backup_config = BackupConfig(
        database="main",
        destination=destination,
        pg_bin=cluster.bin_dir,
        **(s3 | backup),  # type: ignore[arg-type]
    )
    drill_defaults: dict[str, object] = {
        "target_dsn": Secret(cluster.dsn("postgres")),
        "allow_same_server": True,
    }
    drill_config = DrillConfig(**(drill_defaults | (drill or {})))  # type: ignore[arg-type]
    return Config(
        path=tmp_path / "config.toml",
        console=ConsoleConfig(operator="tester", state_path=tmp_path / "state.sqlite3"),
        postgres={"main": PostgresConfig(name="main", dsn=Secret(dsn), critical_tables=critical)},
        backup=backup_config,
        drill=drill_config,
    )


def s3_config(
    tmp_path: Path, dsn: str, bucket: S3Bucket, cluster: ThrowawayCluster, **kw: Any
) -> Config:
    return make_config(
        tmp_path, dsn, f"s3://{bucket.name}/backups/", cluster=cluster, bucket=bucket, **kw
    )


def s3_keys(bucket: S3Bucket, prefix: str = "") -> list[str]:
    pages = bucket.client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket.name, Prefix=prefix
    )
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def s3_uploads(bucket: S3Bucket) -> list[str]:
    return [
        u["Key"]
        for u in bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads", [])
    ]


def assert_nothing_left(bucket: S3Bucket) -> None:
    assert s3_keys(bucket) == []
    assert s3_uploads(bucket) == []


def children_named(name: str) -> list[int]:
    """Our child processes called `name` (pg_dump, pg_restore), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if comm == name and ppid == os.getpid():
            found.append(int(entry.name))
    return found


def kill_children(name: str) -> int:
    pids = children_named(name)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return len(pids)


def count(cluster: ThrowawayCluster, database: str, table: str) -> int:
    with cluster.connect(database) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        assert row is not None
        return int(str(row[0]))


def database_exists(cluster: ThrowawayCluster, name: str) -> bool:
    with cluster.connect() as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )


def drop_database(cluster: ThrowawayCluster, name: str) -> None:
    with cluster.connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.sqlite3") as opened:
        yield opened


@pytest.fixture(scope="session")
def big_dsn(pg_cluster: ThrowawayCluster) -> Iterator[str]:
    """A database whose dump spans several parts and takes long enough to interrupt."""
    pg_cluster.start()
    drop_database(pg_cluster, BIG_DB)
    with pg_cluster.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BIG_DB)))
    with pg_cluster.connect(BIG_DB) as conn:
        conn.execute(
            "CREATE TABLE blobs (id bigint PRIMARY KEY, a text, b text);"
            "CREATE TABLE users (id bigint PRIMARY KEY);"
            f"INSERT INTO blobs SELECT g, md5(g::text), md5((g * 7)::text)"
            f" FROM generate_series(1, {BIG_ROWS}) g;"
            "INSERT INTO users SELECT generate_series(1, 1000);"
        )
    yield pg_cluster.dsn(BIG_DB)
    pg_cluster.start()
    drop_database(pg_cluster, BIG_DB)
