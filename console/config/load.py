"""Load, interpolate, validate and cross-check a configuration file.

Every failure is a `ConfigError` whose `str()` is the one line the CLI prints:
`config.toml:41: rules[2].for: "5 minutes" is not a duration (use 5m)`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from console.alerts.defaults import DEFAULT_RULES
from console.config.build import (
    BuildError,
    KeyPath,
    build,
    convert,
    format_path,
    hints_of,
    toml_key,
)
from console.config.golive import golive_problems, merge_checklist
from console.config.interpolate import UnsetVariable, interpolate
from console.config.locate import find_line
from console.config.model import Config, RuleConfig
from console.config.secret import Secret
from console.keymap import ACTIONS

EX_CONFIG = 78
_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


class ConfigError(Exception):
    def __init__(self, file: Path | str, line: int | None, path: str, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.key_path = path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.key_path}: {self.message}"
            if self.key_path
            else f"{where}: {self.message}"
        )


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "warroom" / "config.toml"


def find_config(explicit: str | None, env: Mapping[str, str] | None = None) -> Path:
    """`--config`, then `$WARROOM_CONFIG`, `./config.toml`, the user config dir."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get("WARROOM_CONFIG"):
        return Path(env["WARROOM_CONFIG"])
    for candidate in (Path("config.toml"), user_config_path()):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "config.toml", None, "", "no configuration found (use --config PATH or $WARROOM_CONFIG)"
    )


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> Config:
    path = Path(path)
    env = os.environ if env is None else env
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, "", f"cannot read: {exc}") from None
    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        message = _TOML_LINE.sub("", str(exc)).strip()
        raise ConfigError(
            path, int(match.group(1)) if match else None, "", f"TOML syntax: {message}"
        ) from None

    def fail(key_path: KeyPath, message: str) -> ConfigError:
        return ConfigError(path, find_line(source, key_path), format_path(key_path), message)

    try:
        data = interpolate(raw, env)
    except UnsetVariable as exc:
        raise fail(exc.path, f"environment variable ${{{exc.variable}}} is not set") from None
    try:
        config = _build(path, data)
    except BuildError as exc:
        raise fail(exc.path, exc.message) from None
    for key_path, message in _cross_check(config, data):
        raise fail(key_path, message)
    return config


def _build(path: Path, data: Mapping[str, Any]) -> Config:
    sections = {toml_key(f): f for f in fields(Config) if f.name != "path"}
    for key in data:
        if key not in sections:
            known = ", ".join(sorted(sections))
            raise BuildError((key,), f"unknown section (known: {known})")
    values: dict[str, Any] = {}
    hints = hints_of(Config)
    for key, f in sections.items():
        if key == "rules":
            values["rules"] = _rules(data.get("rules", []))
        elif key == "checklist":
            values["checklist"] = merge_checklist(data.get("checklist", []))
        elif key in data:
            values[f.name] = convert(hints[f.name], data[key], (key,))
    return Config(path=path, **values)


def _rules(user: object) -> tuple[RuleConfig, ...]:
    if not isinstance(user, list):
        raise BuildError(("rules",), "expected [[rules]] tables")
    defaults = {rule["name"]: (i, rule) for i, rule in enumerate(DEFAULT_RULES)}
    merged: dict[str, RuleConfig] = {
        name: build(RuleConfig, rule, ("defaults", name)) for name, (_, rule) in defaults.items()
    }
    seen: dict[str, int] = {}
    for i, table in enumerate(user):
        if not isinstance(table, dict):
            raise BuildError(("rules", i), "expected a table")
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise BuildError(("rules", i, "name"), "is required")
        if name in seen:
            raise BuildError(
                ("rules", i, "name"), f'duplicate rule "{name}" (also rules[{seen[name]}])'
            )
        seen[name] = i
        base = dict(defaults[name][1]) if name in defaults else {}
        merged[name] = build(RuleConfig, base | table, ("rules", i))
        if not merged[name].probe and not merged[name].kind:
            raise BuildError(("rules", i, "probe"), "is required (a probe name, or kind = ...)")
    return tuple(merged.values())


def _user_rule_path(data: Mapping[str, Any], name: str, key: str) -> KeyPath:
    for i, table in enumerate(data.get("rules", [])):
        if isinstance(table, dict) and table.get("name") == name:
            return ("rules", i, key)
    return ("rules",)


