"""The pure and process-level parts of backups: part sizes, names, retention, tools, streaming."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from console.actions import catalog
from console.actions.catalog import StemInfo, StoredBackup
from console.actions.dump_stream import dump_into
from console.actions.pg_tools import ToolError, ToolProcess, find_tools, libpq_target
from console.actions.progress import Cancelled, CancelToken, Progress
from console.actions.reporting import Reporter
from console.actions.retention import plan_retention
from console.actions.s3_stream import MiB, choose_part_size
from console.actions.terminal import StderrProgress, format_progress
from console.config.secret import Secret
from probes.backup_manifest import BackupManifest

DAY = 86400.0
NOW = 1_800_000_000.0


def test_part_size_is_at_least_8_mib_and_fits_10000_parts() -> None:
    assert choose_part_size(10 * MiB, None) == 8 * MiB
    hundred_gb = 100 * 10**9
    size = choose_part_size(hundred_gb, None)
    assert size % MiB == 0 and size * 10_000 >= hundred_gb * 1.5
    assert size - MiB < hundred_gb * 1.5 / 10_000  # rounded up by at most one MiB


def test_part_size_override_wins_but_never_below_the_s3_minimum() -> None:
    assert choose_part_size(10**12, 64 * MiB) == 64 * MiB
    assert choose_part_size(0, 1024) == 5 * MiB


def test_keys_round_trip_and_foreign_names_are_ignored() -> None:
    stem = catalog.new_stem("main", NOW)
    info = catalog.parse_key(stem + ".dump")
    assert info == catalog.parse_key(stem + ".manifest.json")
    assert info is not None and info.database == "main" and info.started_at == NOW
    assert catalog.parse_key("warroom-my-db-20260101T000000Z.dump").database == "my-db"  # type: ignore[union-attr]
    for foreign in ("notes.txt", "warroom-main-2026.dump", "drills/20260101T000000Z.json"):
        assert catalog.parse_key(foreign) is None


def _backup(age_days: float, verification: str | None, *, dump: bool = True) -> StoredBackup:
    started = NOW - age_days * DAY
    stem = catalog.new_stem("main", started)
    manifest = None
    if verification is not None:
        manifest = BackupManifest(
            key=stem + ".dump",
            database="main",
            size=1,
            sha256="0" * 64,
            server_version="15",
            pg_dump_version="15",
            started_at=started,
            finished_at=started,
            verification=verification,  # type: ignore[arg-type]
        )
    return StoredBackup(StemInfo(stem, "main", started), dump, manifest is not None, manifest)


def _stems(backups: list[StoredBackup]) -> set[float]:
    return {round((NOW - b.info.started_at) / DAY) for b in backups}


def test_retention_deletes_only_old_backups_beyond_the_newest_verified_ones() -> None:
    backups = [
        _backup(90, "verified"),
        _backup(60, "verified"),
        _backup(45, "failed"),
        _backup(40, None),  # incomplete: a dump without manifest
        _backup(35, "verified"),
        _backup(10, "verified"),
        _backup(5, "failed"),
    ]
    doomed = plan_retention(backups, NOW, retention_days=30, keep_min=2)
    # 10 and 35 are the newest two verified; 5 is young; the rest is old.
    assert _stems(doomed) == {90, 60, 45, 40}


def test_retention_keeps_old_verified_backups_when_there_are_too_few() -> None:
    backups = [_backup(400, "verified"), _backup(300, "verified"), _backup(200, "failed")]
    assert _stems(plan_retention(backups, NOW, 30, keep_min=3)) == {200}


def test_retention_never_deletes_the_only_verified_backup() -> None:
    backups = [_backup(400, "verified"), _backup(1, "failed")]
    assert plan_retention(backups, NOW, 30, keep_min=0) == []


def test_a_dump_whose_manifest_says_verified_but_is_missing_is_not_verified() -> None:
    lone_manifest = _backup(1, "verified", dump=False)
    assert not lone_manifest.verified
    assert _stems(plan_retention([_backup(100, "verified"), lone_manifest], NOW, 30, 1)) == set()


def test_libpq_target_keeps_the_password_out_of_argv() -> None:
    dsn = Secret("postgresql://alice:s3cret%21@127.0.0.1:6543/app?sslmode=disable")
    target = libpq_target(dsn, application="warroom-test")
    assert "s3cret" not in target.conninfo
    assert target.env["PGPASSWORD"] == "s3cret!"
    assert target.server == "localhost:6543"
    assert target.dbname == "app"
    other = libpq_target(Secret("host=/tmp port=6543 dbname=x"), dbname="y", application="t")
    assert other.server == "localhost:6543" and other.dbname == "y"
    assert "application_name=t" in other.conninfo


def test_find_tools_refuses_a_pg_dump_older_than_the_server(tmp_path: Path) -> None:
    for program in ("pg_dump", "pg_restore"):
        fake = tmp_path / program
        fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.4'\n")
        fake.chmod(0o755)
    with pytest.raises(ToolError, match=r"need pg_dump >= 15 .*is 12\.4.*fix \[backup\]\.pg_bin"):
        find_tools(tmp_path, 150004)
    assert find_tools(tmp_path, 120010).version.text == "12.4"


def test_find_tools_uses_the_system_directory(pg_cluster_bin: Path) -> None:
    tools = find_tools(pg_cluster_bin, 150000)
    assert tools.bin_dir == pg_cluster_bin and tools.version.major >= 15


@pytest.fixture
def pg_cluster_bin() -> Path:
    from console.demo.pgbin import find_bin_dir

    return find_bin_dir()


class _Recorder:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.committed = self.aborted = False

    def write(self, data: bytearray, cancel: CancelToken) -> None:
        self.parts.append(bytes(data))

    def commit(self) -> None:
        self.committed = True

    def abort(self) -> None:
        self.aborted = True


def _producer(script: str) -> ToolProcess:
    return ToolProcess([sys.executable, "-c", script], {}, stdout=subprocess.PIPE)


WRITE_3_MIB = "import sys; sys.stdout.buffer.write(b'x' * (3 * 1024 * 1024)); sys.stdout.flush()"


def test_a_clean_exit_commits_every_byte_in_parts() -> None:
    writer = _Recorder()
    with _producer(WRITE_3_MIB) as tool:
        digest = dump_into(tool, writer, MiB, CancelToken(), lambda _n: None)
    assert writer.committed and not writer.aborted
    assert [len(p) for p in writer.parts] == [MiB, MiB, MiB]
    assert digest.size == 3 * MiB


def test_a_producer_dying_mid_stream_is_never_committed() -> None:
    writer = _Recorder()
    # Everything written looks like a normal stream ending: only the exit status tells.
    with _producer(WRITE_3_MIB + "; sys.exit(3)") as tool, pytest.raises(ToolError, match="3"):
        dump_into(tool, writer, MiB, CancelToken(), lambda _n: None)
    assert writer.aborted and not writer.committed


def test_cancel_stops_a_silent_producer_and_aborts() -> None:
    writer = _Recorder()
    cancel = CancelToken()
    cancel.cancel()
    with _producer("import time; time.sleep(30)") as tool, pytest.raises(Cancelled):
        dump_into(tool, writer, MiB, cancel, lambda _n: None)
    assert writer.aborted
    assert tool.proc.poll() is not None  # stopped, not left sleeping


def test_reporter_throttles_bytes_but_never_phase_changes() -> None:
    now = [0.0]
    seen: list[Progress] = []
    reporter = Reporter("backup", seen.append, clock=lambda: now[0])
    reporter.phase("upload", total=100)
    for i in range(100):
        now[0] += 0.01
        reporter.bytes(i)
    reporter.phase("verify")
    assert 9 <= len(seen) <= 13
    assert [p.phase for p in seen][-1] == "verify" and seen[0].bytes_total == 100


def test_progress_lines_per_phase_when_not_a_terminal() -> None:
    out = io.StringIO()
    printer = StderrProgress(out)
    for done in (0, 10, 20):
        printer(Progress("backup", "upload", done * 1000, 10**6, 1.0))
    printer(Progress("backup", "verify", 0, None, 2.0, "reading back"))
    printer.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("backup: upload")
    assert format_progress(Progress("drill", "restore", 0, None, 3.25, "x")) == (
        "drill: restore  3.2s  x"
    )
