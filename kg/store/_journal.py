"""A write-ahead journal that makes the embedded store's fast bulk writes atomic.

pyoxigraph's bulk loader is about five times faster than a transaction but is not atomic:
a process killed in the middle can leave part of a write in the store. So a large write is
first saved whole as an N-Quads file (written to a temporary name, then renamed, so a file
is either complete or absent), then bulk-loaded, then the file is deleted. When the store
is opened again, any file left behind is loaded again with a transaction. Adding a quad
twice changes nothing in RDF, so replaying is safe: a write either lands whole or, if its
file was never completed, not at all.

Durability is that of a process crash (SIGKILL, out-of-memory); like the store itself, the
journal does not fsync, so a power cut can still lose the last writes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from pyoxigraph import Quad, RdfFormat, parse

__all__ = ["WriteAheadJournal"]


class WriteAheadJournal:
    """Journal files in one directory (``<store>/metakg-journal``).

    Args:
        directory: where the journal files live (created on first write).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def record_bytes(self, nquads: bytes) -> Path:
        """Save N-Quads text whole before it is written; return the file to clear afterwards."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.nq"
        tmp = self.directory / f".{name}.part"
        tmp.write_bytes(nquads)
        path = self.directory / name
        tmp.replace(path)
        return path

    def clear(self, path: Path) -> None:
        """Forget a journal file once its write is complete."""
        path.unlink(missing_ok=True)

    def pending(self) -> list[Path]:
        """Complete journal files of writes that may not have finished."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.nq"))

    def replay(self, add: Callable[[list[Quad]], None]) -> int:
        """Write every pending journal file again with ``add`` (a transaction); return how
        many were replayed. Half-written temporary files are deleted: their writes never
        started."""
        for part in self.directory.glob(".*.part") if self.directory.is_dir() else ():
            part.unlink(missing_ok=True)
        files = self.pending()
        for path in files:
            add(list(parse(path.read_bytes(), format=RdfFormat.N_QUADS)))
            self.clear(path)
        return len(files)
