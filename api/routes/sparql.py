"""The SPARQL 1.1 Protocol query operation, read-only: GET ``query=``, POST form-encoded, POST
``application/sparql-query``; ``default-graph-uri`` and ``named-graph-uri``; results in the
negotiated format (SPARQL JSON, XML, CSV, TSV; N-Triples, Turtle, RDF/XML for graphs).

The project's prefixes (``mls:``, ``mkg:``, ``prov:``, ``dcterms:``...) are predeclared, as on
the CLI. A query that does not parse is answered 400 with the parser's message, line and
column. Each query runs within the service's limits (``METAKG_SPARQL_*``): past its time or
memory limit it is stopped and answered 503, and at most ``sparql_concurrency`` queries run
at once, ``sparql_per_client`` per client; one that finds no slot within ``sparql_queue_s`` is
answered 503 at once rather than queued. Queries wait in their own threads, so a storm of
slow queries leaves the thread pool of the other routes alone.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from urllib.parse import parse_qs

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from metakg.api.deps import GraphDep, ReaderDep, SettingsDep
from metakg.api.settings import Settings
from metakg.kg.errors import QueryError, QueryLimitExceeded, QuerySyntaxError
from metakg.kg.keys import ANONYMOUS
from metakg.kg.sparql_protocol import GRAPH_TYPES, RESULT_TYPES, ProtocolAnswer, QueryDataset, QueryLimits

router = APIRouter(tags=["sparql"])

MAX_QUERY_CHARS = 100_000
_MEDIA = {m: {"schema": {"type": "string"}} for m in [*RESULT_TYPES, *GRAPH_TYPES]}
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "Query results in the negotiated format", "content": _MEDIA},
    400: {"description": "Malformed query (message, line and column), an update, or a bad graph IRI"},
    413: {"description": "The query is longer than 100,000 characters"},
    415: {"description": "POST body neither form-encoded nor application/sparql-query"},
    503: {"description": "Past the time or memory limit, or no free query slot"},
}
_POST_BODY = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["query"], "properties": {
            "query": {"type": "string", "maxLength": MAX_QUERY_CHARS},
            "default-graph-uri": {"type": "array", "items": {"type": "string"}},
            "named-graph-uri": {"type": "array", "items": {"type": "string"}}}}},
    "application/sparql-query": {"schema": {"type": "string", "maxLength": MAX_QUERY_CHARS}}}}}

GraphUris = Annotated[list[str] | None, Query(description="A graph IRI (repeatable)")]


class QueryGate:
    """At most ``total`` queries at once and ``per_client`` per client; a query that finds no
    slot within ``wait_s`` is refused. Async; one per app.

    Args:
        total: queries at once.
        per_client: queries at once per client.
        wait_s: seconds a query may wait for a slot.
    """

    def __init__(self, total: int, per_client: int, wait_s: float) -> None:
        self.total = total
        self.per_client = per_client
        self.wait_s = wait_s
        self.threads = anyio.CapacityLimiter(total)
        self._running: Counter[str] = Counter()
        self._changed: asyncio.Condition | None = None

    def _free(self, client: str) -> bool:
        return sum(self._running.values()) < self.total and self._running[client] < self.per_client

    @asynccontextmanager
    async def slot(self, client: str) -> AsyncIterator[None]:
        """Hold a slot for ``client`` while the block runs.

        Raises:
            HTTPException: 503 when no slot came free within ``wait_s``.
        """
        if self._changed is None:
            self._changed = asyncio.Condition()
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self._free(client)), self.wait_s)
            except TimeoutError:
                raise HTTPException(503, f"Too many SPARQL queries running ({self.total} at once, "
                                         f"{self.per_client} per client); try again shortly.",
                                    headers={"Retry-After": "1"}) from None
            self._running[client] += 1
        try:
            yield
        finally:
            async with self._changed:
                self._running[client] -= 1
                self._changed.notify_all()


def _gate(request: Request, settings: Settings) -> QueryGate:
    gate = getattr(request.app.state, "sparql_gate", None)
    if gate is None:
        gate = QueryGate(settings.sparql_concurrency, settings.sparql_per_client, settings.sparql_queue_s)
        request.app.state.sparql_gate = gate
    return gate


async def _answer(request: Request, graph: GraphDep, who: ReaderDep, settings: Settings, query: str,
                  default_graphs: list[str] | None, named_graphs: list[str] | None) -> Response:
    if len(query) > MAX_QUERY_CHARS:
        raise HTTPException(413, f"The query has {len(query):,} characters; at most {MAX_QUERY_CHARS:,} "
                                 "are accepted.")
    dataset = QueryDataset(tuple(_iris(default_graphs)), tuple(_iris(named_graphs)))
    limits = QueryLimits(settings.sparql_timeout_s, settings.sparql_max_rows, settings.sparql_memory_mb)
    client = who.name if who.name != ANONYMOUS or request.client is None else request.client.host
    gate = _gate(request, settings)
    start = time.monotonic()
    async with gate.slot(client):
        # the wait for a slot counts against the query's time
        left = QueryLimits(max(0.01, limits.timeout_s - (time.monotonic() - start)), limits.max_rows,
                           limits.memory_mb)
        accept = request.headers.get("accept", "")

        def run() -> ProtocolAnswer:
            # .store is read in the worker thread: it waits there while a seed graph is still
            # being loaded, never on the event loop
            return graph.store.query_bounded(query, accept=accept, limits=left, dataset=dataset)

        try:
            answer = await anyio.to_thread.run_sync(run, limiter=gate.threads)
        except QuerySyntaxError as exc:
            return JSONResponse({"detail": str(exc), "line": exc.line, "column": exc.column}, 400)
        except QueryLimitExceeded as exc:
            return JSONResponse({"detail": str(exc), "limit": exc.limit}, 503, headers={"Retry-After": "1"})
        except QueryError as exc:
            return JSONResponse({"detail": str(exc)}, 400)
    headers = {"X-SPARQL-Truncated": "true"} if answer.truncated else {}
    return Response(answer.body, media_type=answer.media_type, headers=headers)


def _iris(values: list[str] | None) -> list[str]:
    from pyoxigraph import NamedNode

    for v in values or []:
        try:
            NamedNode(v)
        except ValueError:
            raise HTTPException(400, f"Graph IRI {v!r} is not a valid absolute IRI.") from None
    return list(values or [])


@router.get("/sparql", response_class=Response, responses=_RESPONSES)
async def sparql_get(request: Request, graph: GraphDep, who: ReaderDep, settings: SettingsDep,
                     query: Annotated[str, Query(max_length=MAX_QUERY_CHARS)],
                     default_graph_uri: Annotated[GraphUris, Query(alias="default-graph-uri")] = None,
                     named_graph_uri: Annotated[GraphUris, Query(alias="named-graph-uri")] = None) -> Response:
    """A SPARQL query by GET; results per the ``Accept`` header (SPARQL JSON by default)."""
    return await _answer(request, graph, who, settings, query, default_graph_uri, named_graph_uri)


@router.post("/sparql", response_class=Response, responses=_RESPONSES, openapi_extra=_POST_BODY)
async def sparql_post(request: Request, graph: GraphDep, who: ReaderDep, settings: SettingsDep,
                      default_graph_uri: Annotated[GraphUris, Query(alias="default-graph-uri")] = None,
                      named_graph_uri: Annotated[GraphUris, Query(alias="named-graph-uri")] = None) -> Response:
    """A SPARQL query by POST: form-encoded ``query`` (and graph IRIs), or the query itself as
    an ``application/sparql-query`` body. Updates are refused: the endpoint is read-only."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > 4 * MAX_QUERY_CHARS + 4096:  # UTF-8 and form encoding may grow it
            raise HTTPException(413, f"The request body is too long for a query of at most "
                                     f"{MAX_QUERY_CHARS:,} characters.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "The request body is not UTF-8.") from None
    if media == "application/sparql-query":
        return await _answer(request, graph, who, settings, text, default_graph_uri, named_graph_uri)
    if media != "application/x-www-form-urlencoded":
        raise HTTPException(415, f"POST /sparql takes application/x-www-form-urlencoded (query=...) "
                                 f"or application/sparql-query, not {media or 'a body without a type'}.")
    form = parse_qs(text, keep_blank_values=True)
    if "update" in form:
        raise HTTPException(400, "This endpoint is read-only: SPARQL updates are refused; write "
                                 "through the typed routes (/datasets, /runs).")
    queries = form.get("query", [])
    if len(queries) != 1:
        raise HTTPException(400, f"Send exactly one 'query' parameter (got {len(queries)}).")
    return await _answer(request, graph, who, settings, queries[0],
                         [*(default_graph_uri or []), *form.get("default-graph-uri", [])],
                         [*(named_graph_uri or []), *form.get("named-graph-uri", [])])
