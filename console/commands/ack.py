"""`warroom ack ID [--note TEXT]` and `warroom unack ID` (one module: see `args.command`).

Writes an operator intent and an audit entry to the state file; the process
holding the engine lease (console or agent) applies it on its next refresh. An
ID may be a unique prefix of at least 6 characters, as the table shows them.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.state import IntentKind, Store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="alert occurrence id (or a unique prefix, 6+ characters)")
    parser.add_argument("--note", default="", help="why, or what you are doing about it")


def run(args: argparse.Namespace) -> int:
    from console.config import find_config, load_config
    from console.state import StateError, open_store, operator_identity

    kind: IntentKind = "unack" if args.command == "unack" else "ack"
    if args.read_only:
        return fail(f"read-only: {kind} is disabled")
    config = load_config(find_config(args.config))
    try:
        with open_store(config) as store:
            occ = store.occurrence(args.id)
            if occ is None:
                return fail(f"no alert with id {args.id!r} (see `warroom alerts`)")
            if not occ.open:
                return fail(f"alert {occ.id[:8]} ({occ.rule} on {occ.probe}) is already resolved")
            applies = submit_intent(
                store,
                kind,
                occ.id,
                operator_identity(config.console.operator),
                args.note,
                detail={"rule": occ.rule, "probe": occ.probe},
            )
    except (StateError, sqlite3.Error) as exc:  # a locked or broken state file: one line
        return fail(str(exc))
    verb = "acknowledgement" if kind == "ack" else "unacknowledgement"
    print(f"{verb} of {occ.severity} {occ.rule} on {occ.probe} ({occ.id[:8]}) recorded; {applies}")
    return 0


def submit_intent(
    store: Store,
    kind: IntentKind,
    target: str,
    actor: str,
    note: str,
    payload: Mapping[str, object] | None = None,
    detail: Mapping[str, object] | None = None,
) -> str:
    """Intent first (that is what gets applied), then its audit entry; says who applies it."""
    from console.state import ENGINE_LEASE

    intent_id = store.add_intent(kind, target, actor, note, payload)
    store.audit(
        actor, kind, target, "requested", {"intent": intent_id, "note": note, **(detail or {})}
    )
    holder = store.lease_holder(ENGINE_LEASE)
    if holder is None:
        return "no console or agent is running: the next one to start applies it"
    return f"{holder} applies it within a second"


def fail(message: str) -> int:
    print(f"warroom: {message}", file=sys.stderr)
    return 1
