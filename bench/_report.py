"""The "Console speed" section of docs/benchmarks.md from console_speed.py's results."""

from __future__ import annotations

import argparse
from typing import Any

from _doc import replace_section
from _term import median, p95

HEADING = "## Console speed"
COLUMNS = ["warroom-120x40", "pg_activity-120x40", "warroom-80x24"]
TARGET_MS = 50.0


def _ms(values: list[float] | None, *, spread: bool = False) -> str:
    if not values:
        return "—"
    text = f"{median(values) * 1000:.0f} ms"
    if spread:
        text += f" ({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"
    return text


def _keys(values: list[float] | None) -> str:
    if not values:
        return "—"
    return f"{median(values) * 1000:.0f} / {p95(values) * 1000:.0f} ms"


def _rss(r: dict[str, Any], at: str) -> str:
    kb = r.get("rss_kb", {}).get(at)
    return "—" if kb is None else f"{kb / 1024:.1f} MB"


def _rows(res: dict[str, Any], args: argparse.Namespace) -> list[tuple[str, list[str], str]]:
    cs = res["contenders"]
    get = [cs.get(name, {}) for name in COLUMNS]
    pg_help = "pg_activity `h`"
    rows = [
        (
            f"first data frame, median of {args.runs} (min-max)",
            [_ms(r.get("first_data"), spread=True) for r in get],
            "< 500 ms",
        ),
        ("first output of any kind, median", [_ms(r.get("first_paint")) for r in get], ""),
        (
            f"idle CPU over {args.idle:.0f} s, % of one core",
            [f"{r['idle_cpu']:.2f} %" if "idle_cpu" in r else "—" for r in get],
            "< 2 %",
        ),
    ]
    if args.long:
        rows.append(("idle CPU over 10 min", [f"{r['long_cpu']:.2f} %" for r in get], "< 2 %"))
    rows.append(
        (
            "terminal output while idle",
            [
                f"{r['tty_bytes_per_s'] / 1024:.1f} KB/s" if "tty_bytes_per_s" in r else "—"
                for r in get
            ],
            "",
        )
    )
    for at in ["1 min", "5 min", "10 min"] if args.long else ["1 min"]:
        rows.append((f"RSS (VmRSS) at {at}", [_rss(r, at) for r in get], "< 80 MB, flat"))
    rows += [
        (
            f"pause key to screen, median / p95 of {args.presses} (`p` / Space)",
            [_keys(r.get("pause_key")) for r in get],
            f"< {TARGET_MS:.0f} ms",
        ),
        (
            f"help key to screen, median / p95 (`?` / {pg_help})",
            [_keys(r.get("help_open")) for r in get],
            f"< {TARGET_MS:.0f} ms",
        ),
        (
            "help closed by `?` / pg_activity any key",
            [_keys(r.get("help_close ?") or r.get("help_close any key")) for r in get],
            "",
        ),
        ("help closed by Escape", [_keys(r.get("help_close Esc")) for r in get], ""),
    ]
    return rows


