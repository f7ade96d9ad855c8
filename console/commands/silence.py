"""`warroom silence --rule NAME [--probe NAME] [--severity P1] --for 2h --comment TEXT`.

Writes a silence intent and an audit entry; the engine-lease holder applies it.
Prints the new silence's id on stdout (for scripts) and what happened on stderr.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import uuid

from console.config.durations import DurationError, parse_duration
from console.config.model import SEVERITIES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rule", required=True, help="rule name, or * for any rule")
    parser.add_argument("--probe", default="*", help="probe name (default: any)")
    parser.add_argument("--severity", default="*", choices=[*SEVERITIES, "*"])
    parser.add_argument(
        "--for", dest="duration", required=True, type=_duration, help="how long, e.g. 30m, 2h"
    )
    parser.add_argument("--comment", required=True, help="why (shown with the silence)")


def run(args: argparse.Namespace) -> int:
    from console.commands.ack import fail, submit_intent
    from console.config import find_config, load_config
    from console.config.durations import format_duration
    from console.state import StateError, open_store, operator_identity

    if args.read_only:
        return fail("read-only: silence is disabled")
    if not args.comment.strip():
        return fail("a silence needs a --comment saying why")
    config = load_config(find_config(args.config))
    rules = {rule.name for rule in config.rules}
    if args.rule != "*" and args.rule not in rules:
        return fail(f"no rule named {args.rule!r} (known: {', '.join(sorted(rules))})")
    probes = config.probe_kinds()
    if args.probe != "*" and args.probe not in probes:
        return fail(f"no probe named {args.probe!r} (known: {', '.join(sorted(probes))})")
    silence_id = uuid.uuid4().hex
    try:
        with open_store(config) as store:
            now = store.clock.now()
            matcher = {"rule": args.rule, "probe": args.probe, "severity": args.severity}
            # The shape the engine-lease holder reads back (console.monitor._silence_from).
            payload = {
                "id": silence_id,
                **matcher,
                "starts_at": now,
                "ends_at": now + args.duration,
            }
            applies = submit_intent(
                store,
                "silence",
                silence_id,
                operator_identity(config.console.operator),
                args.comment,
                payload,
                detail={**matcher, "for": args.duration},
            )
    except (StateError, sqlite3.Error) as exc:  # a locked or broken state file: one line
        return fail(str(exc))
    shown = " ".join(f"{k}={v}" for k, v in matcher.items() if v != "*") or "everything"
    print(silence_id)
    print(
        f"silence of {shown} for {format_duration(args.duration)} recorded; {applies}",
        file=sys.stderr,
    )
    return 0


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except DurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be longer than 0s")
    return seconds