def _cross_check(config: Config, data: Mapping[str, Any]) -> list[tuple[KeyPath, str]]:
    problems: list[tuple[KeyPath, str]] = []
    owners: dict[str, str] = {}
    for kind in ("postgres", "http", "sentry", "vitals", "funnel", "support"):
        for name in getattr(config, kind):
            if name in owners:
                problems.append(
                    ((kind, name), f'duplicate probe name "{name}" (also [{owners[name]}.{name}])')
                )
            owners[name] = kind
    if config.backup is not None and "backups" in owners:
        problems.append(
            ((owners["backups"], "backups"), '"backups" is reserved for the backup status probe')
        )
    for name, pg in config.postgres.items():
        problems += [((("postgres", name, "dsn")), m) for m in [_dsn_problem(pg.dsn)] if m]
    for name, http in config.http.items():
        problems += [(("http", name, "url"), m) for m in [_url_problem(http.url)] if m]
    for name, sentry in config.sentry.items():
        problems += [
            (("sentry", name, "base_url"), m) for m in [_url_problem(sentry.base_url)] if m
        ]
    if config.slack.webhook_url:
        problem = _url_problem(config.slack.webhook_url.reveal())
        if problem:
            problems.append(
                (
                    ("slack", "webhook_url"),
                    problem.replace(config.slack.webhook_url.reveal(), "***"),
                )
            )
    if config.backup is not None:
        backup = config.backup
        if backup.database not in config.postgres:
            problems.append(
                ((("backup", "database")), f'"{backup.database}" is not a [postgres.NAME] probe')
            )
        if backup.endpoint_url and (m := _url_problem(backup.endpoint_url)):
            problems.append((("backup", "endpoint_url"), m))
        if backup.destination.startswith("s3://") and not urlsplit(backup.destination).netloc:
            problems.append(
                (
                    ("backup", "destination"),
                    "s3:// destination needs a bucket (s3://bucket/prefix/)",
                )
            )
        if "://" in backup.destination and not backup.destination.startswith("s3://"):
            problems.append(
                (("backup", "destination"), "use s3://bucket/prefix/ or a local directory")
            )
        if backup.sse == "aws:kms" and not backup.kms_key_id:
            problems.append((("backup", "kms_key_id"), 'is required when sse = "aws:kms"'))
        if backup.keep_min < 1:
            problems.append((("backup", "keep_min"), "must be at least 1"))
        if backup.dsn is not None and (m := _dsn_problem(backup.dsn)):
            problems.append((("backup", "dsn"), m))
    if config.drill is not None:
        if m := _dsn_problem(config.drill.target_dsn):
            problems.append((("drill", "target_dsn"), m))
        elif config.backup is not None and config.backup.database in config.postgres:
            source = config.backup.dsn or config.postgres[config.backup.database].dsn
            if not config.drill.allow_same_server and _same_server(source, config.drill.target_dsn):
                problems.append(
                    (
                        ("drill", "target_dsn"),
                        "is the production server "
                        "(set allow_same_server = true to allow scratch databases there)",
                    )
                )
    problems += golive_problems(config, data, KNOWN_KINDS, _url_problem, _dsn_problem)
    names = {rule.name for rule in config.rules}
    for rule in config.rules:
        if rule.probe not in (None, "*") and rule.probe not in config.probe_kinds():
            problems.append(
                (
                    _user_rule_path(data, rule.name, "probe"),
                    f'"{rule.probe}" is not a configured probe',
                )
            )
        if rule.kind is not None and rule.kind not in KNOWN_KINDS:
            problems.append(
                (
                    _user_rule_path(data, rule.name, "kind"),
                    f'"{rule.kind}" is not a probe kind ({", ".join(sorted(KNOWN_KINDS))})',
                )
            )
        if rule.depends_on is not None and rule.depends_on not in names:
            problems.append(
                (
                    _user_rule_path(data, rule.name, "depends_on"),
                    f'"{rule.depends_on}" is not a rule',
                )
            )
        if (cycle := _dependency_cycle(rule, config.rules)) is not None:
            problems.append(
                (
                    _user_rule_path(data, rule.name, "depends_on"),
                    f"depends_on forms a cycle: {' -> '.join(cycle)}",
                )
            )
    taken: dict[str, str] = {}
    for action, key in config.keys.items():
        if action not in ACTIONS:
            problems.append((("keys", action), f"unknown action (known: {', '.join(ACTIONS)})"))
        elif not key.strip():
            problems.append((("keys", action), "key must not be empty"))
        elif key in taken:
            problems.append((("keys", action), f'"{key}" is already bound to {taken[key]}'))
        taken[key] = action
    return problems


def _dependency_cycle(rule: RuleConfig, rules: tuple[RuleConfig, ...]) -> list[str] | None:
    parents = {r.name: r.depends_on for r in rules}
    chain = [rule.name]
    while (parent := parents.get(chain[-1])) is not None:
        chain.append(parent)
        if parent == rule.name:
            return chain
        if parent in chain[:-1]:
            return None  # a cycle further up: reported on its own members
    return None


KNOWN_KINDS = frozenset({"postgres", "http", "sentry", "backups", "vitals", "funnel", "support"})


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        return f'"{url}" is not a valid URL ({exc})'
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f'"{url}" is not an http(s) URL'
    return None


def _dsn_problem(dsn: Secret) -> str | None:
    raw = dsn.reveal()
    if not raw or "://" not in raw:
        # libpq key=value form or empty (PG* environment, service files): libpq judges it.
        if raw and not re.fullmatch(r"\s*(\w+\s*=\s*('([^'\\]|\\.)*'|\S+)\s*)+", raw):
            return f'"{dsn.masked}" is not a DSN (postgresql://user@host/db or key=value)'
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return f'"{dsn.masked}" is not a valid DSN'
    if parts.scheme not in ("postgres", "postgresql"):
        return f'"{dsn.masked}" is not a postgresql:// DSN'
    return None


def _same_server(a: Secret, b: Secret) -> bool:
    def where(dsn: str) -> tuple[str, int]:
        if "://" in dsn:
            parts = urlsplit(dsn)
            return (parts.hostname or "localhost", parts.port or 5432)
        pairs = dict(re.findall(r"(\w+)\s*=\s*'?([^\s']*)'?", dsn))
        return (pairs.get("host", "localhost"), int(pairs.get("port", "5432")))

    ha, hb = where(a.reveal()), where(b.reveal())
    local = {"localhost", "127.0.0.1", "::1"}
    return ha[1] == hb[1] and (ha[0] == hb[0] or (ha[0] in local and hb[0] in local))


def with_overrides(config: Config, **sections: Any) -> Config:
    """A copy with whole sections replaced (tests and the demo use it)."""
    return replace(config, **sections)
