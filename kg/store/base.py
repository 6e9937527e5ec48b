"""The store contract: one abstract base class, many back-ends.

A store holds RDF quads and answers SPARQL 1.1 queries. Back-ends implement a handful of
primitives (``_add``, ``_remove``, ``_query``, ``_count``, ``_dump``, ``_load``); everything
else (bound-variable queries, typed results, validation) is built on them here, so every
back-end behaves the same and one contract test suite checks them all.

Thread safety: every back-end may be called from several threads of one process at once;
each write (``add``/``remove``) is atomic: it lands whole or not at all. Only back-ends with
``shared = True`` may be used by several processes at once.

Errors: ``QueryError`` for a malformed query, ``StoreError`` when the store cannot be read or
written, ``StoreLocked`` when an embedded store is held by another process.
"""

from __future__ import annotations

import gzip
import itertools
import re
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

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
)

from metakg.kg.errors import QueryError
from metakg.kg.vocabulary import SPARQL_PREFIXES

__all__ = ["Store", "Term", "format_from_suffix", "python_value", "store_token"]

Term = NamedNode | BlankNode | Literal | Triple
QueryResult = QuerySolutions | QueryBoolean | QueryTriples

_FORMATS = {".nq": RdfFormat.N_QUADS, ".ttl": RdfFormat.TURTLE, ".nt": RdfFormat.N_TRIPLES,
            ".trig": RdfFormat.TRIG}
_PROLOGUE = re.compile(r"\s*(?:PREFIX\s+[\w.-]*:\s*<[^>]*>|BASE\s*<[^>]*>)", re.IGNORECASE)
_QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}


def format_from_suffix(path: str | Path) -> tuple[RdfFormat, bool]:
    """Return the RDF format and whether the file is gzipped, from a file name.

    Raises:
        InvalidData: the suffix is not ``.nq``, ``.ttl``, ``.nt`` or ``.trig`` (optionally
            followed by ``.gz``).
    """
    from metakg.kg.errors import InvalidData

    p = Path(path)
    gz = p.suffix == ".gz"
    suffix = Path(p.stem).suffix if gz else p.suffix
    try:
        return _FORMATS[suffix.lower()], gz
    except KeyError:
        raise InvalidData(
            f"Cannot tell the RDF format of '{p.name}': use a name ending in .nq, .ttl, .nt or "
            ".trig, optionally followed by .gz."
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


def _bind(query: str, bindings: Mapping[str, Term]) -> str:
    """Insert a ``VALUES`` block for ``bindings`` at the top of the query's outermost group.

    Values are serialised as RDF terms (N-Triples escaping), never as raw text, so user
    input cannot change the query's structure.
    """
    names = list(bindings)
    for n in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n):
            raise QueryError(f"Invalid variable name {n!r} in bindings.")
    values = " ".join(str(_as_term(bindings[n])) for n in names)
    block = f" VALUES ({' '.join('?' + n for n in names)}) {{ ({values}) }} "
    pos = _first_open_brace(query)
    if pos < 0:
        raise QueryError("Cannot bind variables: the query has no '{ ... }' group.")
    return query[: pos + 1] + block + query[pos + 1 :]


def _as_term(value: Any) -> Term:
    if isinstance(value, NamedNode | BlankNode | Literal | Triple):
        return value
    from metakg.kg.vocabulary import lit

    return lit(value)


def _top_level_braces(query: str) -> list[int]:
    """Indices of every ``{`` at nesting depth 0, outside IRIs, strings and comments."""
    out: list[int] = []
    depth, i, n = 0, 0, len(query)
    while i < n:
        c = query[i]
        if c == "#":
            j = query.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if c == "<":
            j = query.find(">", i)
            # '<' may also be a comparison operator; treat as IRI only if no whitespace inside.
            if j > 0 and not re.search(r"\s", query[i:j]):
                i = j + 1
                continue
        if c in "\"'":
            triple = query[i : i + 3] == c * 3
            delim = c * 3 if triple else c
            j = i + len(delim)
            while j < n and query[j : j + len(delim)] != delim:
                j += 2 if query[j] == "\\" else 1
            i = j + len(delim)
            continue
        if c == "{":
            if depth == 0:
                out.append(i)
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    return out


