"""`warroom validate [PATH]`: exit 0 for a valid configuration, 78 with one line otherwise."""

from __future__ import annotations

import argparse

from console.config import find_config, load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="configuration file to validate")


def run(args: argparse.Namespace) -> int:
    path = find_config(args.path or args.config)
    config = load_config(path)
    probes = config.probe_kinds()
    rules = sum(rule.enabled for rule in config.rules)
    print(f"{path}: ok ({len(probes)} probes, {rules} rules)")
    return 0
