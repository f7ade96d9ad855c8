"""`warroom agent`: probes, alerts and notifications with no UI, until SIGTERM or SIGINT.

What a team runs under systemd (docs/warroom-agent.service) so alerts go out
when nobody is watching. Logs one line per alert event on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from typing import TextIO

from console.config import Config, find_config, load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--flush-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="on shutdown, keep delivering due notifications this long (default 10)",
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(find_config(args.config))
    import logging

    from console.state.masking import protect_logs
    from console.telemetry import init_telemetry

    protect_logs(config.secrets())  # before the first record: tracebacks quote DSNs
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%SZ",
    )
    logging.Formatter.converter = time.gmtime

    init_telemetry(config.telemetry, config.secrets(), config.console.environment)
    return asyncio.run(serve(config, sys.stdout, args.flush_timeout))


def log_line(out: TextIO, text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out.write(f"{stamp} {text}\n")
    out.flush()


async def serve(config: Config, out: TextIO, flush_timeout: float) -> int:
    from console.alerts.model import AlertEvent
    from console.config.secret import scrub
    from console.monitor import create_monitor

    monitor = create_monitor(config)
    secrets = config.secrets()

    def on_event(event: AlertEvent) -> None:
        occ = event.occurrence
        who = f" by {event.actor}" if event.actor else ""
        text = f"{event.kind.value} {occ.severity} {occ.rule} {occ.probe}{who}: {occ.summary}"
        log_line(out, scrub(text, secrets))

    monitor.on_event(on_event)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await monitor.start()
    role = "leader" if monitor.leader else f"follower of {monitor.store.lease_holder('engine')}"
    log_line(out, f"agent started: {len(config.probe_kinds())} probes, {role}")
    await stop.wait()
    log_line(out, "agent stopping: flushing notifications")
    await monitor.stop(flush_timeout=flush_timeout)
    pending = monitor.snapshot().pending_notifications
    log_line(out, f"agent stopped ({pending} notifications kept in the outbox)")
    return 0
