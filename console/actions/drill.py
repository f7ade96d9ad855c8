"""A restore drill: the newest verified backup restored into a scratch database and checked.

    prepare   drop this server's leftover scratch databases (from a crashed drill);
              pick the newest verified backup; create `warroom_drill_<stamp>`
              (registered in the store first, from template0, never an existing one)
    download  the dump to a local temp file (parallel restore needs a seekable
              file), SHA-256 and size checked against the manifest
    restore   pg_restore --jobs N --exit-on-error --no-owner --no-privileges
    check     every table in the manifest exists; the critical tables' exact row
              counts equal the manifest's (taken in the dump's own snapshot);
              optionally pg_amcheck

RTO is measured from the end of the leftover cleanup (housekeeping, not
recovery) to the end of the check, and compared with `[drill].rto_target`. A
drill report goes to `<destination>/drills/<stamp>.json` (read by the status
probe) and into the store; the scratch database is dropped unless `keep`. A
cancel stops pg_restore, drops the scratch database and removes the temp file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from console.actions.backup import backup_dsn
from console.actions.catalog import newest_verified
from console.actions.destinations import Destination, open_destination
from console.actions.dump_stream import copy_hashed
from console.actions.exclusive import LeaseStore, exclusive
from console.actions.pg_snapshot import connect, count_rows, list_tables
from console.actions.pg_tools import LibpqTarget, ToolProcess, find_tools, libpq_target
from console.actions.progress import Cancelled, CancelToken, ProgressCallback
from console.actions.reporting import Reporter, one_line
from console.actions.scratch import (
    ScratchStore,
    cleanup_leftovers,
    create_scratch,
    drop_scratch,
    scratch_name,
)
from console.config.durations import format_duration
from console.config.model import BackupConfig, Config, DrillConfig
from probes.backup_manifest import DRILLS_DIR, BackupManifest, DrillReport, stamp


class DrillFailed(RuntimeError):
    """The drill failed or breached its RTO; `str()` is one line. `report` if one was written."""

    def __init__(self, message: str, report: DrillReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class DrillStore(LeaseStore, ScratchStore, Protocol):
    def record_drill(
        self,
        backup_key: str,
        database: str,
        ok: bool,
        rto: float | None,
        phases: Mapping[str, float],
        error: str | None,
        started_at: float,
        finished_at: float,
    ) -> object: ...


@dataclass(frozen=True)
class DrillOutcome:
    report: DrillReport
    kept: bool  # the scratch database was left for inspection
    leftovers: tuple[str, ...] = ()  # scratch databases of earlier drills dropped first
    cleanup_error: str | None = None  # the scratch database could not be dropped

    @property
    def summary(self) -> str:
        r = self.report
        phases = ", ".join(f"{name} {secs:.1f}s" for name, secs in r.phases.items())
        text = (
            f"restored {r.backup_key} and verified: RTO {format_duration(r.rto)} "
            f"(target {format_duration(r.rto_target)}; {phases})"
        )
        extra = [f"kept {r.database}"] if self.kept else []
        extra += [self.cleanup_error] if self.cleanup_error else []
        return "; ".join([text, *extra])


def cleanup(config: Config, store: ScratchStore, operator: str) -> list[str]:
    """`warroom drill --cleanup`: drop the scratch databases earlier drills left behind."""
    _backup, drill = _sections(config)
    admin = libpq_target(drill.target_dsn, application="warroom-drill")
    return cleanup_leftovers(admin, store, operator)


def run_drill(
    config: Config,
    store: DrillStore,
    progress: ProgressCallback,
    cancel: CancelToken,
    operator: str,
    *,
    keep: bool | None = None,
    clock: Callable[[], float] = time.time,
) -> DrillOutcome:
    """One at a time per state file (see console.actions.exclusive); raises AlreadyRunning."""
    with exclusive(store, "drill", progress) as report:
        return _run_drill(config, store, report, cancel, operator, keep=keep, clock=clock)


def _run_drill(
    config: Config,
    store: DrillStore,
    progress: ProgressCallback,
    cancel: CancelToken,
    operator: str,
    *,
    keep: bool | None = None,
    clock: Callable[[], float] = time.time,
) -> DrillOutcome:
    """Restore the newest verified backup and check it. Raises DrillFailed or Cancelled."""
    backup, drill = _sections(config)
    keep = drill.keep if keep is None else keep
    reporter = Reporter("drill", progress)
    started = clock()
    name = scratch_name(started)
    admin = libpq_target(drill.target_dsn, application="warroom-drill")
    scratch = libpq_target(drill.target_dsn, dbname=name, application="warroom-drill")
    _refuse_production(config, backup, drill, scratch)
    report = DrillReport("", started, started, False, 0.0, float(drill.rto_target), {}, name)
    workdir = Path(tempfile.mkdtemp(prefix="warroom-drill-"))
    created = False
    cleanup_error: str | None = None
    leftovers: tuple[str, ...] = ()
    recovery_start = started
    try:
        # A drill server that is down or refuses us is a failed drill, with a report.
        reporter.phase("prepare", "cleaning up earlier drills")
        leftovers = tuple(cleanup_leftovers(admin, store, operator))
        recovery_start = clock()
        destination = open_destination(backup)
        chosen = newest_verified(destination, backup.database)
        if chosen is None or chosen.manifest is None:
            where = destination.description
            raise DrillFailed(f"no verified backup of {backup.database} in {where}")
        manifest = chosen.manifest
        report = replace(report, backup_key=manifest.key)
        create_scratch(admin, name, store)
        created = True
        phases, problems = _restore_and_check(
            destination, manifest, backup, drill, scratch, workdir, reporter, cancel
        )
        rto = clock() - recovery_start
        if rto > drill.rto_target:
            problems.append(f"RTO {rto:.1f}s exceeds the target {drill.rto_target:.0f}s")
        error = "; ".join(problems) or None
        report = replace(report, finished_at=clock(), ok=error is None, rto=rto, phases=phases)
        report = replace(report, error=error)
    except Cancelled:
        store.audit(operator, "drill", name, "cancelled")
        raise
    except Exception as exc:
        reason = one_line(exc, config.secrets())
        rto = clock() - recovery_start
        report = replace(report, finished_at=clock(), ok=False, rto=rto, error=reason)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if created and (not keep or cancel.cancelled):
            reporter.phase("cleanup", f"dropping {name}")
            cleanup_error = _drop(admin, name, store, config)
    outcome = DrillOutcome(report, keep and created, leftovers, cleanup_error)
    return _finish(backup, config, store, operator, outcome, reporter)


def _drop(admin: LibpqTarget, name: str, store: ScratchStore, config: Config) -> str | None:
    """Drop the scratch database; a failure leaves it registered for the next drill's cleanup."""
    try:
        drop_scratch(admin, name, store)
    except Exception as exc:
        return f"scratch database {name} not dropped ({one_line(exc, config.secrets())})"
    return None


