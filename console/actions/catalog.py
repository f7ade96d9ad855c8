"""The backups on a destination: dumps paired with their manifests, by name.

Names follow probes/backup_manifest.py: `warroom-<database>-<YYYYmmddTHHMMSSZ>`
plus `.dump` and `.manifest.json`. A dump without a manifest is incomplete
(never restored from, only cleaned up).
"""

from __future__ import annotations

from dataclasses import dataclass

from console.actions.destinations import Destination
from probes.backup_manifest import (
    DUMP_SUFFIX,
    MANIFEST_SUFFIX,
    BackupManifest,
    ManifestError,
    StemInfo,
    backup_stem,
    parse_key,
    stamp,
)


@dataclass(frozen=True)
class StoredBackup:
    info: StemInfo
    has_dump: bool
    has_manifest: bool
    manifest: BackupManifest | None  # None: no manifest, or an unreadable one

    @property
    def dump_key(self) -> str:
        return self.info.stem + DUMP_SUFFIX

    @property
    def manifest_key(self) -> str:
        return self.info.stem + MANIFEST_SUFFIX

    @property
    def verified(self) -> bool:
        manifest = self.manifest
        return self.has_dump and manifest is not None and manifest.verification == "verified"


def list_backups(destination: Destination, database: str) -> list[StoredBackup]:
    """Every backup of `database` (by name), oldest first; reads each manifest."""
    dumps: set[str] = set()
    manifests: set[str] = set()
    infos: dict[str, StemInfo] = {}
    for item in destination.objects():
        info = parse_key(item.key)
        if info is None or info.database != database:
            continue
        infos[info.stem] = info
        (dumps if item.key.endswith(DUMP_SUFFIX) else manifests).add(info.stem)
    found: list[StoredBackup] = []
    for stem, info in sorted(infos.items(), key=lambda pair: pair[1].started_at):
        manifest: BackupManifest | None = None
        if stem in manifests:
            try:
                manifest = BackupManifest.from_json(destination.get(stem + MANIFEST_SUFFIX))
            except ManifestError:
                manifest = None  # unreadable: treated like a missing commit marker
        found.append(StoredBackup(info, stem in dumps, stem in manifests, manifest))
    return found


def newest_verified(destination: Destination, database: str) -> StoredBackup | None:
    verified = [b for b in list_backups(destination, database) if b.verified]
    return verified[-1] if verified else None


def new_stem(database: str, at: float) -> str:
    return backup_stem(database, stamp(at))
