"""Owner of a running demo stack: `python -m console.demo.supervisor`.

The console spawns it with pipes on stdin and stdout. It builds the stack
under one temporary root, writes one JSON line `{"event": "ready", ...}` (or
`{"event": "error", "message": ...}`), then answers JSON-line requests
`{"id": n, "op": name, "args": {...}}` with `{"id": n, "ok": bool, ...}`.
When stdin reaches end of file - the console exited, crashed or was killed,
since the kernel closes the pipe either way - or on SIGTERM, it stops
postgres immediately, ends the API and workload and removes the root.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from psycopg import sql

from console.demo.cluster import ThrowawayCluster
from console.demo.faults import FaultClient
from console.demo.lifeline import child_env, exit_on_sigterm, parent_death_signal
from console.demo.schema import APP_DB, CRITICAL_TABLES, MONITOR_ROLE, seed_app

SENTRY_ORG = "demo"
SENTRY_PROJECT = "warroom-demo"
SENTRY_TOKEN = "demo-token"
# The users table is referenced by soul_memories; deleting from it would fail.
_DELETABLE = frozenset(CRITICAL_TABLES) - {"users"}


class Stack:
    """The processes and files of one demo stack, and the demo-only fault controls."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="warroom-demo-"))
        # The database user must traverse the root to reach its own directory.
        self.root.chmod(0o711)
        self.cluster: ThrowawayCluster | None = None
        self.faults: FaultClient | None = None
        self._children: list[subprocess.Popen[bytes]] = []

    def _spawn(
        self, module: str, args: list[str], stdout: int | IO[bytes]
    ) -> subprocess.Popen[bytes]:
        with (self.root / f"{module.rsplit('.', 1)[-1]}.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=log,
                env=child_env(),
                preexec_fn=parent_death_signal(signal.SIGTERM),
            )
        self._children.append(proc)
        return proc

    def start(self) -> dict[str, Any]:
        started = time.monotonic()
        # The API boots while initdb runs: the two overlap on two cores.
        api = self._spawn("console.demo.api", ["--port", "0"], subprocess.PIPE)
        cluster = ThrowawayCluster(
            parent=self.root,
            tcp_auth="scram-sha-256",
            superuser_password=secrets.token_urlsafe(18),
        )
        self.cluster = cluster
        cluster.create()
        seed_app(cluster)
        assert api.stdout is not None
        port_line = api.stdout.readline().strip()
        if not port_line.isdigit():
            raise RuntimeError("the demo API did not start; see api.log")
        api_url = f"http://127.0.0.1:{int(port_line)}"
        self.faults = FaultClient(api_url)
        workload = self._spawn(
            "console.demo.workload", [cluster.socket_dsn(APP_DB)], subprocess.DEVNULL
        )
        backups = self.root / "backups"
        backups.mkdir()
        return {
            "event": "ready",
            "env": self._env(cluster, api_url, backups),
            "root": str(self.root),
            "data_dir": str(cluster.data_dir),
            "pids": {"postgres": cluster.pid, "api": api.pid, "workload": workload.pid},
            "startup_seconds": round(time.monotonic() - started, 3),
        }

    def _env(self, cluster: ThrowawayCluster, api_url: str, backups: Path) -> dict[str, str]:
        return {
            "WARROOM_ENVIRONMENT": "demo",
            "WARROOM_DB_DSN": cluster.dsn(APP_DB, MONITOR_ROLE),
            "WARROOM_BACKUP_DSN": cluster.dsn(APP_DB),
            "WARROOM_API_URL": api_url,
            "WARROOM_SENTRY_URL": api_url,
            "WARROOM_SENTRY_ORG": SENTRY_ORG,
            "WARROOM_SENTRY_PROJECT": SENTRY_PROJECT,
            "WARROOM_SENTRY_TOKEN": SENTRY_TOKEN,
            "WARROOM_SUPPORT_URL": api_url,
            "WARROOM_BACKUP_DEST": f"{backups}{os.sep}",
            "WARROOM_DRILL_DSN": cluster.dsn("postgres"),
            "WARROOM_DRILL_SAME_SERVER": "true",
            "WARROOM_SLACK_WEBHOOK": f"{api_url}/slack/webhook",
            "WARROOM_STATE_PATH": str(self.root / "state.sqlite3"),
        }

    # -- demo-only controls --------------------------------------------------

    def _need(self) -> tuple[ThrowawayCluster, FaultClient]:
        if self.cluster is None or self.faults is None:
            raise RuntimeError("the stack is not started")
        return self.cluster, self.faults

    def stop_database(self) -> None:
        self._need()[0].stop()

    def start_database(self) -> None:
        self._need()[0].start()

    def database_running(self) -> bool:
        return self._need()[0].running

    def set_api_latency(self, ms: int) -> None:
        self._need()[1].set(latency_ms=ms)

    def set_error_rate(self, rate: float) -> None:
        self._need()[1].set(error_rate=rate)

    def burst_errors(self, n: int = 200) -> None:
        self._need()[1].set(error_burst=n)

    def delete_rows(self, table: str = "soul_memories", fraction: float = 0.3) -> int:
        cluster = self._need()[0]
        if table not in _DELETABLE:
            raise ValueError(f"delete_rows supports {sorted(_DELETABLE)}, not {table!r}")
        if not 0.0 < fraction <= 1.0:
            raise ValueError("fraction must be within (0, 1]")
        with cluster.connect(APP_DB) as conn:
            cursor = conn.execute(
                sql.SQL("DELETE FROM {} WHERE random() < %s").format(sql.Identifier(table)),
                (fraction,),
            )
            return cursor.rowcount

    def reset(self) -> None:
        """Faults off and the database up; deleted rows stay deleted (restore is a drill)."""
        cluster, faults = self._need()
        faults.reset()
        cluster.start()

    def operations(self) -> dict[str, Callable[..., Any]]:
        return {
            name: getattr(self, name)
            for name in (
                "stop_database",
                "start_database",
                "database_running",
                "set_api_latency",
                "set_error_rate",
                "burst_errors",
                "delete_rows",
                "reset",
            )
        }

    # -- teardown ------------------------------------------------------------

    def cleanup(self) -> None:
        for proc in self._children:
            if proc.poll() is None:
                proc.terminate()
        if self.cluster is not None:
            self.cluster.destroy()
        for proc in self._children:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _emit(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _serve(stack: Stack, requests: IO[str], out: IO[str]) -> None:
    operations = stack.operations()
    for line in requests:
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            result = operations[request["op"]](**request.get("args", {}))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            _emit(out, {"id": request_id, "ok": False, "error": error})
        else:
            _emit(out, {"id": request_id, "ok": True, "result": result})


def main() -> int:
    exit_on_sigterm()
    # Everything we start shares our process group, and the console is in
    # another session: a terminal's Ctrl-C reaches the console, which then
    # closes our pipe, rather than killing half the stack at random.
    stack = Stack()
    try:
        try:
            ready = stack.start()
        except Exception as exc:
            _emit(sys.stdout, {"event": "error", "message": f"{type(exc).__name__}: {exc}"})
            return 1
        _emit(sys.stdout, ready)
        _serve(stack, sys.stdin, sys.stdout)
    finally:
        # A second SIGTERM must not cut the cleanup short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
