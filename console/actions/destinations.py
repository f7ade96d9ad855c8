"""Where backups live: an S3 prefix or a local directory, behind one small interface.

Keys are relative to the destination (`warroom-app-20260101T000000Z.dump`,
`drills/20260101T000000Z.json`). A large object is written through a
`Writer` that only becomes visible on `commit()` (S3: complete the multipart
upload; local: fsync and atomic rename of a temp file in the same directory).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from console.actions import s3_stream
from console.actions.progress import CancelToken
from console.config.model import BackupConfig
from probes.backup_store import s3_location

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

_PARTIAL = ".partial-"


class DestinationError(RuntimeError):
    """The destination cannot be used; the message is one line."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


class Writer(Protocol):
    def write(self, data: bytearray, cancel: CancelToken) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class Destination(Protocol):
    description: str  # safe to show: "s3://bucket/prefix/" or a path

    def writer(self, key: str) -> Writer: ...
    def read(self, key: str) -> Iterator[bytes]: ...
    def get(self, key: str) -> bytes: ...
    def put(self, key: str, data: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def objects(self) -> list[StoredObject]: ...
    def sweep(self, is_stale: Callable[[str], bool]) -> list[str]: ...


def open_destination(backup: BackupConfig) -> Destination:
    if backup.destination.startswith("s3://"):
        return S3Destination(backup, *s3_location(backup.destination))
    return LocalDestination(Path(backup.destination).expanduser())


class S3Destination:
    def __init__(self, backup: BackupConfig, bucket: str, prefix: str) -> None:
        self.description = f"s3://{bucket}/{prefix}"
        self.bucket = bucket
        self.prefix = prefix
        self._backup = backup
        self.client: S3Client = s3_stream.make_client(backup)
        self._args = s3_stream.object_args(backup)

    def writer(self, key: str) -> Writer:
        return s3_stream.MultipartUpload(
            self.client,
            self.bucket,
            self.prefix + key,
            concurrency=self._backup.upload_concurrency,
            extra_args=self._args,
            crc32=self._backup.checksums == "when_supported",
        )

    def read(self, key: str) -> Iterator[bytes]:
        return s3_stream.iter_object(self.client, self.bucket, self.prefix + key)

    def get(self, key: str) -> bytes:
        return b"".join(self.read(key))

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=data,
            ContentType="application/json",
            **self._args,  # type: ignore[arg-type]
        )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def objects(self) -> list[StoredObject]:
        found: list[StoredObject] = []
        # Delimiter: only this level (drill reports under drills/ are not backups).
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"
        )
        for page in pages:
            for item in page.get("Contents", []):
                found.append(StoredObject(item["Key"][len(self.prefix) :], item.get("Size", 0)))
        return found

    def sweep(self, is_stale: Callable[[str], bool]) -> list[str]:
        return s3_stream.abort_uploads(self.client, self.bucket, self.prefix, is_stale)


class LocalDestination:
    """Atomic writes: a temp file beside the target, fsync, rename, fsync the directory."""

    def __init__(self, root: Path) -> None:
        self.description = str(root)
        self.root = root

    def _existing_root(self) -> Path:
        if not self.root.is_dir():
            # Never create it: a missing directory is usually an unmounted backup disk.
            raise DestinationError(f"backup directory {self.root} does not exist")
        return self.root

    def _directory(self, key: str) -> Path:
        target = (self._existing_root() / key).parent
        target.mkdir(exist_ok=True)
        return target

    def writer(self, key: str) -> Writer:
        return _LocalWriter(self._directory(key), Path(key).name)

    def read(self, key: str) -> Iterator[bytes]:
        with (self.root / key).open("rb") as handle:
            while chunk := handle.read(s3_stream.READ_CHUNK):
                yield chunk

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def put(self, key: str, data: bytes) -> None:
        writer = _LocalWriter(self._directory(key), Path(key).name)
        try:
            writer.write(bytearray(data), CancelToken())
            writer.commit()
        except BaseException:
            writer.abort()
            raise

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / key).unlink()
        _fsync_dir(self.root)

    def objects(self) -> list[StoredObject]:
        return [
            StoredObject(entry.name, entry.stat().st_size)
            for entry in os.scandir(self._existing_root())
            if entry.is_file() and not entry.name.startswith(".")
        ]

    def sweep(self, is_stale: Callable[[str], bool]) -> list[str]:
        removed: list[str] = []
        for entry in os.scandir(self._existing_root()):
            name = entry.name
            if name.startswith(".") and _PARTIAL in name:
                key = name[1 : name.rindex(_PARTIAL)]
                if is_stale(key):
                    Path(entry.path).unlink(missing_ok=True)
                    removed.append(key)
        return removed


class _LocalWriter:
    def __init__(self, directory: Path, name: str) -> None:
        self._final = directory / name
        self._temp = directory / f".{name}{_PARTIAL}{secrets.token_hex(4)}"
        self._handle = self._temp.open("xb")

    def write(self, data: bytearray, cancel: CancelToken) -> None:
        self._handle.write(data)

    def commit(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._temp, self._final)
        _fsync_dir(self._final.parent)

    def abort(self) -> None:
        self._handle.close()
        self._temp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk too.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
