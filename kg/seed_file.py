"""The shipped seed graph as a file: a compact, deterministic dump and its streaming load.

The seed graph (every run of the seed protocol on the shared datasets) ships as TriG with the
project's prefixes, xz-compressed: grouped by subject and with short prefixed names, it is less
than half the size of gzip-compressed N-Quads. The quads are written in sorted order, so the
same graph always gives the same bytes and a re-export that changed nothing changes no file.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from pyoxigraph import Quad, RdfFormat, parse, serialize

__all__ = ["SEED_PREFIXES", "file_digest", "iter_seed_quads", "open_seed", "seed_digest", "write_seed"]

#: Prefixes of the dump: the vocabularies and the project's entity namespaces, so that most
#: IRIs are written as short prefixed names.
SEED_PREFIXES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "mls": "http://www.w3.org/ns/mls#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "mkg": "https://w3id.org/metakg/ns#",
    "run": "https://w3id.org/metakg/id/run/",
    "cfg": "https://w3id.org/metakg/id/config/",
    "ds": "https://w3id.org/metakg/id/dataset/",
    "task": "https://w3id.org/metakg/id/task/",
    "id": "https://w3id.org/metakg/id/",
}

#: Quads that describe the store a dump was taken from (which seed files it has loaded), not
#: the graph: a seed file leaves them out.
_STORE_MARKERS = (b"<https://w3id.org/metakg/id/store/this> <https://w3id.org/metakg/ns#seeded",
                  b"<https://w3id.org/metakg/id/store/this> <https://w3id.org/metakg/ns#seedingStarted")

#: xz preset of the dump: 6 is xz's default; higher presets gain little on this data and
#: need more memory to decompress.
XZ_PRESET = 6


def write_seed(nquads: bytes, path: str | Path) -> int:
    """Write N-Quads text as a deterministic seed file (TriG, xz-compressed).

    Args:
        nquads: the graph as N-Quads (e.g. ``store.dump_bytes("nq")``), in any order.
        path: the file to write (conventionally ``*.trig.xz``); written to a temporary file
            first and renamed, so a reader never sees half a file.

    Returns:
        The number of quads written (the store's own seeding markers are left out).
    """
    lines = sorted(line for line in nquads.splitlines()
                   if line.strip() and not line.startswith(_STORE_MARKERS))
    quads = parse(b"\n".join(lines) + b"\n", format=RdfFormat.N_QUADS)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    # one xz stream without a timestamp: the bytes depend on the quads alone
    with lzma.open(tmp, "wb", preset=XZ_PRESET) as fh:
        serialize(quads, fh, format=RdfFormat.TRIG, prefixes=SEED_PREFIXES)
    tmp.replace(path)
    return len(lines)


class _CountingReader(io.RawIOBase):
    """A binary file that reports how many bytes of it were read; closing it closes the file."""

    def __init__(self, raw: IO[bytes], report: Callable[[int], None]) -> None:
        super().__init__()
        self._raw = raw
        self._report = report

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        self._report(self._raw.tell())
        return n

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Decompressed(io.BufferedReader):
    """Decompressed bytes of a file; closing them closes the file too (lzma.open and
    gzip.open leave a file object they were given open)."""

    def __init__(self, stream: IO[bytes], underlying: IO[bytes]) -> None:
        super().__init__(stream)  # type: ignore[arg-type]
        self._underlying = underlying

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._underlying.close()


def open_seed(path: str | Path, progress: Callable[[int], None] | None = None) -> IO[bytes]:
    """Open a seed file for reading as decompressed RDF bytes.

    Args:
        path: a ``.xz``, ``.gz`` or plain RDF file.
        progress: called with how many bytes of the (compressed) file were read so far.

    Returns:
        A binary file object; closing it closes the file.
    """
    import gzip

    path = Path(path)
    raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed with the returned object
    if progress is not None:
        raw = _CountingReader(raw, progress)  # type: ignore[assignment]
    if path.suffix == ".xz":
        return _Decompressed(lzma.open(raw, "rb"), raw)  # type: ignore[arg-type]
    if path.suffix == ".gz":
        return _Decompressed(gzip.open(raw, "rb"), raw)  # type: ignore[arg-type]
    return raw


def seed_format(path: str | Path) -> RdfFormat:
    """The RDF format of a seed file from its name (``seed.trig.xz`` → TriG)."""
    name = Path(path).name.lower()
    for suffix in (".xz", ".gz"):
        name = name.removesuffix(suffix)
    return RdfFormat.N_QUADS if name.endswith(".nq") else RdfFormat.TRIG


def iter_seed_quads(path: str | Path) -> Iterator[Quad]:
    """Every quad of a seed file, streamed (nothing is held in memory)."""
    with open_seed(path) as fh:
        yield from parse(fh, format=seed_format(path))


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (a seed file is tens of megabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def seed_digest(paths: tuple[Path, ...] | list[Path]) -> str:
    """The identity of a seed made of several files (the seed and its extensions): a single
    file's own SHA-256, else the SHA-256 of the files' digests in order.

    Args:
        paths: the seed file first, then its extensions.

    Returns:
        A hex digest; recommenders shipped with a seed are stamped with it.
    """
    digests = [file_digest(p) for p in paths]
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def file_signature(path: str | Path) -> str:
    """Path, size and modification time: a file already seen with these is the same file."""
    st = os.stat(path)
    return f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}"
