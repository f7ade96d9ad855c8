"""`warroom demo`: the embedded demo stack (throwaway PostgreSQL, demo API, backup
directory) and the console on the packaged reference configuration.

`--no-ui` starts only the stack and prints `export` lines for other tools.
Quitting, a crash, SIGTERM or even SIGKILL removes everything the demo started:
the stack lives in a supervisor process that cleans up when we go away.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib.resources import as_file, files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-ui",
        action="store_true",
        help="start only the demo stack, print export lines, run until SIGINT/SIGTERM",
    )
    parser.add_argument(
        "--read-only", action="store_true", default=argparse.SUPPRESS, help="disable every action"
    )


def run(args: argparse.Namespace) -> int:
    from console.demo.stack import DemoStack, run_no_ui

    if args.no_ui:
        return run_no_ui(sys.stdout)
    from console.commands.console import run_console
    from console.config import load_config

    print("starting the demo stack…", file=sys.stderr, flush=True)
    stack = DemoStack().start()
    try:
        os.environ.update(stack.env())
        with as_file(files("console") / "reference_config.toml") as reference:
            config = load_config(args.config or reference)
        return run_console(config, read_only=args.read_only, demo=stack.control)
    finally:
        stack.close()
