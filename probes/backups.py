"""Backup status: how old the newest complete backup is, whether it verified, the last drill.

A backup is a dump *and* its manifest (probes/backup_manifest.py): a dump without a
manifest is unfinished and does not count, nor does a manifest whose dump is gone.
Manifests are read newest first until a verified one is found (at most
`MAX_MANIFEST_READS` a run) and cached by ETag, so a steady state costs one LIST.
A destination may hold several databases' backups (one prefix shared by teams):
only `[backup].database`'s count, so another database's fresh dump cannot hide
a stale one of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from console.config.model import BackupConfig, DrillConfig
from probes.backup_manifest import (
    DRILLS_DIR,
    DUMP_SUFFIX,
    MANIFEST_SUFFIX,
    BackupManifest,
    DrillReport,
    ManifestError,
    parse_key,
)
from probes.backup_store import BackupStore, StoredObject, StoreError, open_store
from probes.result import MetricValue, ProbeResult, Status, failure, one_line

MAX_MANIFEST_READS = 10
T = TypeVar("T")


class BackupStatusProbe:
    name = "backups"
    kind = "backups"

    def __init__(
        self,
        backup: BackupConfig,
        drill: DrillConfig | None,
        store: BackupStore | None = None,
    ) -> None:
        self.interval = float(backup.interval)
        self.timeout = float(backup.timeout)
        self._backup = backup
        self._drill = drill
        self._store = store or open_store(backup)
        # key -> (tag, parsed document or None when unreadable)
        self._documents: dict[str, tuple[str, object]] = {}
        # A run abandoned on timeout keeps its thread; the next one waits for it, so the
        # cache is never used by two threads at once.
        self._lock = threading.Lock()

    async def run(self) -> ProbeResult:
        started = time.monotonic()
        try:
            metrics, detail, status, error = await _in_daemon_thread(self._inspect)
        except StoreError as exc:
            return failure(self.name, self.kind, started, exc, metrics={"up": False})
        except (OSError, ValueError) as exc:  # anything the store did not foresee, still one line
            return failure(self.name, self.kind, started, one_line(exc), Status.UNKNOWN)
        return ProbeResult(
            name=self.name,
            kind=self.kind,
            status=status,
            observed_at=time.time(),
            duration=time.monotonic() - started,
            metrics=metrics,
            detail=detail,
            error=error,
        )

    async def close(self) -> None:
        return None

    def _inspect(self) -> tuple[dict[str, MetricValue], dict[str, Any], Status, str | None]:
        with self._lock:
            objects = self._store.list()
            # Retention deletes old backups: forget what is gone so the cache stays small.
            self._documents = {k: v for k, v in self._documents.items() if k in objects}
            now = time.time()
            backups = _complete_backups(objects, self._backup.database)
            metrics: dict[str, MetricValue] = {
                "up": True,
                "retained_count": len(backups),
                "total_bytes": sum(objects[b.removesuffix(MANIFEST_SUFFIX) + DUMP_SUFFIX].size
                                   for b in backups),
                "max_age": float(self._backup.max_age),
            }  # fmt: skip
            detail: dict[str, Any] = {"destination": self._store.location}
            newest, verified, skipped = self._newest(backups, objects)
            metrics.update(self._drill_metrics(objects, now))
            if skipped:
                detail["unreadable_manifests"] = skipped
            if newest is None:
                return metrics, detail, Status.CRITICAL, f"no backups in {self._store.location}"
            detail["newest"] = newest.key
            metrics["newest_age"] = now - newest.finished_at
            metrics["newest_size"] = newest.size
            metrics["newest_verified"] = newest.verification == "verified"
            metrics["newest_verification_failed"] = newest.verification == "failed"
            if verified is not None:
                metrics["verified_age"] = now - verified.finished_at
            if newest.verification == "failed":
                reason = newest.verification_error or "no reason recorded"
                return (
                    metrics,
                    detail,
                    Status.CRITICAL,
                    f"newest backup failed verification: {reason}",
                )
            if now - newest.finished_at > self._backup.max_age:
                return metrics, detail, Status.CRITICAL, "newest backup is older than max_age"
            return metrics, detail, Status.OK, None

    def _newest(
        self, backups: list[str], objects: dict[str, StoredObject]
    ) -> tuple[BackupManifest | None, BackupManifest | None, list[str]]:
        """The newest readable manifest and the newest verified one (reading newest first)."""
        newest: BackupManifest | None = None
        skipped: list[str] = []
        for key in backups[:MAX_MANIFEST_READS]:
            manifest = self._parsed(objects[key], BackupManifest.from_json)
            if manifest is None:
                skipped.append(key)
                continue
            newest = newest or manifest
            if manifest.verification == "verified":
                return newest, manifest, skipped
        return newest, None, skipped

    def _parsed(self, stored: StoredObject, parse: Callable[[bytes], T]) -> T | None:
        """A manifest or drill report, read again only when its tag (ETag) changed."""
        cached = self._documents.get(stored.key)
        if cached is not None and cached[0] == stored.tag:
            return cast("T | None", cached[1])
        try:
            document: T | None = parse(self._store.read(stored.key))
        except ManifestError:
            document = None
        self._documents[stored.key] = (stored.tag, document)
        return document

    def _drill_metrics(
        self, objects: dict[str, StoredObject], now: float
    ) -> dict[str, MetricValue]:
        metrics: dict[str, MetricValue] = {}
        if self._drill is not None:
            metrics["rto_target"] = float(self._drill.rto_target)
        reports = sorted(k for k in objects if k.startswith(DRILLS_DIR) and k.endswith(".json"))
        if not reports:
            return metrics
        report = self._parsed(objects[reports[-1]], DrillReport.from_json)
        if report is None:
            return metrics
        metrics["drill_ok"] = report.ok
        metrics["drill_rto"] = report.rto
        metrics["drill_age"] = now - report.finished_at
        metrics.setdefault("rto_target", report.rto_target)
        return metrics


def _complete_backups(objects: dict[str, StoredObject], database: str) -> list[str]:
    """The database's manifest keys whose dump exists, newest stamp first."""
    found: list[tuple[float, str]] = []
    for key in objects:
        info = parse_key(key)
        if (
            info is not None
            and info.database == database
            and key.endswith(MANIFEST_SUFFIX)
            and info.stem + DUMP_SUFFIX in objects
        ):
            found.append((info.started_at, key))
    return [key for _, key in sorted(found, reverse=True)]


async def _in_daemon_thread(work: Callable[[], T]) -> T:
    """`asyncio.to_thread`, but on a daemon thread.

    The default executor's threads are joined by `asyncio.run` and at interpreter
    exit, so one S3 call hanging on a dead endpoint would hold `warroom check` or
    the console's quit long past the probe's timeout. A daemon thread is abandoned.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # the run was cancelled (timed out) meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(cast(T, result))

    def target() -> None:
        try:
            outcome: tuple[T | None, BaseException | None] = (work(), None)
        except BaseException as exc:
            outcome = (None, exc)
        # A closed loop raises RuntimeError: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=target, name="warroom-backups", daemon=True).start()
    return await future
