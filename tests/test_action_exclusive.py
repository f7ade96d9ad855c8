"""Backups and drills refuse to run twice at once on one state file."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.actions.backup import run_backup
from console.actions.drill import run_drill
from console.actions.exclusive import AlreadyRunning
from console.actions.progress import CancelToken, Progress
from console.config import load_config
from console.state.store import Store


def test_second_backup_or_drill_is_refused_while_one_holds_the_lease(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[postgres.main]
dsn = "postgresql://app:pw@127.0.0.1:1/app"
[backup]
database = "main"
destination = "{tmp_path / "backups"}"
[drill]
target_dsn = "postgresql://app:pw@127.0.0.2:1/postgres"
"""
    )
    config = load_config(path, env={})
    seen: list[Progress] = []
    with Store.open(tmp_path / "state.sqlite3") as store:
        for action, run in (("backup", run_backup), ("drill", run_drill)):
            assert store.acquire_lease(f"action:{action}", "other-host:4242", 300)
            with pytest.raises(
                AlreadyRunning, match=f"a {action} is already running .other-host:4242"
            ):
                run(config, store, seen.append, CancelToken(), "alice")
            store.release_lease(f"action:{action}", "other-host:4242")
        assert seen == []  # refused before doing anything
        assert store.backups() == [] and store.drills() == []
