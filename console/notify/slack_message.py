"""One alert notification as one Slack message (Block Kit inside a coloured attachment).

Slack shows the top-level `text` as the message line and in push notifications, so
it always carries the whole story in one line (and the mentions, which only
notify from there); the attachment adds the colour bar and the details.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from console.alerts.defaults import DEFAULT_RULES
from console.alerts.model import Notification, NotificationKind
from console.config.durations import format_duration
from probes.result import MetricValue

COLOURS = {"P0": "#E01E5A", "P1": "#F2952F", "P2": "#ECB22E"}
RESOLVED_COLOUR = "#2EB67D"
HEADER_LIMIT = 150  # Slack's limit for a header block's plain text
SECTION_LIMIT = 3000

_TITLES = {
    NotificationKind.FIRE: "FIRING",
    NotificationKind.REPEAT: "STILL FIRING",
    NotificationKind.ESCALATE: "ESCALATED (not acknowledged)",
    NotificationKind.ACKNOWLEDGE: "ACKNOWLEDGED",
    NotificationKind.RESOLVE: "RESOLVED",
}
_SYMBOLS = {"P0": ":red_circle:", "P1": ":large_orange_circle:", "P2": ":large_yellow_circle:"}
_WORDS = re.compile(r"[a-z_][a-z0-9_.]*")
_KEYWORDS = frozenset({"not", "and", "or", "in", "true", "false"})


def render(notification: Notification, *, environment: str, mentions: str) -> dict[str, object]:
    """The webhook payload for one notification."""
    occ = notification.occurrence
    now = notification.created_at
    resolved = notification.kind is NotificationKind.RESOLVE
    title = f"{occ.severity} {_TITLES[notification.kind]}: {occ.rule} on {occ.probe}"
    symbol = ":large_green_circle:" if resolved else _SYMBOLS[occ.severity]
    text = escape(f"[{environment}] {title}: {occ.summary}")
    fields = [
        ("Severity", occ.severity),
        ("Probe", occ.probe),
        ("Value", format_value(occ.rule, occ.value)),
        ("Threshold", format_value(occ.rule, occ.threshold)),
        ("Since", _when(occ.fired_at or occ.started_at, now)),
    ]
    if resolved and occ.resolved_at is not None:
        lasted = occ.resolved_at - (occ.fired_at or occ.started_at)
        fields.append(("Resolved", f"{_iso(occ.resolved_at)} (after {format_duration(lasted)})"))
    elif occ.deadline is not None:
        fields.append(("Acknowledge by", _deadline(occ.deadline, now)))
    if occ.ack is not None and notification.kind in (
        NotificationKind.ACKNOWLEDGE,
        NotificationKind.RESOLVE,
    ):
        note = f": {occ.ack.note}" if occ.ack.note else ""
        fields.append(("Acknowledged by", f"{occ.ack.by}, {_when(occ.ack.at, now)}{note}"))
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": _plain_text(f"{symbol} {title}"[:HEADER_LIMIT])},
        {"type": "section", "text": _mrkdwn(escape(occ.summary)[:SECTION_LIMIT])},
        {"type": "section", "fields": [_mrkdwn(f"*{k}*\n{escape(v)}") for k, v in fields]},
        {
            "type": "context",
            "elements": [_mrkdwn(f"{escape(environment)} · rule `{occ.rule}` · id `{occ.id}`")],
        },
    ]
    return {
        "text": f"{mentions} {text}".strip() if mentions else text,
        "attachments": [
            {
                "color": RESOLVED_COLOUR if resolved else COLOURS[occ.severity],
                "fallback": text,
                "blocks": blocks,
            }
        ],
    }


def escape(text: str) -> str:
    """Slack mrkdwn control characters; mentions are added unescaped elsewhere."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_value(rule: str, value: MetricValue) -> str:
    """A metric value in its unit (durations, bytes, ratios as %), per the metric contract."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    unit = metric_unit(rule_metric(rule) or "")
    if unit == "duration":
        return format_duration(float(value))
    if unit == "bytes":
        return format_bytes(float(value))
    if unit == "ratio":
        return f"{value * 100:.4g}%"
    if unit == "times":
        return f"{value:.3g}x"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"


def rule_metric(rule: str) -> str | None:
    """The metric a built-in rule's condition starts with (what its value is)."""
    for default in DEFAULT_RULES:
        if default["name"] == rule:
            names = [w for w in _WORDS.findall(str(default["when"])) if w not in _KEYWORDS]
            return names[0] if names else None
    return None


def metric_unit(metric: str) -> str | None:
    if metric == "spike_ratio":
        return "times"
    if metric.endswith(("_ratio", "_threshold")) or metric.startswith("availability"):
        return "ratio"
    if metric.endswith(("_bytes", "_size")):
        return "bytes"
    if metric in ("rtt", "uptime", "drill_rto", "rto_target") or metric.startswith("latency"):
        return "duration"
    if metric.endswith("_seconds") or (metric.endswith("_age") and metric != "xid_age"):
        return "duration"
    return None


def format_bytes(size: float) -> str:
    if abs(size) < 1024:
        return f"{size:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if abs(size) < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} TiB"


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(at: float, now: float) -> str:
    return f"{_iso(at)} ({format_duration(max(0.0, now - at))} ago)"


def _deadline(at: float, now: float) -> str:
    left = at - now
    relative = f"in {format_duration(left)}" if left >= 0 else f"{format_duration(-left)} overdue"
    return f"{_iso(at)} ({relative})"


def _plain_text(text: str) -> dict[str, object]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, object]:
    return {"type": "mrkdwn", "text": text}
