"""`[vitals.*]`, `[funnel.*]`, `[support.*]`, `[[checklist]]`: defaults, errors with file:line, rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from console.alerts.defaults import _VITALS
from console.config import ConfigError, load_config
from console.config.model import PLAN_FUNNEL, VITALS, Config

BASE = """\
[postgres.main]
dsn = "postgresql://app:s3cret@db:5432/app"

[http.api]
url = "http://127.0.0.1:9/health"
"""
DSN = 'dsn = "postgresql://reader:s3cret@db/app"\n'

CASES: list[tuple[str, str, str]] = [
    # (extra TOML appended to BASE after a blank line, "line: key path", message fragment)
    ("[vitals.web]\n", ":7: vitals.web:", "needs either dsn (SQL) or url (HTTP)"),
    ('[vitals.web]\n' + DSN + 'url = "http://x"\n', ":7: vitals.web:", "not both"),
    ('[vitals.web]\nurl = "ftp://x/v"\n', ":8: vitals.web.url:", "not an http(s) URL"),
    ('[vitals.web]\n' + DSN + 'windw = "1h"\n', ":9: vitals.web.windw:", "did you mean 'window'"),
    ('[vitals.web]\n' + DSN + 'window = "0s"\n', ":9: vitals.web.window:", "longer than 0s"),
    ('[vitals.web]\n' + DSN + 'events = { ttfb = "performance_ttfb" }\n', ":9: vitals.web.events.ttfb:", "unknown vital"),
    ('[vitals.web]\n' + DSN + 'events = { lcp = "x", fcp = "x" }\n', ":9: vitals.web.events:", "same event name"),
    ('[vitals.web]\n' + DSN + 'table = "a.b.c"\n', ":9: vitals.web.table:", "is not a table"),
    ('[vitals.web]\n' + DSN + 'value_column = ""\n', ":9: vitals.web.value_column:", "must not be empty"),
    ('[vitals.web]\n' + DSN + '[vitals.web.thresholds]\nlcp = 2500\n', ":10: vitals.web.thresholds.lcp:", 'write milliseconds with a unit ("2500ms")'),
    ('[vitals.web]\n' + DSN + '[vitals.web.thresholds]\nfcp = "1.8 seconds"\n', ":10: vitals.web.thresholds.fcp:", "use 1.8s"),
    ('[vitals.web]\n' + DSN + '[vitals.web.thresholds]\ncls = "0.1"\n', ":10: vitals.web.thresholds.cls:", "expected a number"),
    ("[funnel.journey]\n", ":7: funnel.journey.dsn:", "is required"),
    ('[funnel.journey]\ndsn = "mysql://x@y/z"\n', ":8: funnel.journey.dsn:", "not a postgresql:// DSN"),
    ('[funnel.journey]\n' + DSN + 'steps = ["landing"]\n', ":9: funnel.journey.steps:", "at least two distinct"),
    ('[funnel.journey]\n' + DSN + 'steps = ["a", "a"]\n', ":9: funnel.journey.steps:", "at least two distinct"),
    ('[funnel.journey]\n' + DSN + "drop_threshold = 1.5\n", ":9: funnel.journey.drop_threshold:", "within (0, 1]"),
    ('[funnel.journey]\n' + DSN + 'time_column = ""\n', ":9: funnel.journey.time_column:", "must not be empty"),
    ("[support.desk]\n", ":7: support.desk:", "needs either dsn (SQL) or url (HTTP)"),
    ('[support.desk]\nurl = "https://x.zendesk.com"\nemail = "a@b"\n', ":7: support.desk.token:", "is required with email"),
    ('[support.desk]\nurl = "https://x.zendesk.com"\npromise = "2 hours"\n', ":9: support.desk.promise:", "use 2h"),
    ('[support.desk]\n' + DSN + 'first_response_column = ""\n', ":9: support.desk.first_response_column:", "must not be empty"),
    ('[funnel.api]\n' + DSN, ":7: funnel.api:", 'duplicate probe name "api" (also [http.api])'),
    ('[support.backups]\nurl = "https://x"\n[backup]\ndatabase = "main"\ndestination = "/b"\n', ":7: support.backups:", "reserved"),
    ('[[checklist]]\nphase = "day"\ntext = "x"\n', ":8: checklist[0].phase:", "is not one of '24h', 'week', 'month'"),
    ('[[checklist]]\nphase = "24h"\n', ":7: checklist[0].text:", "is required"),
    ('[[checklist]]\nphase = "24h"\ntext = "x"\nprobe = "main"\nproof = "up >"\n', ":11: checklist[0].proof:", '"up >"'),
    ('[[checklist]]\nphase = "24h"\ntext = "x"\nprobe = "nope"\nproof = "up"\n', ":10: checklist[0].probe:", '"nope" is not a configured probe'),
    ('[[checklist]]\nphase = "24h"\ntext = "x"\nkind = "vital"\nproof = "up"\n', ":10: checklist[0].kind:", '"vital" is not a probe kind'),
    ('[[checklist]]\nphase = "24h"\ntext = "x"\nprobe = "main"\nkind = "http"\nproof = "up"\n', ":11: checklist[0].kind:", "probe or kind, not both"),
    ('[[checklist]]\nphase = "24h"\ntext = "x"\nprobe = "main"\n', ":7: checklist[0].proof:", "is required with probe or kind"),
    ('[[checklist]]\nphase = "24h"\ntext = "x"\nproof = "up and telemetry_configured"\n', ":10: checklist[0].proof:", "reads up without probe or kind"),
    ('[[checklist]]\nphase = "24h"\ntext = "x"\nrules = ["api-slow", "api-fast"]\n', ":10: checklist[0].rules:", '"api-fast" is not a rule'),
    ('[[checklist]]\nphase = "24h"\ntext = "Same"\n[[checklist]]\nphase = "week"\ntext = "same"\n', ":10: checklist[1].id:", 'duplicate item "same" (also checklist[0])'),
    ('[[rules]]\nname = "x"\nkind = "vital"\nwhen = "up"\nseverity = "P2"\nsummary = "s"\n', ":9: rules[0].kind:", "not a probe kind"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "where", "fragment"), CASES, ids=[c[1] for c in CASES])
def test_bad_golive_config_names_line_and_key(
    tmp_path: Path, extra: str, where: str, fragment: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE + "\n" + extra)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}{where}"), message
    assert fragment in message
    assert "\n" not in message and "s3cret" not in message


def load(tmp_path: Path, extra: str, env: dict[str, str] | None = None) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(BASE + "\n" + extra)
    return load_config(path, env=env or {})


def test_defaults_are_the_plans(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "[vitals.web]\n" + DSN + "[funnel.journey]\n" + DSN + "[support.desk]\n" + DSN,
    )
    vitals, funnel, support = config.vitals["web"], config.funnel["journey"], config.support["desk"]
    assert [vitals.thresholds.of(v) for v in ("fcp", "lcp", "fid", "inp", "cls")] == [
        1.8, 2.5, 0.1, 0.2, 0.1,
    ]  # fmt: skip
    assert vitals.events == {v: f"performance_{v}" for v in VITALS}
    assert (vitals.table, vitals.name_column, vitals.value_column, vitals.time_column) == (
        "events", "name", "value", "occurred_at",
    )  # fmt: skip
    assert vitals.window == 3600.0 and funnel.window == 3600.0
    assert funnel.steps == PLAN_FUNNEL and funnel.steps[0] == "landing_intention_selected"
    assert support.promise == 7200.0 and support.table == "support_tickets"
    assert config.probe_kinds() == {
        "main": "postgres", "api": "http", "web": "vitals", "journey": "funnel", "desk": "support",
    }  # fmt: skip
    assert len(config.checklist) == 13


def test_thresholds_with_units_and_secrets_are_masked(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[vitals.web]\nurl = "https://rum.example.com/p75"\n'
        'headers = { Authorization = "Bearer ${RUM_TOKEN}" }\n'
        '[vitals.web.thresholds]\nlcp = "3s"\nfcp = "1500ms"\ncls = 0.25\n'
        '[support.desk]\nurl = "https://x.zendesk.com"\ntoken = "${ZD_TOKEN}"\n'
        '[funnel.journey]\ndsn = "postgresql://f:fpass@db/app"\n',
        env={"RUM_TOKEN": "rum-secret", "ZD_TOKEN": "zd-secret"},
    )
    thresholds = config.vitals["web"].thresholds
    assert (thresholds.lcp, thresholds.fcp, thresholds.cls, thresholds.inp) == (3.0, 1.5, 0.25, 0.2)
    revealed = {secret.reveal() for secret in config.secrets()}
    assert {"Bearer rum-secret", "zd-secret", "postgresql://f:fpass@db/app"} <= revealed
    assert "zd-secret" not in repr(config.support["desk"])


def test_checklist_overrides_disables_and_adds(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "[funnel.journey]\n" + DSN + '[[checklist]]\nid = "analytics-tracking-confirmed"\n'
        'probe = "journey"\nproof = "events_in_window >= 100"\n'
        '[[checklist]]\nid = "support-team-on-standby"\nenabled = false\n'
        '[[checklist]]\nphase = "24h"\ntext = "Status page linked from the app"\n',
    )
    items = {item.id: item for item in config.checklist}
    analytics = items["analytics-tracking-confirmed"]
    # The built-in's kind is replaced by the probe, its text and phase are kept.
    assert (analytics.probe, analytics.kind, analytics.phase) == ("journey", None, "24h")
    assert analytics.proof is not None and analytics.proof.source == "events_in_window >= 100"
    assert "support-team-on-standby" not in items
    assert config.checklist[-1].id == "status-page-linked-from-the-app"
    assert len(config.checklist) == 13


def test_reference_config_has_the_golive_sections_and_its_examples_validate(
    tmp_path: Path,
) -> None:
    reference = (Path(__file__).parents[2] / "config.toml").read_text()
    config = load_config(Path(__file__).parents[2] / "config.toml", env={})
    assert set(config.vitals) == {"web"} and set(config.funnel) == {"journey"}
    assert set(config.support) == {"desk"}
    head, marker, examples = reference.partition("# The go-live checklist")
    uncommented = re.sub(r"^# (\[\[checklist\]\]|\w+ = .*)$", r"\1", examples, flags=re.M)
    path = tmp_path / "config.toml"
    path.write_text(head + marker + uncommented)
    ids = [item.id for item in load_config(path, env={}).checklist]
    assert "status-page-linked-from-the-app" in ids and "support-team-on-standby" not in ids


def test_default_rules_judge_vitals_funnel_and_support() -> None:
    config = load_config(Path(__file__).parents[2] / "config.toml", env={})
    rules = {rule.name: rule for rule in config.rules}
    assert _VITALS == VITALS
    lcp = rules["vitals-poor-lcp"]
    assert (lcp.kind, lcp.severity) == ("vitals", "P2")
    poor = {"lcp_p75": 3.1, "lcp_threshold": 2.5, "lcp_samples": 240, "min_samples": 20}
    assert lcp.when.evaluate(poor) is True
    assert lcp.when.evaluate(poor | {"lcp_samples": 3}) is False
    assert lcp.when.evaluate(poor | {"lcp_p75": 2.0}) is False
    assert lcp.when.evaluate({"lcp_threshold": 2.5, "lcp_samples": 0, "min_samples": 20}) is False
    assert lcp.when.value_of(poor) == 3.1 and lcp.when.threshold(poor) == 2.5
    drop = rules["funnel-drop"]
    assert drop.when.evaluate({"max_conversion_drop": 0.75, "drop_threshold": 0.5}) is True
    assert drop.when.evaluate({"drop_threshold": 0.5}) is None  # too quiet: unknown
    assert rules["analytics-silent"].when.evaluate({"events_in_window": 0}) is True
    broken = rules["support-promise-broken"]
    assert broken.severity == "P1" and broken.when.evaluate({"breached_tickets": 1}) is True
    assert broken.when.evaluate({"breached_tickets": 0}) is False
