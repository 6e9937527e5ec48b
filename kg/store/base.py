"""The store contract: one abstract base class, many back-ends.

A store holds RDF quads and answers SPARQL 1.1 queries. Back-ends implement a handful of
primitives (``_add``, ``_remove``, ``_query``, ``_count``, ``_dump``, ``_load``); everything
else (bound-variable queries, typed results, validation) is built on them here, so every
back-end behaves the same and one contract test suite checks them all.

Thread safety: every back-end may be called from several threads of one process at once;
each write (``add``/``remove``) is atomic: it lands whole or not at all. Only back-ends with
``shared = True`` may be used by several processes at once.

Queries are parsed by the back-end's SPARQL parser (pyoxigraph's for the embedded and
in-memory stores, the server's for a remote one) with the project's prefixes predeclared.
Bound values are RDF terms written by pyoxigraph into a one-row ``VALUES`` block at the top
of the WHERE group (see ``_sparql_text``), the same on every back-end: pyoxigraph's own
``substitutions=`` refuses a variable that is not in the SELECT projection, which most bound
queries here are (a filter's bound, the class of a count).

Memos: :meth:`Store.memo` keeps a value computed from the store (e.g. the graph's learning
stamp) until this process next writes, unless that write names it in ``add(keeping=...)``.

Errors: ``QuerySyntaxError`` (a ``QueryError``) for a malformed query, with its line and
column; ``QueryLimitExceeded`` for an untrusted query stopped at its limits; ``StoreError``
when the store cannot be read or written; ``StoreLocked`` when an embedded store is held by
another process.
"""

from __future__ import annotations

import gzip
import itertools
import threading
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    QueryBoolean,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Triple,
    serialize,
)

from metakg.kg.errors import QueryError
from metakg.kg.store._sparql_text import check_untrusted, insert_values, query_form
from metakg.kg.vocabulary import PREFIXES

if TYPE_CHECKING:
    from metakg.kg.sparql_protocol import ProtocolAnswer, QueryDataset, QueryLimits

__all__ = ["Store", "Term", "format_from_suffix", "python_value", "query_form", "store_token"]

Term = NamedNode | BlankNode | Literal | Triple
QueryResult = QuerySolutions | QueryBoolean | QueryTriples
T = TypeVar("T")

#: Serialises the write counters' increments (a few nanoseconds each).
_VERSION_LOCK = threading.Lock()
#: Serialises this process's conditional updates (:meth:`Store.replace_if`): Oxigraph's
#: transactions are repeatable-read, so two updates that read one quad before either commits
#: would both pass their condition.
_CONDITIONAL_LOCK = threading.Lock()

_FORMATS = {".nq": RdfFormat.N_QUADS, ".ttl": RdfFormat.TURTLE, ".nt": RdfFormat.N_TRIPLES,
            ".trig": RdfFormat.TRIG}


def format_from_suffix(path: str | Path) -> tuple[RdfFormat, bool]:
    """Return the RDF format and whether the file is gzipped, from a file name.

    Raises:
        InvalidData: the suffix is not ``.nq``, ``.ttl``, ``.nt`` or ``.trig`` (optionally
            followed by ``.gz``).
    """
    from metakg.kg.errors import InvalidData

    p = Path(path)
    gz = p.suffix in (".gz", ".xz")  # compressed: gzip, or xz (the shipped seed graph)
    suffix = Path(p.stem).suffix if gz else p.suffix
    try:
        return _FORMATS[suffix.lower()], gz
    except KeyError:
        raise InvalidData(
            f"Cannot tell the RDF format of '{p.name}': use a name ending in .nq, .ttl, .nt or "
            ".trig, optionally followed by .gz or .xz."
        ) from None


def python_value(term: Term | None) -> Any:
    """Convert an RDF term to a Python value (IRIs to ``str``, typed literals to numbers)."""
    if term is None:
        return None
    if isinstance(term, Literal):
        dt = term.datatype.value
        v = term.value
        if dt.endswith(("#integer", "#int", "#long", "#nonNegativeInteger")):
            return int(v)
        if dt.endswith(("#double", "#decimal", "#float")):
            return float(v)
        if dt.endswith("#boolean"):
            return v in ("true", "1")
        return v
    if isinstance(term, NamedNode):
        return term.value
    return str(term)


