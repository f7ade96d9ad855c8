"""`warroom [--config PATH] [--read-only]`: the console itself."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.config import Config
    from console.screens.demo import DemoControl

# How long a lone ESC waits for the rest of a sequence before it is the Escape key
# (console/terminal.py says why 25 ms); the environment's ESCDELAY wins.
DEFAULT_ESCDELAY_MS = "25"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Nothing beyond the top-level --config and --read-only."""


def run(args: argparse.Namespace) -> int:
    from console.config import find_config, load_config

    config = load_config(find_config(args.config))
    return run_console(config, read_only=bool(getattr(args, "read_only", False)))


def run_console(config: Config, *, read_only: bool = False, demo: DemoControl | None = None) -> int:
    """Build the monitor and the app (the same factory the tests use) and run until quit."""
    os.environ.setdefault("ESCDELAY", DEFAULT_ESCDELAY_MS)  # Textual reads it on import
    from console.app import create_app
    from console.monitor import create_monitor
    from console.state.masking import protect_logs
    from console.telemetry import init_telemetry

    protect_logs(config.secrets())
    init_telemetry(config.telemetry, config.secrets(), config.console.environment)
    monitor = create_monitor(config, read_only=read_only)
    app = create_app(monitor, read_only=read_only, demo=demo)
    app.freeze_heap_after_start = True
    return app.run() or 0
