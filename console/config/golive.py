"""Loading and cross-checking `[vitals.*]`, `[funnel.*]`, `[support.*]` and `[[checklist]]`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from console.config.build import BuildError, KeyPath, build
from console.config.model import (
    TIMING_VITALS,
    VITALS,
    ChecklistItem,
    Config,
    EventsTable,
    slug,
)
from console.config.secret import Secret

Problems = list[tuple[KeyPath, str]]
UrlCheck = Callable[[str], str | None]
DsnCheck = Callable[[Secret], str | None]

# A timing threshold above this was almost certainly written in milliseconds as a
# bare number (`lcp = 2500`), which a duration reads as seconds.
_PLAUSIBLE_TIMING = 60.0


# Names a proof may read besides its probe's metrics.
FACTS = frozenset({"telemetry_configured"})

# The plan's checklist, verbatim, as TOML-shaped tables (the loader validates and
# merges them with `[[checklist]]` exactly as it does rules). Ids are the slugs of
# the texts; a `[[checklist]]` table with one of them overrides that item.
DEFAULT_CHECKLIST: tuple[dict[str, Any], ...] = (
    {
        "phase": "24h",
        "text": "Real-time error monitoring active",
        "kind": "sentry",
        "proof": "up and telemetry_configured",
    },
    {
        "phase": "24h",
        "text": "Performance alerts configured",
        "rules": ["api-slow", "api-availability"],
    },
    {
        "phase": "24h",
        "text": "Database backup verified",
        "kind": "backups",
        "proof": "newest_verified",
    },
    {"phase": "24h", "text": "Support team on standby"},
    {
        "phase": "24h",
        "text": "Analytics tracking confirmed",
        "kind": "funnel",
        "proof": "events_in_window > 0",
    },
    {"phase": "week", "text": "User journey funnel analysis"},
    {"phase": "week", "text": "Performance optimization based on real data"},
    {"phase": "week", "text": "Support ticket pattern analysis"},
    {
        "phase": "week",
        "text": "Backup/restore procedures tested",
        "kind": "backups",
        "proof": "drill_ok",
    },
    {"phase": "month", "text": "Full analytics review"},
    {
        "phase": "month",
        "text": "Disaster recovery drill",
        "kind": "backups",
        "proof": "drill_ok and drill_rto <= rto_target",
    },
    {"phase": "month", "text": "Support process optimization"},
    {"phase": "month", "text": "Monitoring alert tuning"},
)


def table_parts(name: str) -> tuple[str, ...]:
    """`events` or `analytics.events` as identifier parts (quoted by the probe, never spliced)."""
    return tuple(name.split("."))


def merge_checklist(user: object) -> tuple[ChecklistItem, ...]:
    """The plan's items with `[[checklist]]` merged in by id, disabled items left out.

    A table whose id (given, or the slug of its text) is a built-in's overrides only
    the keys it sets; any other table adds an item after the built-ins.
    """
    if not isinstance(user, list):
        raise BuildError(("checklist",), "expected [[checklist]] tables")
    defaults = {slug(raw["text"]): raw for raw in DEFAULT_CHECKLIST}
    merged = {
        key: build(ChecklistItem, raw, ("defaults", "checklist", key))
        for key, raw in defaults.items()
    }
    seen: dict[str, int] = {}
    for i, table in enumerate(user):
        if not isinstance(table, dict):
            raise BuildError(("checklist", i), "expected a table")
        key = table.get("id") or (slug(table["text"]) if isinstance(table.get("text"), str) else "")
        if key in seen:
            raise BuildError(
                ("checklist", i, "id"), f'duplicate item "{key}" (also checklist[{seen[key]}])'
            )
        seen[key] = i
        base = dict(defaults.get(key, {}))
        if "probe" in table or "kind" in table:
            # Pointing a built-in at another probe replaces its target, not adds one.
            base.pop("probe", None)
            base.pop("kind", None)
        merged[key] = build(ChecklistItem, base | table, ("checklist", i))
    return tuple(item for item in merged.values() if item.enabled)


def golive_problems(
    config: Config,
    data: Mapping[str, Any],
    known_kinds: frozenset[str],
    url_problem: UrlCheck,
    dsn_problem: DsnCheck,
) -> Problems:
    problems: Problems = []
    for name, vitals in config.vitals.items():
        at: KeyPath = ("vitals", name)
        problems += _one_source(at, vitals.dsn, vitals.url, url_problem, dsn_problem)
        if vitals.dsn:
            problems += _table_problems(at, vitals.table, _columns(vitals, "value_column"))
        for key in vitals.events:
            if key not in VITALS:
                known = ", ".join(VITALS)
                problems.append(((*at, "events", key), f"unknown vital (known: {known})"))
        if vitals.dsn and not vitals.events:
            problems.append(((*at, "events"), "names no vital to measure"))
        if len(set(vitals.events.values())) != len(vitals.events):
            problems.append(((*at, "events"), "two vitals read the same event name"))
        for vital in TIMING_VITALS:
            seconds = vitals.thresholds.of(vital)
            if seconds > _PLAUSIBLE_TIMING:
                problems.append(
                    (
                        (*at, "thresholds", vital),
                        f'{seconds:g} is seconds; write milliseconds with a unit ("{seconds:g}ms")',
                    )
                )
        problems += _window_problems(at, vitals)
    for name, funnel in config.funnel.items():
        at = ("funnel", name)
        problems += _one_source(at, funnel.dsn, None, url_problem, dsn_problem)
        problems += _table_problems(at, funnel.table, _columns(funnel))
        problems += _window_problems(at, funnel)
        if len(funnel.steps) < 2 or len(set(funnel.steps)) != len(funnel.steps):
            problems.append(((*at, "steps"), "needs at least two distinct event names"))
        if not 0.0 < funnel.drop_threshold <= 1.0:
            problems.append(((*at, "drop_threshold"), "must be a ratio within (0, 1]"))
    for name, support in config.support.items():
        at = ("support", name)
        problems += _one_source(at, support.dsn, support.url, url_problem, dsn_problem)
        if support.email and not support.token:
            problems.append(((*at, "token"), "is required with email (Zendesk API token auth)"))
        if support.dsn:
            columns = {
                key: getattr(support, key)
                for key in ("status_column", "created_column", "first_response_column")
            }
            problems += _table_problems(at, support.table, columns)
        if support.promise <= 0:
            problems.append(((*at, "promise"), "must be longer than 0s"))
    problems += _checklist_problems(config, data, known_kinds)
    return problems


def _one_source(
    at: KeyPath,
    dsn: Secret | None,
    url: str | None,
    url_problem: UrlCheck,
    dsn_problem: DsnCheck,
) -> Problems:
    if bool(dsn) == bool(url):
        return [(at, "needs either dsn (SQL) or url (HTTP), not both")]
    problem = url_problem(url) if url else dsn_problem(dsn) if dsn else None
    return [((*at, "url" if url else "dsn"), problem)] if problem else []


def _columns(source: EventsTable, *extra: str) -> dict[str, str]:
    keys = ("name_column", "time_column", *extra)
    return {key: str(getattr(source, key)) for key in keys}


def _table_problems(at: KeyPath, table: str, columns: Mapping[str, str]) -> Problems:
    problems: Problems = []
    parts = table_parts(table)
    if not all(parts) or len(parts) > 2:
        problems.append(((*at, "table"), f'"{table}" is not a table (name or schema.name)'))
    problems += [((*at, key), "must not be empty") for key, value in columns.items() if not value]
    return problems


def _window_problems(at: KeyPath, source: EventsTable) -> Problems:
    return [((*at, "window"), "must be longer than 0s")] if source.window <= 0 else []


def _checklist_problems(
    config: Config, data: Mapping[str, Any], known_kinds: frozenset[str]
) -> Problems:
    problems: Problems = []
    probes = config.probe_kinds()
    rules = {rule.name for rule in config.rules}
    for item in config.checklist:
        base = _user_item_path(data, item.id)
        found: list[tuple[str, str]] = []
        if item.probe is not None and item.kind is not None:
            found.append(("kind", "set probe or kind, not both"))
        if item.probe is not None and item.probe not in probes:
            found.append(("probe", f'"{item.probe}" is not a configured probe'))
        if item.kind is not None and item.kind not in known_kinds:
            kinds = ", ".join(sorted(known_kinds))
            found.append(("kind", f'"{item.kind}" is not a probe kind ({kinds})'))
        if (item.probe or item.kind) and item.proof is None:
            found.append(("proof", "is required with probe or kind"))
        if item.proof is not None and item.probe is None and item.kind is None:
            unknown = sorted(item.proof.metric_names() - FACTS)
            if unknown:
                found.append(
                    (
                        "proof",
                        f"reads {', '.join(unknown)} without probe or kind "
                        f"(alone it may read: {', '.join(sorted(FACTS))})",
                    )
                )
        found += [("rules", f'"{name}" is not a rule') for name in item.rules if name not in rules]
        # Items not in the file (built-ins) are reported against the [[checklist]] section.
        problems += [((*base, key) if len(base) > 1 else base, message) for key, message in found]
    return problems


def _user_item_path(data: Mapping[str, Any], item_id: str) -> KeyPath:
    for i, table in enumerate(data.get("checklist", [])):
        if not isinstance(table, dict):
            continue
        text = table.get("text")
        if table.get("id") == item_id or (isinstance(text, str) and slug(text) == item_id):
            return ("checklist", i)
    return ("checklist",)