def _first_open_brace(query: str) -> int:
    """Index of the ``{`` that opens the WHERE clause, or -1.

    For a CONSTRUCT with a template, the template's group is skipped.
    """
    braces = _top_level_braces(query)
    if not braces:
        return -1
    if query_form(query) == "CONSTRUCT" and len(braces) > 1:
        head = re.sub(r"(?m)#[^\n]*$", "", query[: braces[0]])
        if not re.search(r"\bWHERE\s*$", head, re.IGNORECASE):
            return braces[1]
    return braces[0]


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

    # ----- primitives every back-end implements -------------------------------------------
    @abstractmethod
    def _add(self, quads: list[Quad]) -> None:
        """Add quads atomically (all or none)."""

    @abstractmethod
    def _remove(self, quads: list[Quad]) -> None:
        """Remove quads atomically."""

    @abstractmethod
    def _query(self, query: str) -> QueryResult:
        """Run a SPARQL query (already bound) and return pyoxigraph results."""

    @abstractmethod
    def _update(self, update: str) -> None:
        """Run a SPARQL update (internal use only; never user text)."""

    @abstractmethod
    def _count(self) -> int:
        """Number of quads in the store."""

    @abstractmethod
    def _dump(self, fmt: RdfFormat) -> bytes:
        """Serialise every quad (default graph only for triple formats)."""

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

    def _bump(self) -> None:
        self._local_version = self.local_version + 1

    # ----- helpers built on the primitives -----------------------------------------------
    def __len__(self) -> int:
        return self._count()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, quads: Iterable[Quad]) -> None:
        """Add quads atomically. Adding a quad already present changes nothing.

        Raises:
            StoreError: the store could not be written; nothing was added.
        """
        self._add(list(quads))
        self._bump()

    def add_nquads(self, data: bytes) -> None:
        """Add N-Quads text atomically: the fast path for large writes built as text.

        Raises:
            InvalidData: the text is not valid N-Quads; nothing was added.
            StoreError: the store could not be written; nothing was added.
        """
        from metakg.kg.errors import InvalidData

        try:
            self._add_nquads(data)
        except SyntaxError as exc:
            raise InvalidData(f"Not valid N-Quads: {exc}") from None
        self._bump()

    def remove(self, quads: Iterable[Quad]) -> None:
        """Remove quads atomically; absent quads are ignored."""
        self._remove(list(quads))
        self._bump()

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
            self._update(" ;\n".join(parts))
            self._bump()

    def query(
        self, query: str, bindings: Mapping[str, Any] | None = None, *, prefixes: bool = True
    ) -> QueryResult:
        """Run a SPARQL SELECT, ASK, CONSTRUCT or DESCRIBE query.

        Args:
            query: SPARQL 1.1 query text. The standard prefixes (``mls:``, ``mkg:``,
                ``prov:``, ``dcterms:``...) are declared unless ``prefixes=False``.
            bindings: values for variables (``{"dataset": NamedNode(...), "k": 10}``), bound
                as RDF terms, never formatted into the text.
            prefixes: prepend the standard ``PREFIX`` declarations.

        Returns:
            pyoxigraph ``QuerySolutions`` (SELECT), ``QueryBoolean`` (ASK) or
            ``QueryTriples`` (CONSTRUCT/DESCRIBE).

        Raises:
            QueryError: the query is malformed or is an update.
        """
        form = query_form(query)
        if form not in _QUERY_FORMS:
            raise QueryError(
                f"Only SELECT, ASK, CONSTRUCT and DESCRIBE queries are allowed here, not "
                f"{form or 'an empty query'}; write through the typed methods or the API."
            )
        text = (SPARQL_PREFIXES + query) if prefixes else query
        if bindings:
            text = _bind(text, bindings)
        return self._query(text)

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

    def dump(self, path: str | Path) -> int:
        """Write every quad to ``path`` (format and gzip from the suffix); return the count.

        N-Quads and N-Triples come out sorted: the same graph always gives the same file, and
        each subject's lines sit together, which gzip compresses to about 60% of the store's
        own order (the seed graph: 46 MB -> 26 MB).
        """
        fmt, gz = format_from_suffix(path)
        data = self._dump(fmt)
        if fmt in (RdfFormat.N_QUADS, RdfFormat.N_TRIPLES) and data:
            data = b"\n".join(sorted(data.splitlines())) + b"\n"
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(str(path) + ".part")
        with (gzip.open(tmp, "wb", compresslevel=9) if gz else open(tmp, "wb")) as fh:
            fh.write(data)
        tmp.replace(path)
        return self._count()

    def load(self, path: str | Path) -> int:
        """Add every quad of an RDF file (format and gzip from the suffix) atomically.

        Quads already in the store are not duplicated. Returns how many quads were new.

        Raises:
            InvalidData: the file is not valid RDF of its format (nothing is added).
        """
        from metakg.kg.errors import InvalidData

        fmt, gz = format_from_suffix(path)
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            data = fh.read()
        before = self._count()
        try:
            self._load(data, fmt)
        except SyntaxError as exc:
            raise InvalidData(f"{Path(path).name}: not valid {fmt.name}: {exc}") from None
        self._bump()
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


def query_form(query: str) -> str:
    """The first keyword after the prologue (``SELECT``, ``ASK``, ``INSERT``...), upper-case."""
    text = re.sub(r"(?m)#[^\n]*$", "", query)
    while m := _PROLOGUE.match(text):
        text = text[m.end() :]
    words = text.split(None, 1)
    return words[0].upper().split("{")[0] if words else ""


__all__ += ["query_form"]


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
