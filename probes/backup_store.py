"""Read-only access to a backup destination: an S3 prefix (boto3) or a local directory.

Blocking by nature (boto3, the file system): callers run these methods in a thread.
Every failure is a `StoreError` with one line an operator can act on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from console.config.model import BackupConfig

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class StoreError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str  # relative to the destination prefix, `/`-separated
    size: int
    tag: str  # changes whenever the content does (ETag, or mtime+size locally)


class BackupStore(Protocol):
    location: str

    def list(self) -> dict[str, StoredObject]: ...

    def read(self, key: str) -> bytes: ...


def s3_location(destination: str) -> tuple[str, str]:
    """(bucket, key prefix ending in `/` or empty) of an `s3://bucket/prefix` destination."""
    parts = urlsplit(destination)
    prefix = parts.path.lstrip("/")
    return parts.netloc, prefix if not prefix or prefix.endswith("/") else prefix + "/"


def open_store(config: BackupConfig) -> BackupStore:
    if config.destination.startswith("s3://"):
        return S3Store(config)
    return LocalStore(Path(config.destination.removeprefix("file://")).expanduser())


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def list(self) -> dict[str, StoredObject]:
        if not self.root.is_dir():
            raise StoreError(f"backup directory {self.root} does not exist")
        found: dict[str, StoredObject] = {}
        try:
            for directory in (self.root, self.root / "drills"):
                if not directory.is_dir():
                    continue
                with os.scandir(directory) as entries:
                    for entry in entries:
                        if entry.is_file():
                            stat = entry.stat()
                            key = Path(entry.path).relative_to(self.root).as_posix()
                            found[key] = StoredObject(
                                key, stat.st_size, f"{stat.st_mtime_ns}:{stat.st_size}"
                            )
        except PermissionError:
            raise StoreError(f"permission denied reading {self.root}") from None
        return found

    def read(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read {key}: {exc.strerror or exc}") from None


class S3Store:
    def __init__(self, config: BackupConfig) -> None:
        self.bucket, self.prefix = s3_location(config.destination)
        self.location = f"s3://{self.bucket}/{self.prefix}"
        self._config = config
        self._client: S3Client | None = None

    def _s3(self) -> S3Client:
        # Created once, on first use and in the caller's thread: it costs ~100 ms of CPU.
        if self._client is None:
            import boto3.session
            from botocore.config import Config

            timeout = float(self._config.timeout)
            # Its own session: boto3's default one caches whatever credentials it saw first.
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self._config.endpoint_url,
                region_name=self._config.region,
                config=Config(
                    connect_timeout=timeout,
                    read_timeout=timeout,
                    retries={"max_attempts": 2, "mode": "standard"},
                    request_checksum_calculation=self._config.checksums,
                    response_checksum_validation=self._config.checksums,
                ),
            )
        return self._client

    def list(self) -> dict[str, StoredObject]:
        found: dict[str, StoredObject] = {}
        with _s3_errors(self):
            pages = (
                self._s3()
                .get_paginator("list_objects_v2")
                .paginate(Bucket=self.bucket, Prefix=self.prefix)
            )
            for page in pages:
                for item in page.get("Contents", ()):
                    key = item["Key"][len(self.prefix) :]
                    found[key] = StoredObject(key, item["Size"], item.get("ETag", ""))
        return found

    def read(self, key: str) -> bytes:
        with _s3_errors(self):
            body = self._s3().get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"]
            return body.read()


@contextmanager
def _s3_errors(store: S3Store) -> Iterator[None]:
    """botocore's exceptions as one-line `StoreError`s that name the cause clearly."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    where = store.location
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "")) or "error"
        if code in ("NoSuchBucket", "404", "NotFound"):
            raise StoreError(f"bucket {store.bucket} does not exist (NoSuchBucket)") from None
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            raise StoreError(f"access denied to {where} (AccessDenied)") from None
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise StoreError(f"S3 rejected the credentials for {where} ({code})") from None
        message = str(error.get("Message", ""))
        raise StoreError(f"S3 error on {where}: {code} {message}".strip()) from None
    except NoCredentialsError:
        raise StoreError(f"no AWS credentials to read {where}") from None
    except BotoCoreError as exc:
        raise StoreError(f"cannot reach {where}: {exc}") from None
