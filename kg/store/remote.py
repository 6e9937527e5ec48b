"""Back-end for a remote SPARQL 1.1 endpoint (query + update protocol).

Tested against a real Oxigraph server (``oxigraph serve``); works with any SPARQL 1.1
server (Fuseki, GraphDB) given its query and update URLs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pyoxigraph import (
    DefaultGraph,
    Quad,
    QueryResultsFormat,
    RdfFormat,
    parse,
    parse_query_results,
)

from metakg.kg.errors import QueryError, StoreError
from metakg.kg.store.base import QueryResult, Store, _serialize_data, query_form

if TYPE_CHECKING:
    import httpx

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
    def _post(self, url: str, data: dict[str, str], accept: str | None = None) -> httpx.Response:
        import httpx

        headers = {"Accept": accept} if accept else {}
        try:
            response = self._client.post(url, data=data, headers=headers)
        except httpx.HTTPError as exc:
            raise StoreError(
                f"Cannot reach the SPARQL endpoint {url}: {exc}. Is the server running?"
            ) from None
        if response.status_code == 400:
            raise QueryError(f"The endpoint rejected the request: {response.text.strip()}")
        if response.status_code >= 300:
            raise StoreError(
                f"The SPARQL endpoint {url} answered {response.status_code}: "
                f"{response.text.strip()[:300]}"
            )
        return response

    # ----- primitives ----------------------------------------------------------------------
    def _add(self, quads: list[Quad]) -> None:
        if quads:
            self._update(f"INSERT DATA {{ {_serialize_data(quads)} }}")

    def _remove(self, quads: list[Quad]) -> None:
        if quads:
            self._update(f"DELETE DATA {{ {_serialize_data(quads)} }}")

    def _query(self, query: str) -> QueryResult:
        form = query_form(query)
        if form in _CONSTRUCT_FORMS:
            r = self._post(self.query_url, {"query": query}, "application/n-triples")
            return _TriplesResult(parse(r.content, format=RdfFormat.N_TRIPLES))
        r = self._post(self.query_url, {"query": query}, "application/sparql-results+json")
        return parse_query_results(r.content, format=QueryResultsFormat.JSON)

    def _update(self, update: str) -> None:
        self._post(self.update_url, {"update": update})

    def _count(self) -> int:
        r = self._query(
            "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
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
