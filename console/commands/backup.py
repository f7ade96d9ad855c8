"""`warroom backup`: a verified backup now; progress on stderr, one line on stdout.

Exit 0 only when the backup was verified, 1 on any failure, 130 after Ctrl-C
(the upload aborted, nothing left behind).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options of its own: everything comes from [backup]


def run(args: argparse.Namespace) -> int:
    from console.actions.backup import run_backup
    from console.actions.terminal import run_action
    from console.config import find_config, load_config

    config = load_config(find_config(args.config))
    return run_action(
        config,
        "backup",
        lambda store, progress, cancel: (
            run_backup(config, store, progress, cancel, config.console.operator).summary
        ),
        read_only=bool(getattr(args, "read_only", False)),
    )
