"""Every configured probe, built from the `Config`, with the HTTP clients they share.

    async with open_probes(config) as probes:
        ...  # hand them to a Scheduler; its stop() closes the probes

`open_probes` closes the shared HTTP clients on the way out; callers that manage
`HttpClients` themselves use `build_probes` and `await clients.aclose()`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from console.config.model import (
    Config,
    FunnelConfig,
    PostgresConfig,
    SupportConfig,
    VitalsConfig,
)
from probes.backups import BackupStatusProbe
from probes.http import HttpProbe
from probes.http_client import HttpClients
from probes.result import Probe, ProbeResult, Status, failure
from probes.sentry import SentryProbe


def build_probes(config: Config, clients: HttpClients) -> list[Probe]:
    probes: list[Probe] = [_postgres(pg) for pg in config.postgres.values()]
    probes += [HttpProbe(http, clients.get(http.verify_tls)) for http in config.http.values()]
    probes += [SentryProbe(sentry, clients.get(True)) for sentry in config.sentry.values()]
    if config.backup is not None:
        probes.append(BackupStatusProbe(config.backup, config.drill))
    probes += _golive(config, clients)
    return probes


@asynccontextmanager
async def open_probes(config: Config) -> AsyncIterator[list[Probe]]:
    clients = HttpClients()
    try:
        yield build_probes(config, clients)
    finally:
        await clients.aclose()


def _postgres(config: PostgresConfig) -> Probe:
    # Imported here: the driver modules are heavy, and a missing driver must cost one
    # probe its data, not the whole console its start.
    try:
        from probes.postgres import PostgresProbe
    except ImportError as exc:
        return UnavailableProbe(
            config.name, "postgres", config.interval, config.timeout, f"postgres probe: {exc}"
        )
    probe: Probe = PostgresProbe(config)
    return probe


def _golive(config: Config, clients: HttpClients) -> list[Probe]:
    """Vitals, funnel and support probes; psycopg is imported only when one is configured."""
    sections: dict[str, Mapping[str, VitalsConfig | FunnelConfig | SupportConfig]] = {
        "vitals": config.vitals,
        "funnel": config.funnel,
        "support": config.support,
    }
    if not any(sections.values()):
        return []
    try:
        from probes.funnel import FunnelProbe
        from probes.support import SupportProbe
        from probes.vitals import VitalsProbe
    except ImportError as exc:
        return [
            UnavailableProbe(c.name, kind, c.interval, c.timeout, f"{kind} probe: {exc}")
            for kind, table in sections.items()
            for c in table.values()
        ]
    probes: list[Probe] = [VitalsProbe(c, clients.get(True)) for c in config.vitals.values()]
    probes += [FunnelProbe(c) for c in config.funnel.values()]
    probes += [SupportProbe(c, clients.get(True)) for c in config.support.values()]
    return probes


class UnavailableProbe:
    """Stands in for a probe that cannot be built, reporting why on every run."""

    def __init__(self, name: str, kind: str, interval: float, timeout: float, reason: str) -> None:
        self.name = name
        self.kind = kind
        self.interval = float(interval)
        self.timeout = float(timeout)
        self._reason = reason

    async def run(self) -> ProbeResult:
        return failure(self.name, self.kind, time.monotonic(), self._reason, Status.UNKNOWN)

    async def close(self) -> None:
        return None
