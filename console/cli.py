"""`warroom`: the command-line entry point. Parses arguments and hands off to one command module.

Command modules are imported only when chosen, so `warroom validate` never pays for Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from console.config import EX_CONFIG, ConfigError

# name -> (module under console.commands, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "start the embedded demo stack and the console on it"),
    "check": (
        "check",
        "run every probe once, evaluate rules; exit 0 ok, 1 warning, 2 critical, 3 unknown",
    ),
    "agent": ("agent", "headless: probes, alerts and notifications without the UI"),
    "alerts": ("alerts", "list open alert occurrences"),
    "ack": ("ack", "acknowledge an alert occurrence"),
    "unack": ("ack", "remove an acknowledgement"),
    "silence": ("silence", "silence matching alerts for a while"),
    "backup": ("backup", "back up the database now; exit 0 only on verified success"),
    "drill": ("drill", "run a restore drill now; exit 0 only on verified success"),
    "validate": ("validate", "validate a configuration file; exit 0 or 78"),
}


class _Version(argparse.Action):
    """`--version`, reading the installed metadata only when asked (importlib.metadata
    costs ~50 ms, paid on every start of the console otherwise)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS, help="show the version and exit")
        super().__init__(option_strings, argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("warroom")
        except PackageNotFoundError:
            number = "unknown"
        parser.exit(message=f"warroom {number}\n")


def add_config_option(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    # On a subcommand the default is SUPPRESS, so `warroom --config X check` keeps X.
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None if top_level else argparse.SUPPRESS,
        help="configuration file (default: $WARROOM_CONFIG, ./config.toml, the user config dir)",
    )


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; only the chosen command's module is imported to add its arguments."""
    parser = argparse.ArgumentParser(
        prog="warroom",
        description="Warroom: a terminal live-operations console.",
    )
    parser.add_argument("--version", action=_Version)
    add_config_option(parser, top_level=True)
    parser.add_argument("--read-only", action="store_true", help="disable every action")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((arg for arg in argv if arg in COMMANDS), None)
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        add_config_option(command)
        if name == chosen:
            _module(module).add_arguments(command)  # type: ignore[attr-defined]
    return parser


def _module(name: str) -> object:
    return importlib.import_module(f"console.commands.{name}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    module_name = COMMANDS[args.command][0] if args.command else "console"
    try:
        run = _module(module_name).run  # type: ignore[attr-defined]
        code: int = run(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EX_CONFIG
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
