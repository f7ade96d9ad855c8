"""Every configured probe, built from the `Config`, with the HTTP clients they share.

    async with open_probes(config) as probes:
        ...  # hand them to a Scheduler; its stop() closes the probes

`open_probes` closes the shared HTTP clients on the way out; callers that manage
`HttpClients` themselves use `build_probes` and `await clients.aclose()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from console.config.model import Config, PostgresConfig
from probes.backups import BackupStatusProbe
from probes.http import HttpProbe
from probes.http_client import HttpClients
from probes.result import Probe
from probes.sentry import SentryProbe


def build_probes(config: Config, clients: HttpClients) -> list[Probe]:
    probes: list[Probe] = [_postgres(pg) for pg in config.postgres.values()]
    probes += [HttpProbe(http, clients.wire(http.verify_tls)) for http in config.http.values()]
    probes += [SentryProbe(sentry, clients.wire(True)) for sentry in config.sentry.values()]
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
    # Imported here: the driver modules are heavy, and `warroom check` on HTTP
    # probes alone need not load them. Both drivers are hard dependencies (psycopg
    # with its bundled libpq): a broken install fails at start, not as a panel.
    from probes.postgres import PostgresProbe

    return PostgresProbe(config)


def _golive(config: Config, clients: HttpClients) -> list[Probe]:
    """Vitals, funnel and support probes; psycopg is imported only when one is configured."""
    if not (config.vitals or config.funnel or config.support):
        return []
    from probes.funnel import FunnelProbe
    from probes.support import SupportProbe
    from probes.vitals import VitalsProbe

    probes: list[Probe] = [VitalsProbe(c, clients.wire(True)) for c in config.vitals.values()]
    probes += [FunnelProbe(c) for c in config.funnel.values()]
    probes += [SupportProbe(c, clients.wire(True)) for c in config.support.values()]
    return probes
