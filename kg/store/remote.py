"""Back-end for a remote SPARQL 1.1 endpoint (query + update protocol).

Tested against a real Oxigraph server (``oxigraph serve``); works with any SPARQL 1.1
server (Fuseki, GraphDB) given its query and update URLs.

The server parses every query. The standard prefixes reach it as one line of ``PREFIX``
declarations before the query (a parse error's line is corrected for it); bound values as a
``VALUES`` block of terms written by pyoxigraph (see ``_sparql_text``). An untrusted query
(:meth:`SparqlEndpointStore.query_bounded`) is given up at its deadline and its results are
read as a stream, cut at the row limit, so neither time nor memory here grows with it; the
server itself should also stop it: start it with its own limit (``oxigraph serve
--timeout-s 10``, Fuseki's ``arq:queryTimeout``).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pyoxigraph import (
    DefaultGraph,
    Quad,
    QueryResultsFormat,
    RdfFormat,
    parse,
    parse_query_results,
)

from metakg.kg.errors import QueryError, QueryLimitExceeded, StoreError
from metakg.kg.store._sparql_text import UPDATE_FORMS, check_untrusted, syntax_error
from metakg.kg.store.base import QueryResult, Store, _serialize_data, bound_query, query_form
from metakg.kg.vocabulary import PREFIXES

if TYPE_CHECKING:
    import httpx

    from metakg.kg.sparql_protocol import ProtocolAnswer, QueryDataset, QueryLimits

__all__ = ["SparqlEndpointStore"]

_CONSTRUCT_FORMS = {"CONSTRUCT", "DESCRIBE"}


class SparqlEndpointStore(Store):
    """A store behind a SPARQL 1.1 endpoint; several processes can share it.

    Args:
        url: base URL of an Oxigraph server (``http://127.0.0.1:7878``; ``/query`` and
            ``/update`` are appended), or the query endpoint itself (ending in ``/query`` or
            ``/sparql``).
        update_url: the update endpoint, when it cannot be derived from ``url``.
        timeout: seconds per HTTP request.

    Raises:
        StoreError: the endpoint cannot be reached (raised on first use).
    """

    persistent: ClassVar[bool] = True
    shared: ClassVar[bool] = True
    enforces_query_limits: ClassVar[bool] = True

    def __init__(self, url: str, *, update_url: str | None = None, timeout: float = 60.0) -> None:
        base = url.rstrip("/")
        if base.endswith(("/query", "/sparql")):
            self.query_url = base
            self.update_url = update_url or base.rsplit("/", 1)[0] + "/update"
        else:
            self.query_url = base + "/query"
            self.update_url = update_url or base + "/update"
        self.timeout = timeout
        import httpx  # here, not at module level: every CLI call imports this module

        self._client = httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"SparqlEndpointStore({self.query_url!r})"

    def close(self) -> None:
        self._client.close()

    # ----- HTTP ----------------------------------------------------------------------------
    def _post(self, url: str, data: Mapping[str, object], accept: str | None = None, *,
              line_offset: int = 0, query: str = "") -> httpx.Response:
        import httpx

        headers = {"Accept": accept} if accept else {}
        try:
            response = self._client.post(url, data=data, headers=headers)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise StoreError(
                f"Cannot reach the SPARQL endpoint {url}: {exc}. Is the server running?"
            ) from None
        self._check(url, response, line_offset=line_offset, query=query)
        return response

    @staticmethod
    def _check(url: str, response: httpx.Response, *, line_offset: int = 0, query: str = "") -> None:
        if response.status_code == 400:
            message = response.text.strip()
            if query:
                raise syntax_error(SyntaxError(message), query, line_offset=line_offset)
            raise QueryError(f"The endpoint rejected the request: {message}")
        if response.status_code >= 300:
            raise StoreError(
                f"The SPARQL endpoint {url} answered {response.status_code}: "
                f"{response.text.strip()[:300]}"
            )
    # ----- primitives ----------------------------------------------------------------------
    def _add(self, quads: list[Quad]) -> None:
        if quads:
            self._update(f"INSERT DATA {{ {_serialize_data(quads)} }}")

    def _remove(self, quads: list[Quad]) -> None:
        if quads:
            self._update(f"DELETE DATA {{ {_serialize_data(quads)} }}")

    def _query(self, query: str, *, prefixes: Mapping[str, str] | None) -> QueryResult:
        if self._form(query) in _CONSTRUCT_FORMS:
            return _TriplesResult(parse(self._ntriples(query, prefixes), format=RdfFormat.N_TRIPLES))
        text, offset = _with_prologue(query, prefixes)
        r = self._post(self.query_url, {"query": text}, "application/sparql-results+json",
                       line_offset=offset, query=query)
        return parse_query_results(r.content, format=QueryResultsFormat.JSON)

    def construct_ntriples(self, query: str, bindings: Mapping[str, Any] | None = None) -> bytes:
        # the endpoint's own N-Triples, passed on without a Python object per triple
        query = bound_query(query, bindings)
        if self._form(query) not in _CONSTRUCT_FORMS:
            raise QueryError("construct_ntriples() needs a CONSTRUCT or DESCRIBE query.")
        return self._ntriples(query, PREFIXES)

    def _ntriples(self, query: str, prefixes: Mapping[str, str] | None) -> bytes:
        """A CONSTRUCT or DESCRIBE query's answer as the endpoint wrote it (N-Triples)."""
        text, offset = _with_prologue(query, prefixes)
        return self._post(self.query_url, {"query": text}, "application/n-triples",
                          line_offset=offset, query=query).content

    @staticmethod
    def _form(query: str) -> str:
        """The query form; an update or an empty query is refused before it is sent (the
        server's parser judges anything else)."""
        form = query_form(query)
        if form in UPDATE_FORMS or not query.strip():
            raise syntax_error(SyntaxError("not a query"), query)
        return form

    def query_bounded(self, query: str, *, accept: str = "", limits: QueryLimits | None = None,
                      dataset: QueryDataset | None = None) -> ProtocolAnswer:
        """Answer an untrusted query: the server evaluates it; this side gives up at the
        deadline and reads at most ``limits.max_rows`` rows of the streamed answer.

        See :meth:`Store.query_bounded` for the arguments and errors.
        """
        check_untrusted(query)
        import httpx

        from metakg.kg.sparql_protocol import QueryDataset, QueryLimits, encode_results

        limits = limits or QueryLimits()
        dataset = dataset or QueryDataset()
        deadline = time.monotonic() + limits.timeout_s
        form = self._form(query)
        text, offset = _with_prologue(query, PREFIXES)
        data = {"query": text, "default-graph-uri": list(dataset.default_graphs),
                "named-graph-uri": list(dataset.named_graphs)}
        graph = form in _CONSTRUCT_FORMS
        media = "application/n-triples" if graph else "application/sparql-results+json"
        timeout = httpx.Timeout(limits.timeout_s, connect=min(5.0, limits.timeout_s))
        try:
            with self._client.stream("POST", self.query_url, data=data, timeout=timeout,
                                     headers={"Accept": media}) as response:
                if response.status_code >= 300:
                    response.read()
                    self._check(self.query_url, response, line_offset=offset, query=query)
                reader = io.BufferedReader(_ChunkReader(response.iter_bytes()))
                if graph:
                    result: object = (q.triple for q in parse(reader, format=RdfFormat.N_TRIPLES))
                else:
                    result = parse_query_results(reader, format=QueryResultsFormat.JSON)
                return encode_results(result, accept, max_rows=limits.max_rows, deadline=deadline)
        except httpx.TimeoutException:
            raise QueryLimitExceeded(
                f"The query ran past its {limits.timeout_s:.3g} s time limit and was given up; "
                "narrow it or add a LIMIT.", "time") from None
        except httpx.HTTPError as exc:
            raise StoreError(f"Cannot reach the SPARQL endpoint {self.query_url}: {exc}. "
                             "Is the server running?") from None

    def _update(self, update: str) -> None:
        self._post(self.update_url, {"update": update})

    def _count(self) -> int:
        r = self._query(
            "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
            prefixes=None,
        )
        return int(next(iter(r))["n"].value)

    def _dump(self, fmt: RdfFormat) -> bytes:
        r = self._post(
            self.query_url,
            {"query": "SELECT ?s ?p ?o ?g WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"},
            "application/sparql-results+json",
        )
        quads = []
        for sol in parse_query_results(r.content, format=QueryResultsFormat.JSON):
            g = sol["g"]
            if fmt not in (RdfFormat.N_QUADS, RdfFormat.TRIG) and g is not None:
                continue
            quads.append(Quad(sol["s"], sol["p"], sol["o"], g or DefaultGraph()))
        from pyoxigraph import serialize

        from metakg.kg.vocabulary import PREFIXES

        prefixes = dict(PREFIXES) if fmt == RdfFormat.TURTLE else None
        if fmt in (RdfFormat.N_QUADS, RdfFormat.TRIG):
            return serialize(quads, format=fmt, prefixes=prefixes)
        return serialize([q.triple for q in quads], format=fmt, prefixes=prefixes)

    def _load(self, data: bytes, fmt: RdfFormat) -> None:
        self._add(list(parse(data, format=fmt)))


class _TriplesResult(list):
    """CONSTRUCT results from the endpoint, iterable like ``QueryTriples``."""

    def __init__(self, triples: object) -> None:
        super().__init__(q.triple if isinstance(q, Quad) else q for q in triples)  # type: ignore[attr-defined]


def _with_prologue(query: str, prefixes: Mapping[str, str] | None) -> tuple[str, int]:
    """The query after one line of ``PREFIX`` declarations, and that line count (0 or 1).

    A prologue may repeat a prefix; the query's own declaration, coming later, wins.
    """
    if not prefixes:
        return query, 0
    line = " ".join(f"PREFIX {p}: <{iri}>" for p, iri in prefixes.items())
    return f"{line}\n{query}", 1


class _ChunkReader(io.RawIOBase):
    """A binary file over an iterator of byte chunks (a streamed HTTP body) for the parsers."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n
