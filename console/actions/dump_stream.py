"""Bytes in motion: pg_dump's stdout into a destination writer, and an object back into a sink.

The dump is hashed and counted on the way through, never stored whole. The
one rule that makes streaming safe: the writer is committed only after
pg_dump has exited 0. A dump killed mid-stream simply ends early on the pipe;
committing at EOF (what `upload_fileobj(proc.stdout)` does) would store a
truncated archive that looks like any other object.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import select
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from console.actions.destinations import Writer
from console.actions.pg_tools import ToolError, ToolProcess
from console.actions.progress import CancelToken

_PIPE_SIZE = 1024 * 1024  # fewer, larger reads than the 64 KiB default
_POLL = 0.2  # seconds between cancel checks while the producer is silent


@dataclass(frozen=True)
class Digest:
    size: int
    sha256: str


def _grow_pipe(stream: IO[bytes]) -> None:
    # Linux only, and only a speed-up: ignore where unsupported or capped.
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(stream.fileno(), set_size, _PIPE_SIZE)


def dump_into(
    dump: ToolProcess,
    writer: Writer,
    part_size: int,
    cancel: CancelToken,
    on_bytes: Callable[[int], None],
) -> Digest:
    """Pump the tool's stdout into `writer` in parts; commit only if the tool exited 0.

    On any failure (the tool's, the writer's, or a cancel) the tool is stopped
    and the writer aborted before the exception propagates.
    """
    stdout = dump.proc.stdout
    if stdout is None:
        raise ToolError(f"{dump.name} has no stdout pipe")
    _grow_pipe(stdout)
    digest = hashlib.sha256()
    done = 0

    def consumed(chunk: memoryview) -> None:
        nonlocal done
        digest.update(chunk)
        done += len(chunk)
        on_bytes(done)

    try:
        eof = False
        while not eof:
            part = bytearray(part_size)
            filled = _fill(stdout.fileno(), part, cancel, consumed)
            eof = filled < part_size
            if filled:
                del part[filled:]
                writer.write(part, cancel)
        dump.wait()
        failure = dump.failure()
        if failure is not None:
            raise ToolError(failure)
        cancel.check()
        writer.commit()
    except BaseException:
        dump.stop()
        # The original error is the one to report; an upload that could not be
        # aborted now is aborted by the next backup's sweep once it is stale.
        with contextlib.suppress(Exception):
            writer.abort()
        raise
    return Digest(done, digest.hexdigest())


def _fill(
    fd: int, part: bytearray, cancel: CancelToken, consumed: Callable[[memoryview], None]
) -> int:
    """Fill `part` from the pipe; fewer bytes than its length means end of stream."""
    filled = 0
    with memoryview(part) as view:
        while filled < len(part):
            cancel.check()
            ready, _, _ = select.select([fd], [], [], _POLL)
            if not ready:
                continue
            got = os.readv(fd, [view[filled:]])
            if not got:
                break
            consumed(view[filled : filled + got])
            filled += got
    return filled


def copy_hashed(
    chunks: Iterable[bytes],
    sink: Callable[[bytes], object],
    cancel: CancelToken,
    on_bytes: Callable[[int], None],
) -> Digest:
    """Hand every chunk to `sink`, hashing and counting; checks for a cancel between chunks."""
    digest = hashlib.sha256()
    total = 0
    for chunk in chunks:
        cancel.check()
        digest.update(chunk)
        sink(chunk)
        total += len(chunk)
        on_bytes(total)
    return Digest(total, digest.hexdigest())


class PipeSink:
    """Writes chunks to a tool's stdin; once the tool stops reading, the rest is discarded.

    The caller still reads (and hashes) the whole object, so a size or
    checksum mismatch is reported even when pg_restore gave up early.
    """

    def __init__(self, tool: ToolProcess) -> None:
        if tool.proc.stdin is None:
            raise ToolError(f"{tool.name} has no stdin pipe")
        self._stdin = tool.proc.stdin
        self._open = True

    def __call__(self, chunk: bytes) -> None:
        if not self._open:
            return
        try:
            with memoryview(chunk) as view:
                sent = 0
                while sent < len(view):
                    # Raw pipe writes may be partial.
                    sent += self._stdin.write(view[sent:]) or 0
        except BrokenPipeError:
            self._open = False

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self._stdin.close()
        self._open = False
