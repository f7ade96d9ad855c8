#!/usr/bin/env python3
"""The two quick-start commands, with nothing but Python 3.11+ installed.

    python3 dev.py demo    # the console on the embedded demo stack
    python3 dev.py test    # lint, types and the whole test suite

Both create (or reuse) ./.venv and install the project into it when
pyproject.toml changed since the last install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("WARROOM_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".warroom-installed"


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 is
        sys.exit(f"Warroom needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    if not (BIN / "python").exists():
        print(f"creating virtualenv in {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pyproject = ROOT / "pyproject.toml"
    if STAMP.exists() and STAMP.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    print("installing warroom and its dependencies (first run takes a minute)", file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[dev,demo]"], check=True)
    STAMP.touch()


def run(*argv: str) -> int:
    print("$ " + " ".join(argv), file=sys.stderr, flush=True)
    return subprocess.run(argv, cwd=ROOT).returncode


def test(extra: list[str]) -> int:
    steps = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
    ]
    if not extra:
        for step in steps:
            if code := run(*step):
                return code
    return run(str(BIN / "pytest"), "-q", "--snapshot-warn-unused", *extra)


def main() -> int:
    command, extra = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command not in ("demo", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    ensure_venv()
    if command == "demo":
        os.execv(str(BIN / "warroom"), [str(BIN / "warroom"), "demo", *extra])
    return test(extra)


if __name__ == "__main__":
    sys.exit(main())
