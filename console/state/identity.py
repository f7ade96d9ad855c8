"""Who is at the keyboard, for acknowledgements, silences and the audit log."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping


def operator_identity(config_operator: str | None, env: Mapping[str, str] | None = None) -> str:
    """`[console].operator`, else $USER; plus ` (ssh ADDR)` when logged in over SSH.

    The SSH client address is what tells two people sharing a role account apart.
    """
    env = os.environ if env is None else env
    name = (config_operator or "").strip() or env.get("USER") or _login_name()
    client = env.get("SSH_CONNECTION", "").split()
    return f"{name} (ssh {client[0]})" if client else name


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"
