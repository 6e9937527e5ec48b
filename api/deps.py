"""FastAPI dependencies: the graph, settings, and the caller's principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from metakg.api.keys import Principal, authenticate
from metakg.api.settings import Settings, get_settings
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.keys import ANONYMOUS

__all__ = ["AdminDep", "GraphDep", "ReaderDep", "SettingsDep", "WriterDep", "get_graph"]

_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (metakg keys create)")


def get_graph(request: Request) -> KnowledgeGraph:
    """The graph opened by the app's lifespan."""
    return request.app.state.graph


GraphDep = Annotated[KnowledgeGraph, Depends(get_graph)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _principal(graph: KnowledgeGraph, key: str | None) -> Principal | None:
    if not key:
        return None
    return authenticate(graph, key)


def _require(role: str):
    def dependency(graph: GraphDep, settings: SettingsDep,
                   key: Annotated[str | None, Security(_key_header)] = None) -> Principal:
        principal = _principal(graph, key)
        if principal is None:
            if role == "read" and settings.public_reads and not key:
                return Principal(ANONYMOUS, "read")
            raise HTTPException(401, "Missing, unknown or revoked API key: send a valid key "
                                     "in the X-API-Key header (create one with `metakg keys "
                                     "create NAME`).", headers={"WWW-Authenticate": "APIKey"})
        if not principal.can(role):
            raise HTTPException(403, f"The key of {principal.name!r} has role "
                                     f"{principal.role!r}; this needs {role!r}.")
        return principal
    return dependency


ReaderDep = Annotated[Principal, Depends(_require("read"))]
WriterDep = Annotated[Principal, Depends(_require("write"))]
AdminDep = Annotated[Principal, Depends(_require("admin"))]
