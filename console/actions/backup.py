"""A backup: pg_dump streamed to S3 (or a local directory), read back and verified, manifest last.

    prepare    sweep stale uploads; REPEATABLE READ transaction, export its snapshot,
               count the critical tables in it; pick a pg_dump >= the server's major
    upload     pg_dump --format=custom --snapshot=<id> into a multipart upload (or a
               temp file renamed into place), hashed and counted on the way
    verify     the object read back (streamed): size, SHA-256, and the whole archive
               through `pg_restore --file=/dev/null`
    commit     the manifest, verification result included, written last
    retention  old backups deleted, the newest `keep_min` verified ones always kept

Memory: the dump passes through in parts; at most (upload_concurrency + 1) x
part_size bytes are held (40 MiB with the defaults), and no temporary file of
the dump's size is ever written.

Any failure or cancel before the manifest is written leaves nothing behind: the
multipart upload is aborted (or the temp file removed), an object already
complete is deleted. The exception: a backup whose verification fails keeps
its dump, with a manifest saying `verification: failed`, so the status probe
raises its P0 and someone can inspect the object; it is never restored from
and ages out through retention like any other.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from console.actions import catalog, retention
from console.actions.destinations import Destination, open_destination
from console.actions.dump_stream import Digest, PipeSink, copy_hashed, dump_into
from console.actions.exclusive import LeaseStore, exclusive
from console.actions.pg_snapshot import SnapshotFacts, exported_snapshot
from console.actions.pg_tools import PgTools, ToolProcess, find_tools, libpq_target
from console.actions.progress import Cancelled, CancelToken, ProgressCallback
from console.actions.reporting import Reporter, human_size, one_line
from console.actions.s3_stream import choose_part_size
from console.config.model import BackupConfig, Config
from console.config.secret import Secret
from probes.backup_manifest import DUMP_SUFFIX, MANIFEST_SUFFIX, BackupManifest, parse_key

# An upload this old belongs to no running backup: a backup that crashed.
STALE_UPLOAD_AGE = 24 * 3600.0


class BackupFailed(RuntimeError):
    """The backup failed; `str()` is one line for the operator, free of secrets."""


class BackupStore(LeaseStore, retention.AuditStore, Protocol):
    def record_backup(
        self,
        key: str,
        database: str,
        outcome: str,
        size: int | None,
        sha256: str | None,
        started_at: float,
        finished_at: float,
        error: str | None,
    ) -> object: ...


@dataclass(frozen=True)
class BackupOutcome:
    manifest: BackupManifest
    destination: str
    deleted: tuple[str, ...] = ()  # backups removed by retention
    swept: tuple[str, ...] = ()  # stale uploads aborted
    warnings: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        m = self.manifest
        text = f"verified {m.key} ({human_size(m.size)}) in {m.duration:.1f}s"
        if self.deleted:
            text += f"; retention deleted {len(self.deleted)}"
        return "; ".join([text, *self.warnings])


def backup_dsn(config: Config, backup: BackupConfig) -> Secret:
    return backup.dsn if backup.dsn else config.postgres[backup.database].dsn


def run_backup(
    config: Config,
    store: BackupStore,
    progress: ProgressCallback,
    cancel: CancelToken,
    operator: str,
    *,
    clock: Callable[[], float] = time.time,
) -> BackupOutcome:
    """One at a time per state file (see console.actions.exclusive); raises AlreadyRunning."""
    with exclusive(store, "backup", progress) as report:
        return _run_backup(config, store, report, cancel, operator, clock=clock)


def _run_backup(
    config: Config,
    store: BackupStore,
    progress: ProgressCallback,
    cancel: CancelToken,
    operator: str,
    *,
    clock: Callable[[], float] = time.time,
) -> BackupOutcome:
    """Back up `[backup].database` now. Blocking; raises BackupFailed or Cancelled."""
    backup = config.backup
    if backup is None:
        raise BackupFailed("no [backup] section in the configuration")
    reporter = Reporter("backup", progress)
    started = clock()
    key = catalog.new_stem(backup.database, started) + DUMP_SUFFIX

    def record(outcome: str, digest: Digest | None, error: str | None) -> None:
        store.record_backup(
            key,
            backup.database,
            outcome,
            digest.size if digest else None,
            digest.sha256 if digest else None,
            started,
            clock(),
            error,
        )
        store.audit(operator, "backup", key, outcome, {"error": error} if error else None)

    try:
        manifest, destination, swept, warnings = _perform(
            config, backup, key, started, reporter, cancel, clock
        )
    except Cancelled:
        record("cancelled", None, None)
        raise
    except Exception as exc:
        reason = one_line(exc, config.secrets())
        record("failed", None, reason)
        raise BackupFailed(f"backup failed: {reason}") from None
    digest = Digest(manifest.size, manifest.sha256)
    if manifest.verification != "verified":
        record("failed", digest, f"verification failed: {manifest.verification_error}")
        raise BackupFailed(f"backup {key} failed verification: {manifest.verification_error}")
    deleted, retention_warning = _retention(
        destination, store, operator, backup, reporter, clock, config.secrets()
    )
    if retention_warning:
        warnings = (*warnings, retention_warning)
    record("verified", digest, None)
    outcome = BackupOutcome(manifest, destination.description, tuple(deleted), swept, warnings)
    reporter.phase("done", outcome.summary)
    return outcome


def _perform(
    config: Config,
    backup: BackupConfig,
    key: str,
    started: float,
    reporter: Reporter,
    cancel: CancelToken,
    clock: Callable[[], float],
) -> tuple[BackupManifest, Destination, tuple[str, ...], tuple[str, ...]]:
    reporter.phase("prepare", "connecting")
    critical = config.postgres[backup.database].critical_tables
    dsn = backup_dsn(config, backup)
    destination = open_destination(backup)
    swept = tuple(destination.sweep(lambda k: _stale(k, started)))
    with exported_snapshot(libpq_target(dsn, application="warroom-backup"), critical) as facts:
        tools = find_tools(backup.pg_bin, facts.server_version_num)
        part_size = choose_part_size(facts.database_size, backup.part_size)
        cancel.check()
        reporter.phase("upload", f"pg_dump {tools.version.text}", total=facts.database_size)
        target = libpq_target(dsn, application="warroom-pg_dump")
        argv = [
            tools.path("pg_dump"),
            "--format=custom",
            f"--snapshot={facts.snapshot_id}",
            "--no-password",
            f"--dbname={target.conninfo}",
        ]
        with ToolProcess(argv, target.env, stdout=subprocess.PIPE) as dump:
            sent = dump_into(dump, destination.writer(key), part_size, cancel, reporter.bytes)
    finished = clock()
    # From here the dump is a complete object: anything but a finished manifest removes it.
    try:
        error = _verify(destination, key, sent, tools, reporter, cancel, config.secrets())
        times = (started, finished, clock())
        manifest = _manifest(key, backup.database, facts, tools, sent, times, error)
        destination.put(key[: -len(DUMP_SUFFIX)] + MANIFEST_SUFFIX, manifest.to_json())
    except BaseException:
        for leftover in (key, key[: -len(DUMP_SUFFIX)] + MANIFEST_SUFFIX):
            with contextlib.suppress(Exception):
                destination.delete(leftover)
        raise
    warnings = tuple(f"critical table {name} does not exist" for name in facts.missing_critical)
    return manifest, destination, swept, warnings


def _stale(key: str, now: float) -> bool:
    info = parse_key(key)
    return info is not None and now - info.started_at > STALE_UPLOAD_AGE


def _verify(
    destination: Destination,
    key: str,
    sent: Digest,
    tools: PgTools,
    reporter: Reporter,
    cancel: CancelToken,
    secrets: list[Secret],
) -> str | None:
    """None if the stored object is exactly what was sent and pg_restore reads all of it.

    The reason goes into the manifest on the destination: scrubbed here.
    """
    reporter.phase("verify", "reading back", total=sent.size)
    # pg_restore --list only reads the table of contents and accepts a
    # truncated archive; writing the whole script to /dev/null reads every block.
    argv = [tools.path("pg_restore"), "--file=/dev/null"]
    with ToolProcess(argv, os.environ, stdin=subprocess.PIPE) as restore:
        sink = PipeSink(restore)
        try:
            got = copy_hashed(destination.read(key), sink, cancel, reporter.bytes)
        except Cancelled:
            raise
        except Exception as exc:
            return f"cannot read the object back: {one_line(exc, secrets)}"
        finally:
            sink.close()
        restore.wait()
        failure = restore.failure()
    if got.size != sent.size:
        return f"stored size {got.size} differs from the {sent.size} bytes uploaded"
    if got.sha256 != sent.sha256:
        return "stored SHA-256 differs from the uploaded stream's"
    if failure is not None:
        return f"archive unreadable: {one_line(failure, secrets)}"
    return None


def _manifest(
    key: str,
    database: str,
    facts: SnapshotFacts,
    tools: PgTools,
    sent: Digest,
    times: tuple[float, float, float],  # started, dumped, verified
    error: str | None,
) -> BackupManifest:
    started, finished, verified = times
    return BackupManifest(
        key=key,
        database=database,
        size=sent.size,
        sha256=sent.sha256,
        server_version=facts.server_version,
        pg_dump_version=tools.version.text,
        started_at=started,
        finished_at=finished,
        critical_tables=facts.critical_counts,
        tables=facts.tables,
        verification="failed" if error else "verified",
        verified_at=verified,
        verification_error=error,
    )


def _retention(
    destination: Destination,
    store: BackupStore,
    operator: str,
    backup: BackupConfig,
    reporter: Reporter,
    clock: Callable[[], float],
    secrets: list[Secret],
) -> tuple[list[str], str | None]:
    """Retention never fails a verified backup; its failure is a warning (and audited)."""
    reporter.phase("retention")
    try:
        backups = catalog.list_backups(destination, backup.database)
        doomed = retention.plan_retention(backups, clock(), backup.retention_days, backup.keep_min)
        return retention.apply_retention(
            destination, store, operator, doomed, backup.retention_days
        ), None
    except Exception as exc:
        return [], f"retention failed: {one_line(exc, secrets)[:200]}"
