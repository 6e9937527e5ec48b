"""Turn a serialiser that writes to a file into an iterator of byte chunks, with bounded memory.

The serialiser runs in a thread and writes into a bounded queue; the iterator hands the chunks
on as they come. A consumer that stops early (an HTTP client that disconnects), or reads
nothing for ``IDLE_TIMEOUT_S``, makes the next write fail, which ends the serialiser.
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
#: A consumer that takes no chunk for this long is given up on (a stalled HTTP client).
IDLE_TIMEOUT_S = 600.0
_DONE = object()


class _Cancelled(Exception):
    """The consumer stopped reading."""


class _QueueSink(io.RawIOBase):
    def __init__(self, chunks: queue.Queue[object], cancelled: threading.Event,
                 started: Callable[[], None] | None) -> None:
        self._chunks, self._cancelled, self._started = chunks, cancelled, started

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self._started is not None:
            self._started()
            self._started = None
        waited = 0.0
        while True:
            if self._cancelled.is_set() or waited >= IDLE_TIMEOUT_S:
                raise _Cancelled
            try:
                self._chunks.put(bytes(data), timeout=0.5)
                return len(data)
            except queue.Full:
                waited += 0.5


def stream_from_writer(write: Callable[[IO[bytes]], None],
                       started: Callable[[], None] | None = None) -> Iterator[bytes]:
    """Run ``write(file)`` in a thread and yield what it writes, in chunks of about 1 MB.

    Args:
        write: writes a whole document to the file it is given.
        started: called (in the writer's thread) when the first chunk is written: by then
            the serialiser has taken its snapshot, so a lock held for that may be released.

    Returns:
        An iterator over the document's bytes; an error in ``write`` is raised from it.
    """
    chunks: queue.Queue[object] = queue.Queue(MAX_CHUNKS)
    cancelled = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with io.BufferedWriter(_QueueSink(chunks, cancelled, started), CHUNK_BYTES) as out:
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
