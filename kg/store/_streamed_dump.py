"""Turn a serialiser that writes to a file into an iterator of byte chunks, with bounded memory.

The serialiser runs in a thread and writes into a bounded queue; the iterator hands the chunks
on as they come. A consumer that stops early (an HTTP client that disconnects) makes the next
write fail, which ends the serialiser.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterator
from typing import IO

__all__ = ["stream_from_writer"]

#: Bytes per chunk handed on, and chunks held at most (about 32 MB in flight).
CHUNK_BYTES = 1 << 20
MAX_CHUNKS = 32
_DONE = object()


class _Cancelled(Exception):
    """The consumer stopped reading."""


class _QueueSink(io.RawIOBase):
    def __init__(self, chunks: queue.Queue[object], cancelled: threading.Event) -> None:
        self._chunks, self._cancelled = chunks, cancelled

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        while True:
            if self._cancelled.is_set():
                raise _Cancelled
            try:
                self._chunks.put(bytes(data), timeout=0.5)
                return len(data)
            except queue.Full:
                continue


def stream_from_writer(write: Callable[[IO[bytes]], None]) -> Iterator[bytes]:
    """Run ``write(file)`` in a thread and yield what it writes, in chunks of about 1 MB.

    Args:
        write: writes a whole document to the file it is given.

    Returns:
        An iterator over the document's bytes; an error in ``write`` is raised from it.
    """
    chunks: queue.Queue[object] = queue.Queue(MAX_CHUNKS)
    cancelled = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with io.BufferedWriter(_QueueSink(chunks, cancelled), CHUNK_BYTES) as out:
                write(out)
        except _Cancelled:
            return
        except BaseException as exc:  # handed to the consumer below
            failure.append(exc)
        while not cancelled.is_set():
            try:
                chunks.put(_DONE, timeout=0.5)
                return
            except queue.Full:
                continue

    def consume() -> Iterator[bytes]:
        thread = threading.Thread(target=run, name="metakg-dump", daemon=True)
        thread.start()
        try:
            while (item := chunks.get()) is not _DONE:
                yield item  # type: ignore[misc]
        finally:
            cancelled.set()
            thread.join(timeout=10)
        if failure:
            raise failure[0]

    return consume()