def _as_term(value: Any) -> Term:
    if isinstance(value, NamedNode | BlankNode | Literal | Triple):
        return value
    from metakg.kg.vocabulary import lit

    return lit(value)


class Store(ABC):
    """Abstract RDF store with SPARQL 1.1; see the module docstring for the contract.

    Class flags say what a back-end can do; tests skip on these, never on the type.
    """

    #: Data survives closing the store.
    persistent: ClassVar[bool] = False
    #: Several processes may use the store at once.
    shared: ClassVar[bool] = False
    #: The store can be opened read-only.
    supports_read_only: ClassVar[bool] = False
    #: ``query_bounded`` stops a query at its deadline and memory limit even while the
    #: back-end evaluates it (not only between result rows).
    enforces_query_limits: ClassVar[bool] = False

    # ----- primitives every back-end implements -------------------------------------------
    @abstractmethod
    def _add(self, quads: list[Quad]) -> None:
        """Add quads atomically (all or none)."""

    @abstractmethod
    def _remove(self, quads: list[Quad]) -> None:
        """Remove quads atomically."""

    @abstractmethod
    def _query(self, query: str, *, prefixes: Mapping[str, str] | None) -> QueryResult:
        """Parse (with ``prefixes`` predeclared) and run a read-only SPARQL query; raise
        ``QuerySyntaxError`` if it is not a query."""

    @abstractmethod
    def _update(self, update: str) -> None:
        """Run a SPARQL update (internal use only; never user text)."""

    @abstractmethod
    def _count(self) -> int:
        """Number of quads in the store."""

    @abstractmethod
    def _dump(self, fmt: RdfFormat) -> bytes:
        """Serialise every quad (default graph only for triple formats)."""

    def stream_dump(self, fmt: RdfFormat) -> Iterator[bytes]:
        """Serialise every quad as consecutive byte chunks (default graph only for triple
        formats); joined, they are one valid document.

        Back-ends that can read a snapshot lazily yield it in chunks (pyoxigraph's: about
        1 MB each) while it is read, so a whole-graph export is never built in memory; the
        default yields ``_dump`` in one piece. Stopping early (``close()``) ends the read.

        Args:
            fmt: N-Quads, TriG, N-Triples or Turtle.

        Returns:
            An iterator over the document's bytes.
        """
        yield self._dump(fmt)

    @abstractmethod
    def _load(self, data: bytes, fmt: RdfFormat) -> None:
        """Parse and add serialised RDF atomically."""

    def _add_nquads(self, data: bytes) -> None:
        """Add N-Quads text atomically (back-ends may override with a faster path)."""
        from pyoxigraph import parse

        self._add(list(parse(data, format=RdfFormat.N_QUADS)))

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the store must not be used afterwards."""

    @property
    def local_version(self) -> int:
        """How many writes this process made through this object (a cheap cache key; writes
        by other processes to a shared store are not counted)."""
        return getattr(self, "_local_version", 0)

    def _bump(self) -> int:
        """Count one write; returns the new :attr:`local_version`."""
        with _VERSION_LOCK:  # two threads' writes are two versions, never one
            self._local_version = self.local_version + 1
            return self._local_version

    def memo(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered under ``name`` until this process next writes to the
        store, except through an ``add(..., keeping=(name,))`` (a write it cannot change).

        A shared store is written by other processes too, so nothing is remembered there.

        Args:
            name: what is remembered, e.g. ``"learning_stamp"``.
            compute: reads the store and returns the value.

        Returns:
            The value, computed once per version of the store (twice when two threads ask
            at once).
        """
        if self.shared:
            return compute()
        memos: dict[str, tuple[int, Any]] = self.__dict__.setdefault("_memos", {})
        version = self.local_version
        hit = memos.get(name)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = compute()
        # under the version read before computing: a write that lands meanwhile counts a
        # newer version, which this entry never matches
        memos[name] = (version, value)
        return value

    @contextmanager
    def _writing(self, keeping: Iterable[str] = ()) -> Iterator[None]:
        """One write: counted in :attr:`local_version` whether it succeeds or fails (a failed
        bulk write may have landed in part), and the memos named in ``keeping`` carried over
        it when it succeeds."""
        before = self.local_version
        try:
            yield
        except BaseException:
            self._bump()
            raise
        after = self._bump()
        if keeping:
            self._carry(keeping, before, after)

    def _carry(self, keeping: Iterable[str], before: int, after: int) -> None:
        """Keep the memos named in ``keeping`` valid across this process's one write from
        version ``before`` to ``after`` (not when another write came in between)."""
        memos: dict[str, tuple[int, Any]] = self.__dict__.get("_memos", {})
        if after != before + 1:
            return
        for name in keeping:
            hit = memos.get(name)
            if hit is not None and hit[0] == before:
                memos[name] = (after, hit[1])

    # ----- helpers built on the primitives -----------------------------------------------
    def __len__(self) -> int:
        return self._count()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, quads: Iterable[Quad], *, keeping: Iterable[str] = ()) -> None:
        """Add quads atomically. Adding a quad already present changes nothing.

        Args:
            quads: what to add.
            keeping: names of :meth:`memo` values these quads cannot change (e.g. a stored
                recommendation leaves the ``"learning_stamp"`` as it was); they stay valid.

        Raises:
            StoreError: the store could not be written; nothing was added.
            TypeError: ``keeping`` is one string rather than a collection of names.
        """
        if isinstance(keeping, str):
            raise TypeError("keeping takes memo names, e.g. keeping=(\"learning_stamp\",), "
                            "not one string")
        with self._writing(keeping):
            self._add(list(quads))

    def add_nquads(self, data: bytes) -> None:
        """Add N-Quads text atomically: the fast path for large writes built as text.

        Raises:
            InvalidData: the text is not valid N-Quads; nothing was added.
            StoreError: the store could not be written; nothing was added.
        """
        from metakg.kg.errors import InvalidData

        with self._writing():
            try:
                self._add_nquads(data)
            except SyntaxError as exc:
                raise InvalidData(f"Not valid N-Quads: {exc}") from None

    def remove(self, quads: Iterable[Quad]) -> None:
        """Remove quads atomically; absent quads are ignored."""
        with self._writing():
            self._remove(list(quads))

    def replace(self, remove: Iterable[Quad], add: Iterable[Quad]) -> None:
        """Remove some quads and add others in one atomic update (e.g. a run's status).

        Raises:
            StoreError: the store could not be written; nothing changed.
        """
        rem, new = list(remove), list(add)
        parts = []
        if rem:
            parts.append(f"DELETE DATA {{ {_serialize_data(rem)} }}")
        if new:
            parts.append(f"INSERT DATA {{ {_serialize_data(new)} }}")
        if parts:
            with self._writing():
                self._update(" ;\n".join(parts))

    def replace_if(self, changes: Iterable[tuple[Iterable[Quad], Iterable[Quad], Iterable[Quad]]]
                   ) -> None:
        """Conditional replacements in one atomic update (compare-and-set): each
        ``(required, remove, add)`` removes and adds its quads only if every one of its
        required quads is in the store when the update runs, so two writers that both read a
        value and both change it cannot both succeed (e.g. a proposal marked done twice).
        Whether a change took is read back by the caller.

        The writers of one process are serialised; so are those of every process on the
        embedded store, which one process writes at a time. Processes sharing a remote
        store are not: Oxigraph's transactions are repeatable-read, so two of them at the
        same moment can both pass (callers that need one winner settle it afterwards, as
        :mod:`kg.proposals` does).

        Raises:
            ValueError: a change requires no quad (use :meth:`replace`), or names a blank
                node (in a condition it would match any node).
            StoreError: the store could not be written; nothing changed.
        """
        parts = []
        for required, remove, add in changes:
            req, rem, new = list(required), list(remove), list(add)
            if not req:
                raise ValueError("A conditional change needs at least one required quad.")
            if any(isinstance(t, BlankNode) for q in (*req, *rem, *new)
                   for t in (q.subject, q.object, q.graph_name)):
                raise ValueError("A conditional change cannot name blank nodes (in its "
                                 "condition one would match any node); use IRIs.")
            if not rem and not new:
                continue
            head = (f"DELETE {{ {_serialize_data(rem)} }} " if rem else "") + (
                f"INSERT {{ {_serialize_data(new)} }} " if new else "")
            parts.append(f"{head}WHERE {{ {_serialize_data(req)} }}")
        if parts:
            with _CONDITIONAL_LOCK, self._writing():
                self._update(" ;\n".join(parts))

    def query(
        self, query: str, bindings: Mapping[str, Any] | None = None, *, prefixes: bool = True
    ) -> QueryResult:
        """Run a SPARQL SELECT, ASK, CONSTRUCT or DESCRIBE query.

        Args:
            query: SPARQL 1.1 query text. The standard prefixes (``mls:``, ``mkg:``,
                ``prov:``, ``dcterms:``...) are predeclared unless ``prefixes=False``; the
                query may declare its own, which win.
            bindings: values for variables (``{"dataset": NamedNode(...), "k": 10}``),
                bound as RDF terms written by pyoxigraph, so a value cannot change the
                query's structure.
            prefixes: predeclare the standard prefixes.

        Returns:
            pyoxigraph ``QuerySolutions`` (SELECT), ``QueryBoolean`` (ASK) or
            ``QueryTriples`` (CONSTRUCT/DESCRIBE).

        Raises:
            QuerySyntaxError: the query is malformed or is an update (a ``QueryError``).
        """
        return self._query(bound_query(query, bindings), prefixes=PREFIXES if prefixes else None)

    def query_bounded(self, query: str, *, accept: str = "", limits: QueryLimits | None = None,
                      dataset: QueryDataset | None = None) -> ProtocolAnswer:
        """Answer an untrusted query (the SPARQL protocol) within limits, encoded for ``accept``.

        The standard prefixes are predeclared. This default evaluates in the calling process
        and checks the limits between result rows only, so a query that evaluates long
        before its first row (a large ORDER BY) runs to its end; back-ends with
        ``enforces_query_limits`` stop it at the deadline wherever it is.

        Args:
            query: SPARQL query text from a user.
            accept: the request's ``Accept`` header (content negotiation).
            limits: time, row and memory limits (defaults: ``QueryLimits()``).
            dataset: the protocol's default and named graphs (default: the store's).

        Returns:
            The encoded answer; rows beyond ``limits.max_rows`` are cut and it says so.

        Raises:
            QuerySyntaxError: the query is malformed or an update.
            QueryLimitExceeded: the query ran past its time or memory limit.
        """
        check_untrusted(query)
        import time

        from metakg.kg.sparql_protocol import QueryDataset, QueryLimits, encode_results

        limits = limits or QueryLimits()
        dataset = dataset or QueryDataset()
        deadline = time.monotonic() + limits.timeout_s
        result = self._query_dataset(query, dataset)
        return encode_results(result, accept, max_rows=limits.max_rows, deadline=deadline)

    def _query_dataset(self, query: str, dataset: QueryDataset) -> QueryResult:
        """Run an untrusted query with the standard prefixes on the protocol's dataset."""
        if dataset.default_graphs or dataset.named_graphs:
            raise QueryError(f"{type(self).__name__} does not take default-graph-uri or "
                             "named-graph-uri; leave them out.")
        return self._query(query, prefixes=PREFIXES)

    def select(self, query: str, bindings: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a SELECT query and return rows of Python values (unbound variables absent)."""
        result = self.query(query, bindings)
        if not isinstance(result, QuerySolutions):
            raise QueryError("select() needs a SELECT query.")
        names = [v.value for v in result.variables]
        return [
            {n: python_value(sol[n]) for n in names if sol[n] is not None} for sol in result
        ]

    def ask(self, query: str, bindings: Mapping[str, Any] | None = None) -> bool:
        """Run an ASK query."""
        result = self.query(query, bindings)
        if not isinstance(result, QueryBoolean):
            raise QueryError("ask() needs an ASK query.")
        return bool(result)

    def construct(self, query: str, bindings: Mapping[str, Any] | None = None) -> list[Triple]:
        """Run a CONSTRUCT or DESCRIBE query and return its triples."""
        result = self.query(query, bindings)
        if isinstance(result, QuerySolutions | QueryBoolean):
            raise QueryError("construct() needs a CONSTRUCT or DESCRIBE query.")
        return list(result)

    def construct_ntriples(self, query: str, bindings: Mapping[str, Any] | None = None) -> bytes:
        """Run a CONSTRUCT or DESCRIBE query and return its triples as N-Triples bytes.

        The same triples as :meth:`construct`, for a caller that only writes them out (an
        export): a back-end may serialise them without making a Python object per triple.

        Raises:
            QueryError: not a CONSTRUCT or DESCRIBE query.
        """
        return serialize(self.construct(query, bindings), format=RdfFormat.N_TRIPLES) or b""

    def dump(self, path: str | Path) -> int:
        """Write every quad to ``path`` (format and gzip from the suffix); return the count.

        N-Quads and N-Triples come out sorted: the same graph always gives the same file, and
        each subject's lines sit together, which gzip compresses to about 60% of the store's
        own order (the seed graph: 46 MB -> 26 MB).

        Raises:
            InvalidData: an unknown suffix, a folder that cannot be made (a file of that
                name is in the way, no permission), or a file that cannot be written (a
                folder of that name, no permission, a full disk); nothing is left behind.
        """
        from metakg.kg.errors import InvalidData

        fmt, gz = format_from_suffix(path)
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidData(f"{path}: cannot make its folder {Path(path).parent} "
                              f"({exc.strerror or exc}).") from None
        if fmt == RdfFormat.TRIG and str(path).endswith(".xz"):
            from metakg.kg.seed_file import write_seed  # the compact, deterministic seed format

            write_seed(self._dump(RdfFormat.N_QUADS), path)
            return self._count()
        data = self._dump(fmt)
        if fmt in (RdfFormat.N_QUADS, RdfFormat.N_TRIPLES) and data:
            data = b"\n".join(sorted(data.splitlines())) + b"\n"
        tmp = Path(str(path) + ".part")
        try:
            if str(path).endswith(".xz"):
                import lzma

                opener = lzma.open(tmp, "wb")  # noqa: SIM115 - entered below
            else:
                opener = gzip.open(tmp, "wb", compresslevel=9) if gz else open(tmp, "wb")  # noqa: SIM115 - entered below
            with opener as fh:
                fh.write(data)
            tmp.replace(path)
        except OSError as exc:  # a folder of that name, no permission, a full disk
            tmp.unlink(missing_ok=True)
            raise InvalidData(f"{path}: cannot write it ({exc.strerror or exc}); choose a writable "
                              "file path. Nothing was written.") from None
        return self._count()

    def load(self, path: str | Path) -> int:
        """Add every quad of an RDF file (format and gzip from the suffix) atomically.

        Quads already in the store are not duplicated. Returns how many quads were new.

        Raises:
            InvalidData: the file is not valid RDF of its format, or a damaged or truncated
                compressed file (nothing is added).
        """
        import lzma
        import zlib

        from metakg.kg.errors import InvalidData
        from metakg.kg.seed_file import open_seed

        fmt, _ = format_from_suffix(path)
        try:
            with open_seed(path) as fh:
                data = fh.read()
        except (EOFError, lzma.LZMAError, gzip.BadGzipFile, zlib.error) as exc:
            raise InvalidData(f"{Path(path).name}: a damaged or truncated compressed file "
                              f"({exc or type(exc).__name__}); export or download it again.") from None
        before = self._count()
        with self._writing():
            try:
                self._load(data, fmt)
            except SyntaxError as exc:
                raise InvalidData(f"{Path(path).name}: not valid {fmt.name}: {exc}") from None
        return self._count() - before



_TOKENS = itertools.count()


def store_token(store: object) -> int:
    """A number unique to this store object for the life of the process, for in-process
    caches (``id()`` is reused once a closed store is collected, and a reopened store must
    not inherit its entries)."""
    token = getattr(store, "_metakg_cache_token", None)
    if token is None:
        token = next(_TOKENS)
        store._metakg_cache_token = token  # type: ignore[attr-defined]
    return token


def bound_query(query: str, bindings: Mapping[str, Any] | None) -> str:
    """``query`` with ``bindings`` as a ``VALUES`` block (see :meth:`Store.query`)."""
    if not bindings:
        return query
    return insert_values(query, {name: _as_term(v) for name, v in bindings.items()})


def _serialize_data(quads: list[Quad]) -> str:
    """Quads as ``INSERT DATA`` body text; terms are N-Triples-escaped by pyoxigraph."""
    by_graph: dict[object, list[str]] = defaultdict(list)
    for q in quads:
        by_graph[q.graph_name].append(f"{q.subject} {q.predicate} {q.object} .")
    parts = []
    for g, lines in by_graph.items():
        body = "\n".join(lines)
        parts.append(body if isinstance(g, DefaultGraph) else f"GRAPH {g} {{ {body} }}")
    return "\n".join(parts)