def _sections(config: Config) -> tuple[BackupConfig, DrillConfig]:
    if config.backup is None or config.drill is None:
        raise DrillFailed("a drill needs both [backup] and [drill] in the configuration")
    return config.backup, config.drill


def _refuse_production(
    config: Config, backup: BackupConfig, drill: DrillConfig, scratch: LibpqTarget
) -> None:
    """Config validation refuses the production server; this holds even for a hand-built Config."""
    production = libpq_target(backup_dsn(config, backup), application="warroom-drill")
    if production.server != scratch.server:
        return
    if not drill.allow_same_server:
        raise DrillFailed(
            f"drill target {scratch.server} is the production server (allow_same_server is false)"
        )
    if production.dbname == scratch.dbname:
        raise DrillFailed(f"refusing to restore into the production database {scratch.dbname}")


def _restore_and_check(
    destination: Destination,
    manifest: BackupManifest,
    backup: BackupConfig,
    drill: DrillConfig,
    scratch: LibpqTarget,
    workdir: Path,
    reporter: Reporter,
    cancel: CancelToken,
) -> tuple[dict[str, float], list[str]]:
    phases: dict[str, float] = {}
    mark = time.monotonic()

    def lap(phase: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases[phase], mark = now - mark, now

    reporter.phase("download", manifest.key, total=manifest.size)
    path = workdir / "backup.dump"
    with path.open("wb") as handle:
        got = copy_hashed(destination.read(manifest.key), handle.write, cancel, reporter.bytes)
    if (got.size, got.sha256) != (manifest.size, manifest.sha256):
        raise DrillFailed(
            f"{manifest.key} does not match its manifest "
            f"({got.size} bytes, SHA-256 {got.sha256[:12]}... expected {manifest.size} bytes, "
            f"{manifest.sha256[:12]}...): the stored backup was altered"
        )
    lap("download")

    with connect(scratch, autocommit=True) as conn:
        version = conn.info.server_version
    programs = ("pg_restore", "pg_amcheck") if drill.amcheck else ("pg_restore",)
    tools = find_tools(backup.pg_bin, version, programs)
    jobs = drill.jobs or os.cpu_count() or 1
    reporter.phase("restore", f"pg_restore --jobs {jobs}")
    connection = ["--no-password", f"--dbname={scratch.conninfo}"]
    argv = [tools.path("pg_restore"), f"--jobs={jobs}", "--exit-on-error"]
    argv += ["--no-owner", "--no-privileges", *connection, str(path)]
    with ToolProcess(argv, scratch.env) as restore:
        restore.finish(cancel)
    lap("restore")

    reporter.phase("check", "tables and critical row counts")
    problems = _integrity(scratch, manifest)
    if drill.amcheck and not problems:
        argv = [tools.path("pg_amcheck"), "--install-missing", "--no-password", scratch.conninfo]
        with ToolProcess(argv, scratch.env) as amcheck:
            amcheck.finish(cancel)
    lap("check")
    return phases, problems


def _integrity(scratch: LibpqTarget, manifest: BackupManifest) -> list[str]:
    with connect(scratch, autocommit=True) as conn:
        restored = set(list_tables(conn))
        counts, _absent = count_rows(conn, list(manifest.critical_tables))
    problems: list[str] = []
    missing = [table for table in manifest.tables if table not in restored]
    if missing:
        problems.append(f"tables missing after restore: {', '.join(missing[:10])}")
    for table, expected in manifest.critical_tables.items():
        got = counts.get(table)
        if got != expected:
            shown = "no table" if got is None else f"{got} rows"
            problems.append(f"{table}: {shown} restored, {expected} in the backup")
    return problems


def _finish(
    backup: BackupConfig,
    config: Config,
    store: DrillStore,
    operator: str,
    outcome: DrillOutcome,
    reporter: Reporter,
) -> DrillOutcome:
    """Publish the report (destination for the probe, store for the console), then decide."""
    report = outcome.report
    store.record_drill(
        report.backup_key,
        report.database,
        report.ok,
        report.rto,
        report.phases,
        report.error,
        report.started_at,
        report.finished_at,
    )
    detail = {"error": report.error} if report.error else None
    store.audit(operator, "drill", report.database, "ok" if report.ok else "failed", detail)
    try:
        open_destination(backup).put(
            f"{DRILLS_DIR}{stamp(report.started_at)}.json", report.to_json()
        )
    except Exception as exc:
        reason = f"drill report not written: {one_line(exc, config.secrets())}"
        raise DrillFailed(f"{report.error}; {reason}" if report.error else reason, report) from None
    if not report.ok:
        raise DrillFailed(f"drill failed: {report.error}", report)
    reporter.phase("done", outcome.summary)
    return outcome
