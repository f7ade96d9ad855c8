"""`warroom drill [--cleanup] [--keep]`: a restore drill now, or cleanup of drill leftovers.

Exit 0 only when the restored database passed every check within the RTO
target, 1 on failure, 130 after Ctrl-C (pg_restore stopped, scratch database dropped).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cleanup",
        action="store_true",
        help="only drop scratch databases that earlier (crashed) drills left behind",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch database after the drill, for inspection",
    )


def run(args: argparse.Namespace) -> int:
    from console.actions.drill import cleanup, run_drill
    from console.actions.progress import CancelToken, ProgressCallback
    from console.actions.terminal import run_action
    from console.config import find_config, load_config
    from console.state.store import Store

    config = load_config(find_config(args.config))
    operator = config.console.operator

    def drill(store: Store, progress: ProgressCallback, cancel: CancelToken) -> str:
        if args.cleanup:
            dropped = cleanup(config, store, operator)
            return f"dropped {len(dropped)} leftover scratch database(s)" + (
                f": {', '.join(dropped)}" if dropped else ""
            )
        keep = True if args.keep else None
        return run_drill(config, store, progress, cancel, operator, keep=keep).summary

    return run_action(config, "drill", drill, read_only=bool(getattr(args, "read_only", False)))
