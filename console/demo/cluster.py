"""A throwaway PostgreSQL cluster in a temporary directory, started in about a second."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal
from urllib.parse import quote

import psycopg
from psycopg import sql

from console.demo.lifeline import parent_death_signal
from console.demo.pgbin import RunAs, find_bin_dir, service_user

TcpAuth = Literal["trust", "scram-sha-256"]

SUPERUSER = "postgres"
_HOST = "127.0.0.1"
# Durability is worthless for a throwaway cluster; start-up time and a light
# footprint on two cores are what matter. Checksums (initdb -k) and I/O timing
# stay on so the metrics the probes read are real ones.
_SETTINGS = {
    "listen_addresses": _HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "40",
    "track_io_timing": "on",
    "log_min_messages": "warning",
    "logging_collector": "off",
    "max_wal_senders": "0",
    "wal_level": "minimal",
}
_READY_TIMEOUT = 15.0


class ClusterError(RuntimeError):
    """The cluster could not be created or started; the message has the log tail."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class ThrowawayCluster:
    """initdb + postgres on a free loopback port; the unix socket lives in the temp dir.

    As root the server runs as an unprivileged user (PostgreSQL refuses root).
    `parent` puts the cluster under an existing directory (which must be
    traversable by that user) instead of a fresh temporary one.
    """

    def __init__(
        self,
        *,
        parent: Path | None = None,
        tcp_auth: TcpAuth = "trust",
        superuser_password: str | None = None,
        bin_dir: Path | None = None,
    ) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self.host = _HOST
        self.port = 0
        self.passwords: dict[str, str] = {}
        if superuser_password is not None:
            self.passwords[SUPERUSER] = superuser_password
        self._tcp_auth = tcp_auth
        self._run_as: RunAs = service_user()
        self._owns_root = parent is None
        self.root = Path(tempfile.mkdtemp(prefix="warroom-pg-", dir=parent))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log_path = self.root / "postgres.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -----------------------------------------------------------

    def create(self) -> ThrowawayCluster:
        """initdb, start, set the superuser password. Returns self for chaining."""
        self.socket_dir.mkdir()
        self.log_path.touch()
        for path in (self.root, self.socket_dir, self.log_path):
            self._run_as.chown(path)
        initdb_args = ["-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust"]
        initdb_args += ["-E", "UTF8", "--locale=C", "-N", "-k", "--no-instructions"]
        self._run("initdb", initdb_args)
        hba = f"local all all trust\nhost all all {_HOST}/32 {self._tcp_auth}\n"
        (self.data_dir / "pg_hba.conf").write_text(hba)
        self._start_on_free_port()
        if SUPERUSER in self.passwords:
            self._set_password(SUPERUSER, self.passwords[SUPERUSER])
        return self

    def start(self) -> None:
        """Start again (after `stop()`) on the same port."""
        if self.running:
            return
        self._launch()
        self._wait_ready()

    def stop(self) -> None:
        """Fast shutdown: the server is down, the data stays for `start()`."""
        self._signal_and_wait(signal.SIGINT)

    def destroy(self) -> None:
        """Immediate shutdown and removal of everything on disk. Idempotent."""
        self._signal_and_wait(signal.SIGQUIT)
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc else None

    @contextlib.contextmanager
    def stopped(self) -> Iterator[ThrowawayCluster]:
        """The server is down inside the block and running again after it."""
        self.stop()
        try:
            yield self
        finally:
            self.start()

    def __enter__(self) -> ThrowawayCluster:
        return self.create()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()

    # -- addressing ----------------------------------------------------------

    def dsn(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        """A TCP DSN; includes the role's password when the cluster set one."""
        password = self.passwords.get(user)
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    def socket_dsn(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        """A unix-socket DSN (trust auth, no password) for in-stack helpers."""
        query = f"host={quote(str(self.socket_dir), safe='')}&port={self.port}"
        return f"postgresql://{quote(user, safe='')}@/{quote(dbname, safe='')}?{query}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A superuser autocommit connection over the unix socket."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=SUPERUSER,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def create_role(self, name: str, password: str, grants: Sequence[str] = ()) -> None:
        """A LOGIN role with a password, member of each of `grants`."""
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
            for granted in grants:
                conn.execute(
                    sql.SQL("GRANT {} TO {}").format(sql.Identifier(granted), sql.Identifier(name))
                )
        self._set_password(name, password)

    # -- internals -----------------------------------------------------------

    def _set_password(self, role: str, password: str) -> None:
        with self.connect() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        self.passwords[role] = password

    def _run(self, program: str, args: list[str]) -> None:
        result = subprocess.run(
            [str(self.bin_dir / program), *args],
            capture_output=True,
            text=True,
            cwd=self.root,
            user=self._run_as.uid,
            group=self._run_as.gid,
            extra_groups=[] if self._run_as.switches else None,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(f"{program} failed ({result.returncode}): {result.stderr[-2000:]}")

    def _start_on_free_port(self) -> None:
        # The port is free when chosen but could be taken before postgres binds.
        for _attempt in range(3):
            self.port = free_port()
            self._launch()
            try:
                self._wait_ready()
                return
            except ClusterError:
                if "could not bind" not in self._log_tail():
                    raise
        raise ClusterError(f"no free port after 3 attempts: {self._log_tail()}")

    def _launch(self) -> None:
        args = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        args += ["-c", f"unix_socket_directories={self.socket_dir}"]
        for key, value in _SETTINGS.items():
            args += ["-c", f"{key}={value}"]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                user=self._run_as.uid,
                group=self._run_as.gid,
                extra_groups=[] if self._run_as.switches else None,
                # If our process dies without cleaning up, immediate shutdown.
                preexec_fn=parent_death_signal(signal.SIGQUIT),
            )

    def _wait_ready(self) -> None:
        # postmaster.pid's 8th line turns to "ready" when connections are
        # accepted: what pg_ctl waits for, without a subprocess per poll.
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise ClusterError(f"postgres exited during start-up: {self._log_tail()}")
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            time.sleep(0.01)
        self._signal_and_wait(signal.SIGQUIT)
        raise ClusterError(f"postgres not ready after {_READY_TIMEOUT:.0f}s: {self._log_tail()}")

    def _signal_and_wait(self, sig: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"
