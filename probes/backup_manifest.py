"""The backup manifest and drill report formats, shared by the backup action and the status probe.

A backup is two objects under the destination prefix:

    warroom-<database>-<YYYYmmddTHHMMSSZ>.dump            pg_dump --format=custom, as is
    warroom-<database>-<YYYYmmddTHHMMSSZ>.manifest.json   written last: the commit marker

A dump without its manifest is incomplete and is never listed as a backup.
Drill reports live under `<prefix>drills/<YYYYmmddTHHMMSSZ>.json`.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

MANIFEST_FORMAT = "warroom-backup/1"
DRILL_FORMAT = "warroom-drill/1"
MANIFEST_SUFFIX = ".manifest.json"
DUMP_SUFFIX = ".dump"
DRILLS_DIR = "drills/"
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_STEM = re.compile(r"^warroom-(?P<database>.+)-(?P<stamp>\d{8}T\d{6}Z)$")

Verification = Literal["pending", "verified", "failed"]


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class BackupManifest:
    key: str  # the dump object's name relative to the prefix
    database: str
    size: int
    sha256: str
    server_version: str
    pg_dump_version: str
    started_at: float
    finished_at: float
    critical_tables: dict[str, int] = field(default_factory=dict)
    tables: tuple[str, ...] = ()
    verification: Verification = "pending"
    verified_at: float | None = None
    verification_error: str | None = None
    format: str = MANIFEST_FORMAT

    @property
    def duration(self) -> float:
        return self.finished_at - self.started_at

    def to_json(self) -> bytes:
        data = asdict(self)
        data["tables"] = list(self.tables)
        return json.dumps(data, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> BackupManifest:
        data = _load(raw, MANIFEST_FORMAT)
        try:
            data["tables"] = tuple(data.get("tables", ()))
            return cls(**data)
        except TypeError as exc:
            raise ManifestError(f"malformed manifest: {exc}") from None


@dataclass(frozen=True)
class DrillReport:
    backup_key: str
    started_at: float
    finished_at: float
    ok: bool
    rto: float  # seconds from start to verified
    rto_target: float
    phases: dict[str, float] = field(default_factory=dict)  # download/restore/check seconds
    database: str = ""  # the scratch database name
    error: str | None = None
    format: str = DRILL_FORMAT

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> DrillReport:
        data = _load(raw, DRILL_FORMAT)
        try:
            return cls(**data)
        except TypeError as exc:
            raise ManifestError(f"malformed drill report: {exc}") from None


def _load(raw: bytes | str, expected: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != expected:
        raise ManifestError(f"not a {expected} document")
    return data


def backup_stem(database: str, stamp: str) -> str:
    return f"warroom-{database}-{stamp}"


def stamp(at: float) -> str:
    return time.strftime(_STAMP_FORMAT, time.gmtime(at))


def stamp_time(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, _STAMP_FORMAT)))


@dataclass(frozen=True)
class StemInfo:
    stem: str
    database: str
    started_at: float


def parse_key(key: str) -> StemInfo | None:
    """The backup a dump or manifest key belongs to, or None for anything else.

    The one reading of the names, for the backup action (retention, drills) and
    the status probe alike.
    """
    for suffix in (DUMP_SUFFIX, MANIFEST_SUFFIX):
        if key.endswith(suffix):
            stem = key[: -len(suffix)]
            match = _STEM.match(stem)
            if match:
                return StemInfo(stem, match["database"], stamp_time(match["stamp"]))
    return None
