"""`warroom backup` and `warroom drill` end to end through the CLI, with a real config file."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.cli import main
from console.demo.cluster import ThrowawayCluster
from console.state.store import Store
from tests.test_backup_support import BIG_DB, big_dsn, database_exists  # noqa: F401 - fixture

pytestmark = [pytest.mark.postgres]


def _config(tmp_path: Path, cluster: ThrowawayCluster, database: str = "app") -> Path:
    dest = tmp_path / "backups"
    dest.mkdir(exist_ok=True)
    path = tmp_path / "config.toml"
    values = {
        "state": str(tmp_path / "state.sqlite3"),
        "dsn": cluster.dsn(database),
        "dest": str(dest),
        "bin": str(cluster.bin_dir),
        "target": cluster.dsn("postgres"),
    }
    quoted = {k: json.dumps(v) for k, v in values.items()}  # TOML basic strings
    path.write_text(
        f"""
[console]
operator = "carol"
state_path = {quoted["state"]}

[postgres.main]
dsn = {quoted["dsn"]}
critical_tables = ["users", "soul_memories"]

[backup]
database = "main"
destination = {quoted["dest"]}
pg_bin = {quoted["bin"]}

[drill]
target_dsn = {quoted["target"]}
allow_same_server = true
"""
    )
    return path


def test_backup_then_drill_exit_0_with_one_line_each_and_no_secret(
    tmp_path: Path, pg_cluster: ThrowawayCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, pg_cluster))
    password = pg_cluster.passwords["postgres"]

    assert main(["backup", "--config", config]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("verified warroom-main-") and out.count("\n") == 1
    assert "backup: upload" in err and "backup: verify" in err  # a line per phase (not a TTY)

    assert main(["drill", "--config", config]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("restored warroom-main-") and out.count("\n") == 1
    assert "drill: restore" in err
    assert password not in out + err

    with Store.open(tmp_path / "state.sqlite3") as store:
        assert [b.outcome for b in store.backups()] == ["verified"]
        assert store.drills()[0].ok
        assert {e.actor for e in store.audit_entries()} == {"carol"}


def test_a_failing_backup_exits_1_with_a_masked_one_line_reason(
    tmp_path: Path, pg_cluster: ThrowawayCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, pg_cluster, database="no_such_db"))
    assert main(["backup", "--config", config]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("backup failed:") and out.count("\n") == 1
    assert pg_cluster.passwords["postgres"] not in out + err
    assert list((tmp_path / "backups").iterdir()) == []


def test_drill_cleanup_drops_registered_leftovers_only(
    tmp_path: Path, pg_cluster: ThrowawayCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, pg_cluster))
    leftover = "warroom_drill_20200101000000"
    with Store.open(tmp_path / "state.sqlite3") as store:
        store.register_scratch_database(leftover, f"localhost:{pg_cluster.port}")
    with pg_cluster.connect() as conn:
        conn.execute(f'CREATE DATABASE "{leftover}"')
    assert main(["drill", "--cleanup", "--config", config]) == 0
    assert capsys.readouterr().out == f"dropped 1 leftover scratch database(s): {leftover}\n"
    assert not database_exists(pg_cluster, leftover)


def test_read_only_refuses_actions(
    tmp_path: Path, pg_cluster: ThrowawayCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, pg_cluster))
    assert main(["--read-only", "backup", "--config", config]) == 1
    assert "read-only" in capsys.readouterr().out


def test_ctrl_c_cancels_cleans_up_and_exits_130(
    tmp_path: Path,
    big_dsn: str,  # noqa: F811 - fixture
    pg_cluster: ThrowawayCluster,
) -> None:
    config = _config(tmp_path, pg_cluster, database=BIG_DB)
    backups = tmp_path / "backups"
    command = [sys.executable, "-m", "console.cli", "backup", "--config", str(config)]
    with pg_cluster.connect(BIG_DB) as holder, holder.transaction():
        # pg_dump waits for this lock, so Ctrl-C surely comes mid-upload with the
        # partial file open, however fast the machine dumps the table.
        holder.execute("LOCK TABLE blobs IN ACCESS EXCLUSIVE MODE")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("backup: upload"):
                break
        deadline = time.monotonic() + 30
        while not any(backups.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any(backups.iterdir()), "the upload never opened its partial file"
        proc.send_signal(signal.SIGINT)
        out, _err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "cancelled" in out
    assert list((tmp_path / "backups").iterdir()) == []
