"""S3 plumbing for backups: a client built from `[backup]`, and a multipart upload fed part by part.

Memory bound: the producer fills one part while at most `concurrency` parts
are in flight, so a backup holds at most (concurrency + 1) x part_size of dump
data in memory, whatever the database's size: 40 MiB with the defaults (8 MiB
parts, 4 threads). Nothing of the dump's size ever touches the local disk.

A multipart upload becomes an object only when `commit()` completes it; every
failure path calls `abort()` instead, so a failed backup leaves no object and
no billable in-progress upload behind.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from console.actions.progress import CancelToken
from console.config.model import BackupConfig

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

MiB = 1024 * 1024
MIN_PART_SIZE = 8 * MiB
S3_MIN_PART_SIZE = 5 * MiB  # S3 rejects smaller parts except the last one
MAX_PARTS = 10_000
READ_CHUNK = MiB


def choose_part_size(estimate: int, override: int | None) -> int:
    """Parts of at least 8 MiB, big enough that 1.5x the estimate fits in S3's 10,000 parts.

    The estimate is the database's on-disk size; a custom-format dump is
    usually smaller, and the 1.5 margin covers the rare dump that is larger.
    """
    if override:
        return max(override, S3_MIN_PART_SIZE)
    needed = math.ceil(estimate * 1.5 / MAX_PARTS / MiB) * MiB
    return max(MIN_PART_SIZE, needed)


def make_client(backup: BackupConfig) -> S3Client:
    config = BotoConfig(
        region_name=backup.region,
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=max(10, backup.upload_concurrency + 2),
        request_checksum_calculation=backup.checksums,
        response_checksum_validation=backup.checksums,
    )
    # A session per backup: boto3's default session is not thread-safe to build.
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=backup.endpoint_url, config=config)


def object_args(backup: BackupConfig) -> dict[str, str]:
    """SSE and storage class, for every object a backup writes."""
    args: dict[str, str] = {}
    if backup.sse:
        args["ServerSideEncryption"] = backup.sse
        if backup.sse == "aws:kms" and backup.kms_key_id:
            args["SSEKMSKeyId"] = backup.kms_key_id
    if backup.storage_class:
        args["StorageClass"] = backup.storage_class
    return args


def is_missing(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in (
        "NoSuchKey",
        "NoSuchUpload",
        "404",
    )


class MultipartUpload:
    """One multipart upload; `put()` blocks while `concurrency` parts are already in flight."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        key: str,
        *,
        concurrency: int,
        extra_args: dict[str, str],
        crc32: bool,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        # Mirrors s3transfer: under "when_supported" every part carries a
        # CRC32 that S3 checks, and complete() must repeat them.
        self._crc32 = crc32
        create_args: dict[str, Any] = dict(extra_args)
        if crc32:
            create_args["ChecksumAlgorithm"] = "CRC32"
        response = client.create_multipart_upload(Bucket=bucket, Key=key, **create_args)
        self.upload_id = response["UploadId"]
        self._pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="s3-part")
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._futures: list[Future[CompletedPartTypeDef]] = []
        self._failed: BaseException | None = None

    def write(self, data: bytearray, cancel: CancelToken) -> None:
        """Queue the next part. Raises the first part failure, or Cancelled."""
        self._raise_failure()
        while not self._slots.acquire(timeout=0.2):
            cancel.check()
            self._raise_failure()
        number = len(self._futures) + 1
        future = self._pool.submit(self._upload, number, data)
        future.add_done_callback(self._part_done)
        self._futures.append(future)

    def _upload(self, number: int, data: bytearray) -> CompletedPartTypeDef:
        args: dict[str, Any] = {"ChecksumAlgorithm": "CRC32"} if self._crc32 else {}
        response = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=cast(bytes, data),  # botocore takes bytearray; its stubs don't say so
            **args,
        )
        part: CompletedPartTypeDef = {"PartNumber": number, "ETag": response["ETag"]}
        if self._crc32 and "ChecksumCRC32" in response:
            part["ChecksumCRC32"] = response["ChecksumCRC32"]
        return part

    def _part_done(self, future: Future[CompletedPartTypeDef]) -> None:
        self._slots.release()
        exc = future.exception() if not future.cancelled() else None
        if exc is not None and self._failed is None:
            self._failed = exc

    def _raise_failure(self) -> None:
        if self._failed is not None:
            raise self._failed

    def commit(self) -> None:
        if not self._futures:
            # S3 needs at least one part; an empty stream is an empty object.
            self.write(bytearray(), CancelToken())
        parts = [future.result() for future in self._futures]
        self._pool.shutdown()
        self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": parts},
        )

    def abort(self) -> None:
        """Drop queued parts, wait for those in flight, then abort (idempotent, best effort)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self.upload_id
            )
        except ClientError as exc:
            if not is_missing(exc):
                raise


def iter_object(client: S3Client, bucket: str, key: str) -> Iterator[bytes]:
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    with contextlib.closing(body):
        yield from body.iter_chunks(READ_CHUNK)


def abort_uploads(
    client: S3Client, bucket: str, prefix: str, is_stale: Callable[[str], bool]
) -> list[str]:
    """Abort in-progress uploads under `prefix` whose relative key `is_stale`; returns the keys."""
    aborted: list[str] = []
    for page in client.get_paginator("list_multipart_uploads").paginate(
        Bucket=bucket, Prefix=prefix
    ):
        for upload in page.get("Uploads", []):
            key = upload.get("Key", "")
            if is_stale(key[len(prefix) :]):
                with contextlib.suppress(ClientError):
                    client.abort_multipart_upload(
                        Bucket=bucket, Key=key, UploadId=upload.get("UploadId", "")
                    )
                    aborted.append(key[len(prefix) :])
    return aborted
