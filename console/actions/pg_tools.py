"""pg_dump, pg_restore and friends: finding them, checking their versions, running them safely.

Connection details reach the tools as a password-free conninfo in argv
(`--dbname`) and the password in `PGPASSWORD`: argv is world-readable in
/proc, the environment is not. Tools run in their own process group so the
terminal's Ctrl-C reaches only us, and we stop them ourselves after cleanup.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from console.actions.progress import CancelToken
from console.config.secret import Secret

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_SYSTEM_ROOT = Path("/usr/lib/postgresql")
_POLL = 0.2  # seconds between cancel checks while waiting for a tool
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class ToolError(RuntimeError):
    """A PostgreSQL client tool is missing, too old, or failed; the message is one line."""


@dataclass(frozen=True)
class ToolVersion:
    major: int
    text: str  # e.g. "15.10"


def server_major(server_version_num: int) -> int:
    # 90624 -> 9 (pre-10 majors had two parts; the dump tools only care about the first).
    return server_version_num // 10000


def tool_version(program: Path) -> ToolVersion:
    try:
        out = subprocess.run(
            [str(program), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolError(f"cannot run {program} --version: {exc}") from None
    match = _VERSION.search(out)
    if match is None:
        raise ToolError(f"unrecognised version output from {program}: {out.strip()[:80]}")
    minor = match.group(2)
    text = f"{match.group(1)}.{minor}" if minor is not None else match.group(1)
    return ToolVersion(int(match.group(1)), text)


def _candidate_dirs(pg_bin: Path | None, program: str) -> list[Path]:
    if pg_bin is not None:
        return [pg_bin]
    found: list[Path] = []
    on_path = shutil.which(program)
    if on_path:
        found.append(Path(on_path).parent)

    def key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    found += sorted(_SYSTEM_ROOT.glob("*/bin"), key=key, reverse=True)
    return found


@dataclass(frozen=True)
class PgTools:
    """A directory of client tools whose major version can handle the server's."""

    bin_dir: Path
    version: ToolVersion

    def path(self, program: str) -> str:
        return str(self.bin_dir / program)


def find_tools(
    pg_bin: Path | None,
    server_version_num: int,
    programs: tuple[str, ...] = ("pg_dump", "pg_restore"),
) -> PgTools:
    """`pg_bin` if configured (it must do), else the first fit of PATH, /usr/lib/postgresql/<N>.

    A directory must hold every one of `programs` (the first one's version is
    checked). pg_dump older than the server refuses to dump it, so a too-old
    candidate is skipped and named in the error.
    """
    program = programs[0]
    needed = server_major(server_version_num)
    rejected: list[str] = []
    for directory in _candidate_dirs(pg_bin, program):
        binary = directory / program
        if not all(os.access(directory / name, os.X_OK) for name in programs):
            continue
        version = tool_version(binary)
        if version.major >= needed:
            return PgTools(directory, version)
        rejected.append(f"{binary} is {version.text}")
    where = "; ".join(rejected) if rejected else f"no directory with {', '.join(programs)}"
    hint = "set [backup].pg_bin" if pg_bin is None else "fix [backup].pg_bin"
    raise ToolError(f"need {program} >= {needed} for this server ({where}); {hint}")


@dataclass(frozen=True)
class LibpqTarget:
    """How a client tool reaches a database without the password in its argv."""

    conninfo: str
    env: Mapping[str, str]
    dbname: str
    server: str  # "host:port" (local addresses as "localhost"): for matching servers


def libpq_target(dsn: Secret, *, dbname: str | None = None, application: str) -> LibpqTarget:
    params = {k: str(v) for k, v in conninfo_to_dict(dsn.reveal()).items() if v is not None}
    if dbname is not None:
        params["dbname"] = dbname
    params["application_name"] = application
    env = dict(os.environ)
    password = params.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = password
    host = params.get("host") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    if host in _LOCAL_HOSTS or host.startswith("/"):
        host = "localhost"  # TCP loopback and the unix socket reach the same server
    name = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or ""
    return LibpqTarget(make_conninfo("", **params), env, name, f"{host}:{port}")


def connect_args(target: LibpqTarget) -> dict[str, str]:
    """Keyword arguments for psycopg.connect reaching the same database as the tools."""
    args = conninfo_to_dict(target.conninfo)
    if "PGPASSWORD" in target.env:
        args["password"] = target.env["PGPASSWORD"]
    args.setdefault("connect_timeout", "10")
    return {k: str(v) for k, v in args.items()}


class ToolProcess:
    """A running client tool; stderr goes to a small temp file so it can never block the pipe."""

    def __init__(
        self,
        argv: list[str],
        env: Mapping[str, str],
        *,
        stdin: int | IO[bytes] | None = subprocess.DEVNULL,
        stdout: int | IO[bytes] | None = subprocess.DEVNULL,
    ) -> None:
        self.name = Path(argv[0]).name
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=stdout,
            stderr=self._stderr,
            env=dict(env),
            bufsize=0,
            process_group=0,
        )

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def failure(self) -> str | None:
        """None if it exited 0, else a one-line reason (last stderr line)."""
        code = self.proc.poll()
        if code == 0:
            return None
        how = "is still running" if code is None else _exit_text(code)
        last = self.stderr_line()
        return f"{self.name} {how}" + (f": {last}" if last else "")

    def stderr_line(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 4096))
        lines = [ln.strip() for ln in self._stderr.read().decode(errors="replace").splitlines()]
        # "pg_dump: error: ..." says what went wrong; "detail:"/"hint:" lines follow it.
        errors = [ln for ln in lines if "error:" in ln.lower()] or [ln for ln in lines if ln]
        return (errors or [""])[-1][:300]

    def __enter__(self) -> ToolProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._stderr.close()

    def stop(self) -> None:
        """Terminate (then kill) the tool and its workers, reap it, close its pipes."""
        if self.proc.poll() is None:
            # The whole group: pg_restore --jobs forks workers that would linger.
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def finish(self, cancel: CancelToken) -> None:
        """Wait for the tool to exit, stopping it on cancel; raises ToolError if it failed."""
        while True:
            try:
                self.proc.wait(_POLL)
                break
            except subprocess.TimeoutExpired:
                if cancel.cancelled:
                    self.stop()
                    cancel.check()
        failure = self.failure()
        if failure is not None:
            raise ToolError(failure)


def _exit_text(code: int) -> str:
    if code < 0:
        return f"was killed by signal {-code}"
    return f"exited with status {code}"
