"""Where the PostgreSQL server binaries are, and which user runs them."""

from __future__ import annotations

import importlib.util
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_REQUIRED = ("initdb", "postgres")
# Preferred first: `postgres` owns nothing of ours but is meant for exactly this.
_SERVICE_USERS = ("postgres", "nobody")


class PostgresNotFound(RuntimeError):
    """No directory with both `initdb` and `postgres` executables was found."""


def _usable(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / name, os.X_OK) for name in _REQUIRED)


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin: compare "9.6" < "15" numerically.
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))


def _debian_dirs() -> list[Path]:
    found = Path("/usr/lib/postgresql").glob("*/bin")
    return sorted(found, key=_version_key, reverse=True)


def _pg_config_dir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip())


def _path_dir() -> Path | None:
    postgres = shutil.which("postgres")
    return Path(postgres).parent if postgres else None


def _pgserver_dir() -> Path | None:
    # Located the way pgserver itself does it (`pginstall/bin` beside its
    # package), without importing it: its import does filesystem work.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def find_bin_dir() -> Path:
    """The first usable binary directory, in the documented order of preference."""
    candidates: list[Path | None] = []
    override = os.environ.get("WARROOM_PG_BIN")
    if override:
        candidates.append(Path(override))
    candidates.extend(_debian_dirs())
    candidates.extend([_pg_config_dir(), _path_dir(), _pgserver_dir()])
    for candidate in candidates:
        if candidate is not None and _usable(candidate):
            return candidate
    raise PostgresNotFound(
        "no PostgreSQL binaries found: set WARROOM_PG_BIN, install PostgreSQL, "
        "or install the `pgserver` wheel (pip install 'warroom[demo]')"
    )


@dataclass(frozen=True)
class RunAs:
    """The identity the server runs under; None fields mean "as ourselves"."""

    uid: int | None = None
    gid: int | None = None

    @property
    def switches(self) -> bool:
        return self.uid is not None

    def chown(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


def service_user() -> RunAs:
    """PostgreSQL refuses to run as root, so as root pick an unprivileged user."""
    if os.geteuid() != 0:
        return RunAs()
    for name in _SERVICE_USERS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return RunAs(uid=entry.pw_uid, gid=entry.pw_gid)
    raise PostgresNotFound("running as root and neither user `postgres` nor `nobody` exists")
