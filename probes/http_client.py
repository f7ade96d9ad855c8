"""The HTTP clients every HTTP-based probe shares, and the one Retry-After parser.

HTTP endpoint probes and the API probes (Sentry, vitals, support) all go through
`probes.http_wire.WireClient`: one per TLS verification setting, each with a small
keep-alive pool per origin behind its own slots, so a slow or hung target ties up
only its own connections. The Slack notifier makes its own WireClient (one connection).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from probes.http_wire import WireClient

PER_ORIGIN = 6


class HttpClients:
    """The shared clients by TLS verification, created on first use; `aclose()` at shutdown."""

    def __init__(self, per_origin: int = PER_ORIGIN) -> None:
        self._per_origin = per_origin
        self._wires: dict[bool, WireClient] = {}

    def wire(self, verify: bool) -> WireClient:
        wire = self._wires.get(verify)
        if wire is None:
            wire = self._wires[verify] = WireClient(verify, self._per_origin)
        return wire

    async def aclose(self) -> None:
        wires, self._wires = list(self._wires.values()), {}
        for wire in wires:
            await wire.aclose()


def retry_after(headers: Mapping[str, str], default: float) -> float:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date.

    `default` when it is absent, unreadable, negative or not finite (an `inf`
    would pause a probe, or every Slack message, for good). `headers` has
    lower-case names (WireClient's).
    """
    value = headers.get("retry-after", "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return default
        return max(0.0, seconds)  # a date already past: go now
    return seconds if math.isfinite(seconds) and seconds >= 0 else default
