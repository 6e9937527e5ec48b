"""Back-ends on pyoxigraph: in-memory and embedded on-disk (RocksDB)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

from pyoxigraph import Quad, QueryTriples, RdfFormat, parse, serialize
from pyoxigraph import Store as OxStore

from metakg.kg.errors import QueryError, StoreError, StoreLocked
from metakg.kg.store._bulk_gate import BulkGate
from metakg.kg.store._journal import WriteAheadJournal
from metakg.kg.store._sparql_text import check_untrusted, syntax_error
from metakg.kg.store.base import QueryResult, Store, _serialize_data
from metakg.kg.vocabulary import PREFIXES

if TYPE_CHECKING:
    from metakg.kg.sparql_protocol import ProtocolAnswer, QueryDataset, QueryLimits
    from metakg.kg.store._query_pool import QueryPool

__all__ = ["BULK_MIN_QUADS", "MemoryStore", "OxigraphStore"]

#: Writes of at least this many quads (or bytes of N-Quads) use pyoxigraph's bulk loader,
#: about five times faster than a transaction, made atomic by the journal and the gate.
#: Smaller writes are transactions.
BULK_MIN_QUADS = 4096
BULK_MIN_BYTES = 512 * 1024
#: Above this size, N-Quads text is checked by a full parse before the bulk load starts: the
#: loader parses its input in chunks of a million quads, so a syntax error late in a larger
#: text could otherwise follow a chunk already written. Below it, the loader's own parse
#: comes first (nothing is written when the text is invalid; a test checks this).
BULK_TRUSTED_MAX_BYTES = 32 * 2**20


class _PyOxigraphStore(Store):
    """Shared implementation over a ``pyoxigraph.Store``."""

    _store: OxStore
    _journal: WriteAheadJournal | None = None

    def _open_gate(self) -> None:
        self._gate = BulkGate()
        self._pool_lock = threading.Lock()

    def _add(self, quads: list[Quad]) -> None:
        if len(quads) < BULK_MIN_QUADS:
            self._transaction(self._store.extend, quads)
        else:
            self._bulk(serialize(quads, format=RdfFormat.N_QUADS) if self._journal else b"",
                       lambda: self._store.bulk_extend(quads))

    def load_stream(self, source: IO[bytes], fmt: RdfFormat) -> None:
        """Bulk-load RDF read from ``source`` without holding it in memory.

        Not atomic (the bulk loader commits in chunks): meant for idempotent loads such as
        the seed graph, which a caller repeats after an interruption (quads already there
        are not duplicated).

        Raises:
            SyntaxError: the input is not valid ``fmt``; what came before stays written.
            StoreError: the store could not be written.
        """
        with self._writing():
            try:
                with self._gate.bulk_writing():
                    self._store.bulk_load(source, format=fmt)
            except OSError as exc:
                raise StoreError(f"Could not write to the store: {exc}") from exc

    def _add_nquads(self, data: bytes) -> None:
        if len(data) > BULK_TRUSTED_MAX_BYTES:
            for _ in parse(data, format=RdfFormat.N_QUADS):  # a syntax error raises here,
                pass                                         # before anything is written
        if len(data) < BULK_MIN_BYTES:
            self._transaction(lambda d: self._store.load(d, format=RdfFormat.N_QUADS), data)
        else:
            self._bulk(data, lambda: self._store.bulk_load(data, format=RdfFormat.N_QUADS))

    @staticmethod
    def _transaction(write: Callable[[Any], None], payload: object) -> None:
        """One transaction: all or nothing."""
        try:
            write(payload)
        except OSError as exc:
            raise StoreError(f"Could not write to the store: {exc}") from exc

    def _bulk(self, nquads: bytes, load: Callable[[], None]) -> None:
        """A bulk load, journalled first (``nquads``: the same data as text) and gated.

        A syntax error is raised before the loader writes anything (see
        ``BULK_TRUSTED_MAX_BYTES``), so its journal file is dropped; any other failure
        leaves the file, and the write is replayed at the next open.
        """
        try:
            with self._gate.bulk_writing():
                record = self._journal.record_bytes(nquads) if self._journal else None
                try:
                    load()
                except SyntaxError:
                    if record is not None:
                        self._journal.clear(record)  # type: ignore[union-attr]
                    raise
                if record is not None:
                    self._journal.clear(record)  # type: ignore[union-attr]
        except OSError as exc:
            raise StoreError(f"Could not write to the store: {exc}") from exc

    def _remove(self, quads: list[Quad]) -> None:
        # One update = one transaction.
        if quads:
            self._store.update(f"DELETE DATA {{ {_serialize_data(quads)} }}")

    def _query(self, query: str, *, prefixes: Mapping[str, str] | None,
               dataset: QueryDataset | None = None) -> QueryResult:
        graphs = dataset.pyoxigraph_args() if dataset is not None else {}
        try:
            with self._gate.reading():
                return self._store.query(query, prefixes=dict(prefixes) if prefixes else None,
                                         **graphs)  # type: ignore[arg-type]
        except SyntaxError as exc:
            raise syntax_error(exc, query) from None

    def construct_ntriples(self, query: str, bindings: Mapping[str, Any] | None = None) -> bytes:
        # pyoxigraph writes the triples itself, partly outside the GIL: an export's parts
        # read in threads overlap (no Python object per triple either)
        result = self.query(query, bindings)
        if not isinstance(result, QueryTriples):
            raise QueryError("construct_ntriples() needs a CONSTRUCT or DESCRIBE query.")
        return result.serialize(format=RdfFormat.N_TRIPLES) or b""

    def _query_dataset(self, query: str, dataset: QueryDataset) -> QueryResult:
        return self._query(query, prefixes=PREFIXES, dataset=dataset)

    def _update(self, update: str) -> None:
        self._store.update(update)

    def _count(self) -> int:
        with self._gate.reading():
            return len(self._store)

    def _dump(self, fmt: RdfFormat) -> bytes:
        with self._gate.reading():
            return self._dump_unguarded(fmt)

    def _dump_unguarded(self, fmt: RdfFormat) -> bytes:
        if fmt in (RdfFormat.N_QUADS, RdfFormat.TRIG):
            return self._store.dump(format=fmt)
        from pyoxigraph import DefaultGraph

        return self._store.dump(format=fmt, from_graph=DefaultGraph(), prefixes=_prefixes(fmt))

    def stream_dump(self, fmt: RdfFormat) -> Iterator[bytes]:
        # pyoxigraph's own serialiser writes into a bounded queue from a thread: native speed
        # (serialising chunks of Python quads took twice as long) and bounded memory. Its
        # reader takes a snapshot when the dump starts: the gate is held until the first chunk
        # is written, not while a slow client reads (a bulk write, and every query behind it,
        # would wait for that client).
        from contextlib import ExitStack

        from metakg.kg.store._streamed_dump import stream_from_writer

        gate = ExitStack()

        def dump(out: IO[bytes]) -> None:
            with gate:
                gate.enter_context(self._gate.reading())
                if fmt in (RdfFormat.N_QUADS, RdfFormat.TRIG):
                    self._store.dump(out, format=fmt, prefixes=_prefixes(fmt))
                else:
                    from pyoxigraph import DefaultGraph

                    self._store.dump(out, format=fmt, from_graph=DefaultGraph(), prefixes=_prefixes(fmt))

        return stream_from_writer(dump, started=gate.close)

    def _load(self, data: bytes, fmt: RdfFormat) -> None:
        if fmt == RdfFormat.N_QUADS:
            self._add_nquads(data)
            return
        if len(data) < BULK_MIN_BYTES:
            quads = list(parse(data, format=fmt))  # parse fully first: a syntax error adds nothing
            self._add(quads)
            return
        # A large file (the seed graph: millions of quads) is not held as Python objects:
        # validated by one parse (a syntax error adds nothing), then bulk-loaded from the text,
        # journalled as N-Quads where the store keeps a journal.
        for _ in parse(data, format=fmt):
            pass
        if self._journal is None:
            self._bulk(b"", lambda: self._store.bulk_load(data, format=fmt))
        else:
            self._add_nquads(serialize(parse(data, format=fmt), format=RdfFormat.N_QUADS))


def _prefixes(fmt: RdfFormat) -> dict[str, str] | None:
    if fmt not in (RdfFormat.TURTLE, RdfFormat.TRIG):
        return None
    from metakg.kg.vocabulary import PREFIXES

    return dict(PREFIXES)


class MemoryStore(_PyOxigraphStore):
    """In-memory store (tests, small jobs). Data is lost on close.

    Args:
        (none)
    """

    persistent: ClassVar[bool] = False
    shared: ClassVar[bool] = False

    def __init__(self) -> None:
        self._store = OxStore()
        self._open_gate()

    def __repr__(self) -> str:
        return "MemoryStore()"


class OxigraphStore(_PyOxigraphStore):
    """Embedded on-disk Oxigraph store: the default back-end for one machine.

    One process may open a directory for writing; others fail with :class:`StoreLocked`
    (or open it read-only with ``read_only=True``).

    Args:
        path: directory of the store (created if missing).
        read_only: open without taking the write lock.

    Raises:
        StoreLocked: another process holds the store.
        StoreError: the directory cannot be used.
    """

    persistent: ClassVar[bool] = True
    shared: ClassVar[bool] = False
    supports_read_only: ClassVar[bool] = True
    enforces_query_limits: ClassVar[bool] = True
    #: Worker processes for :meth:`query_bounded` (each one query at a time).
    query_workers: int = 2

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        try:
            if read_only:
                self._store = OxStore.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = OxStore(str(self.path))
        except OSError as exc:
            msg = str(exc)
            if "lock" in msg.lower():
                raise StoreLocked(
                    f"The store at {self.path} is open in another process (only one process "
                    "may write an embedded store). Stop that process, open it read-only, or "
                    "serve it with `metakg serve` / an Oxigraph server and use "
                    "METAKG_STORE=http://..."
                ) from None
            raise StoreError(f"Cannot open the store at {self.path}: {msg}") from None
        self._open_gate()
        if not read_only:
            self._journal = WriteAheadJournal(self.path / "metakg-journal")
            self._journal.replay(self._store.extend)

    def query_bounded(self, query: str, *, accept: str = "", limits: QueryLimits | None = None,
                      dataset: QueryDataset | None = None) -> ProtocolAnswer:
        """Answer an untrusted query in a worker process that reads the store read-only.

        The worker is killed at the deadline or when its resident memory passes
        ``limits.memory_mb`` (then replaced), so no query outlives its limits or grows this
        process. Workers run at a lower CPU priority; a small pool (``query_workers``) is
        kept warm, and one that sees a newer version of the store than it opened reopens it.
        See :meth:`Store.query_bounded` for the arguments and errors.
        """
        check_untrusted(query)
        from metakg.kg.sparql_protocol import QueryDataset, QueryLimits

        if os.name != "posix":  # the worker pool needs POSIX pipes
            return super().query_bounded(query, accept=accept, limits=limits, dataset=dataset)
        pool = getattr(self, "_query_pool", None)
        if pool is None:
            with self._pool_lock:  # two first queries at once start one pool, not two
                pool = getattr(self, "_query_pool", None) or self.start_query_workers(self.query_workers)
        return pool.run(query, accept=accept, limits=limits or QueryLimits(),
                        dataset=dataset or QueryDataset(), version=self.local_version)

    def start_query_workers(self, workers: int) -> QueryPool:
        """Start the worker processes of :meth:`query_bounded` now (a service does this at
        start, so the first query does not wait about a second for one).

        Args:
            workers: processes kept, each answering one query at a time.

        Returns:
            The pool (replacing any earlier one, which is closed).
        """
        from metakg.kg.store._query_pool import QueryPool

        old = getattr(self, "_query_pool", None)
        if old is not None:
            old.close()
        self.query_workers = workers
        self._query_pool = QueryPool(self.path, workers=workers)
        if os.name == "posix":
            self._query_pool.start()
        return self._query_pool

    def close(self) -> None:
        pool = getattr(self, "_query_pool", None)
        if pool is not None:
            pool.close()
            self._query_pool = None
        store = getattr(self, "_store", None)
        if store is not None and not self.read_only:
            store.flush()
        self._store = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"OxigraphStore({str(self.path)!r})"
