"""A read-only SPARQL 1.1 Protocol endpoint with a timeout and a result cap."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from metakg.api.deps import GraphDep, ReaderDep, SettingsDep
from metakg.api.settings import Settings
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.sparql_protocol import run_protocol_query

router = APIRouter(tags=["sparql"])


def _answer(request: Request, graph: KnowledgeGraph, settings: Settings, query: str) -> Response:
    body, media = run_protocol_query(graph.store, query, request.headers.get("accept", ""),
                                     timeout_s=settings.sparql_timeout_s,
                                     max_rows=settings.sparql_max_rows)
    return Response(body, media_type=media)


@router.get("/sparql")
def sparql_get(request: Request, graph: GraphDep, who: ReaderDep, settings: SettingsDep,
               query: Annotated[str, Query(max_length=100_000)]) -> Response:
    """SPARQL query by GET; results as JSON (default) or CSV per the Accept header."""
    return _answer(request, graph, settings, query)


@router.post("/sparql")
def sparql_post(request: Request, graph: GraphDep, who: ReaderDep, settings: SettingsDep,
                query: Annotated[str, Form(max_length=100_000)]) -> Response:
    """SPARQL query by POST (form-encoded ``query``); updates are refused."""
    return _answer(request, graph, settings, query)
