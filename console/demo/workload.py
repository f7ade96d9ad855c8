"""A light synthetic workload on the demo database: `python -m console.demo.workload DSN`.

A few transactions a second, shaped like the app the console watches:
journey-funnel and web-vitals events, now and then a user with a memory,
a support ticket, and the reads a dashboard would do. It survives the
database being stopped (a demo fault) and exits with its parent or on SIGTERM.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import psycopg
from psycopg.types.json import Jsonb

from console.demo.lifeline import exit_on_sigterm, exit_with_parent
from console.demo.schema import FUNNEL, VITALS

_FUNNEL_WEIGHTS = (1200, 720, 430, 260, 150)
# Median per vital, within the plan's "good" thresholds; lognormal spread
# gives the long tail real field data has.
_VITAL_MEDIANS = {
    "performance_fcp": 1100.0,
    "performance_lcp": 1700.0,
    "performance_cls": 0.05,
    "performance_fid": 45.0,
    "performance_inp": 120.0,
}
_USER_EVERY = 20
_TICKET_EVERY = 600
_RECONNECT_SECONDS = 1.0


def _event(conn: psycopg.Connection[tuple[object, ...]], rng: random.Random) -> None:
    session = f"{rng.getrandbits(64):016x}"
    name = rng.choices(FUNNEL, weights=_FUNNEL_WEIGHTS)[0]
    conn.execute(
        "INSERT INTO events (name, session_hash, properties) VALUES (%s, %s, %s)",
        (name, session, Jsonb({"source": "workload"})),
    )
    vital = rng.choice(VITALS)
    value = _VITAL_MEDIANS[vital] * rng.lognormvariate(0.0, 0.35)
    conn.execute(
        "INSERT INTO events (name, value, session_hash) VALUES (%s, %s, %s)",
        (vital, value, session),
    )


def _user_with_memory(conn: psycopg.Connection[tuple[object, ...]], rng: random.Random) -> None:
    row = conn.execute(
        "INSERT INTO users (email_hash, created_at) VALUES (md5(%s), now()) RETURNING id",
        (str(rng.random()),),
    ).fetchone()
    if row is not None:
        conn.execute(
            "INSERT INTO soul_memories (user_id, body, created_at) VALUES (%s, %s, now())",
            (row[0], "a remembered intention"),
        )


def _support_queue(conn: psycopg.Connection[tuple[object, ...]], rng: random.Random) -> None:
    # New tickets arrive, agents answer within minutes and solve them before
    # they age past two hours, so the queue stays a handful of young tickets.
    conn.execute(
        "INSERT INTO support_tickets (status, priority, created_at, escalated)"
        " VALUES ('new', %s, now(), false)",
        (rng.choice(("low", "normal", "normal", "high")),),
    )
    conn.execute(
        "UPDATE support_tickets SET first_response_at = now(), status = 'open'"
        " WHERE first_response_at IS NULL AND created_at < now() - interval '10 minutes'"
    )
    conn.execute(
        "UPDATE support_tickets SET status = 'solved'"
        " WHERE status <> 'solved' AND created_at < now() - interval '100 minutes'"
    )


def _run(conn: psycopg.Connection[tuple[object, ...]], rate: float, rng: random.Random) -> None:
    tick = 0
    while True:
        with conn.transaction():
            _event(conn, rng)
            if tick % _USER_EVERY == 0:
                _user_with_memory(conn, rng)
            if tick % _TICKET_EVERY == _TICKET_EVERY - 1:
                _support_queue(conn, rng)
        conn.execute(
            "SELECT name, count(*) FROM events"
            " WHERE occurred_at > now() - interval '5 minutes' GROUP BY name"
        ).fetchall()
        tick += 1
        time.sleep(rng.uniform(0.5, 1.5) / rate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.demo.workload")
    parser.add_argument("dsn")
    parser.add_argument("--rate", type=float, default=3.0, help="transactions per second")
    args = parser.parse_args(argv)
    exit_with_parent()
    exit_on_sigterm()
    rng = random.Random()
    while True:
        try:
            with psycopg.connect(args.dsn, autocommit=True, connect_timeout=3) as conn:
                _run(conn, args.rate, rng)
        except psycopg.Error:
            # The database is down (a demo fault) or restarting: retry quietly.
            time.sleep(_RECONNECT_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