def verdict(res: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lines = []
    for name in ("warroom-120x40", "warroom-80x24"):
        r = res["contenders"].get(name, {})
        missed = []
        if r.get("first_data") and median(r["first_data"]) >= 0.5:
            missed.append(f"first data frame {median(r['first_data']) * 1000:.0f} ms (target 500)")
        for key, over in (("idle_cpu", f"{args.idle:.0f} s"), ("long_cpu", "10 min")):
            if r.get(key, 0) >= 2.0:
                missed.append(f"idle CPU {r[key]:.2f} % over {over} (target 2 %)")
        rss = r.get("rss_kb", {})
        if rss and max(rss.values()) / 1024 >= 80:
            missed.append(f"RSS {max(rss.values()) / 1024:.0f} MB (target 80)")
        if len(rss) > 1 and (rss["10 min"] - rss["1 min"]) / 1024 > 5:
            missed.append(f"RSS grew {(rss['10 min'] - rss['1 min']) / 1024:.1f} MB in 9 min")
        for key, label in (("pause_key", "pause key"), ("help_open", "help key")):
            if r.get(key) and p95(r[key]) * 1000 >= TARGET_MS:
                missed.append(f"{label} p95 {p95(r[key]) * 1000:.0f} ms (target {TARGET_MS:.0f})")
        lines.append(
            f"- **{name}**: "
            + ("meets every target." if not missed else "misses: " + "; ".join(missed) + ".")
        )
    return lines


def render(res: dict[str, Any], command: str, args: argparse.Namespace) -> str:
    f, fl = res["facts"], res["floor"]
    head = ["metric", *(c.replace("-", " ") for c in COLUMNS), "target"]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for metric, cells, target in _rows(res, args):
        table.append(f"| {metric} | " + " | ".join(cells) + f" | {target} |")
    prof = [
        f"py-spy ({name}, {p['seconds']:.0f} s, {p['samples']} samples, idle):\n\n"
        + "\n".join(f"    {line}" for line in p["summary"])
        for name, r in res["contenders"].items()
        if (p := r.get("profile"))
    ]
    hidden = "".join(
        f" {name} shows no API panel without scrolling, so its first data frame is the Database "
        "panel alone."
        for name, r in res["contenders"].items()
        if name.startswith("warroom") and r.get("api_panel_visible") is False
    )
    la = lambda v: " ".join(f"{x:.2f}" for x in v)  # noqa: E731
    return "\n\n".join(
        [
            HEADING,
            " ".join(
                [
                    f"Machine: {f['cores']} cores ({f['cpu']}), Linux {f['kernel']},",
                    f"Python {f['python']}; Textual {f['textual']},",
                    f"pg_activity {f['pg_activity']},",
                    f"PostgreSQL {f['postgresql']} (the `warroom demo --no-ui` cluster with its",
                    f"workload), {f['tmux']}. Both consoles at 1 s refresh (Warroom",
                    f'`console.refresh = "{f["refresh"]}"` in config.toml,',
                    "pg_activity `--refresh 1`,",
                    "its other options default), same monitor role, each exec'd in a detached",
                    "session of a private tmux server at the size shown; measured from /proc of",
                    "the console's own process tree. Load average before",
                    f"{la(f['loadavg_before'])}, after {la(f['loadavg_after'])}",
                    f"(a shared machine). Code measured: {f.get('tree', '?')}.",
                ]
            ),
            f"Command:\n\n{command}",
            "\n".join(table),
            " ".join(
                [
                    "Measurement floor in the same tmux: spawn to first output of",
                    f"`sh -c 'echo READY; exec cat'` {fl['spawn_to_output'] * 1000:.0f} ms;",
                    "a key to",
                    f"`cat`'s echo on screen {_keys(fl['echo'])} (median / p95).",
                    "Screens are polled",
                    "with `tmux capture-pane -p` every 10 ms for start-up and every 2 ms for keys,",
                    f"so the figures include up to one poll plus the floor.{hidden} A lone Escape",
                    "waits ESCDELAY (Warroom's default 25 ms) to be told apart from the start of",
                    "an escape sequence.",
                ]
            ),
            *(
                [
                    " ".join(
                        [
                            "The stack's own floor: a Textual app that imports psycopg, opens",
                            "one connection and shows one `SELECT 1` round trip",
                            "(bench/floor_app.py, launched in the same rounds) has its first",
                            f"data frame at {_ms(fl['stack_first_data'], spread=True)}.",
                        ]
                    )
                ]
                if fl.get("stack_first_data")
                else []
            ),
            "\n".join(verdict(res, args)),
            *(
                ["Not measured as planned: " + "; ".join(res["notes"]) + "."]
                if res["notes"]
                else []
            ),
            *prof,
        ]
    )


def write_section(
    res: dict[str, Any], command: str, args: argparse.Namespace, *, write: bool
) -> str:
    section = render(res, command, args)
    if not write:
        return section
    replace_section(HEADING, section)
    return section
