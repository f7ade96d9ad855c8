"""`warroom alerts [--json]`: open alert occurrences (and active silences) from the state file.

Read from the store, so it shows what the engine-lease holder (console or agent)
last persisted; it works the same whether or not one is running.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.alerts.model import Occurrence, Silence

ID_SHOWN = 8  # characters of an occurrence id in the table; >= the 6 `ack` accepts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list of occurrences")


def run(args: argparse.Namespace) -> int:
    from console.config import find_config, load_config
    from console.state import StateError, open_store

    config = load_config(find_config(args.config))
    try:
        with open_store(config) as store:
            occurrences = store.open_occurrences()
            now = store.clock.now()
            silences = store.silences(active_at=now)
    except (StateError, sqlite3.Error) as exc:  # a locked or broken state file: one line
        print(f"warroom: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([as_json(occ) for occ in occurrences], indent=2))
    else:
        print(render_table(occurrences, silences, now))
    return 0


def as_json(occ: Occurrence) -> dict[str, object]:
    return {
        "id": occ.id,
        "rule": occ.rule,
        "probe": occ.probe,
        "severity": occ.severity,
        "state": occ.state.value,
        "summary": occ.summary,
        "since": iso(occ.fired_at or occ.started_at),
        "value": occ.value,
        "acknowledged_by": occ.ack.by if occ.ack else None,
        "acknowledged_at": iso(occ.ack.at) if occ.ack else None,
        "deadline": iso(occ.deadline),
        "silenced_by": occ.silenced_by,
        "escalated": occ.escalated_at is not None,
    }


def render_table(occurrences: list[Occurrence], silences: list[Silence], now: float) -> str:
    from console.config.durations import format_duration

    if not occurrences:
        lines = ["No open alerts."]
    else:
        rows = [("ID", "SEV", "STATE", "RULE", "PROBE", "SINCE", "ACK BY / DEADLINE", "SUMMARY")]
        for occ in occurrences:
            rows.append(
                (
                    occ.id[:ID_SHOWN],
                    occ.severity,
                    _state(occ),
                    occ.rule,
                    occ.probe,
                    format_duration(max(0.0, now - (occ.fired_at or occ.started_at))),
                    _owner(occ, now),
                    occ.summary,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        lines = [
            "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
            for row in rows
        ]
    for s in silences:
        lines.append(
            f"silence {s.id[:ID_SHOWN]}: {_matcher(s)} for {format_duration(s.ends_at - now)} "
            f"more, by {s.author}: {s.comment}"
        )
    return "\n".join(lines)


def iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat()


def _state(occ: Occurrence) -> str:
    words = [occ.state.value]
    if occ.degraded:
        words.append("degraded")
    if occ.escalated_at is not None:
        words.append("escalated")
    if occ.silenced_by:
        words.append("silenced")
    return ",".join(words)


def _owner(occ: Occurrence, now: float) -> str:
    from console.config.durations import format_duration

    if occ.ack is not None:
        return occ.ack.by
    if occ.deadline is None:
        return "-"
    left = occ.deadline - now
    return f"ack in {format_duration(left)}" if left >= 0 else f"{format_duration(-left)} overdue"


def _matcher(s: Silence) -> str:
    fields = (
        ("rule", s.matcher.rule),
        ("probe", s.matcher.probe),
        ("severity", s.matcher.severity),
    )
    return " ".join(f"{k}={v}" for k, v in fields if v not in ("*", "")) or "everything"
