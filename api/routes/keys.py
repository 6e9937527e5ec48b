"""API keys over HTTP, for admins: create (or rotate), list, revoke.

A revoked key is refused from the next request on: every request reads its key's record
from the graph (see :func:`api.keys.authenticate`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from metakg.api.deps import AdminDep, GraphDep
from metakg.api.keys import create_key
from metakg.api.schemas import KeyCreatedOut, KeyIn, KeyOut
from metakg.kg import keys as kg_keys

router = APIRouter(prefix="/keys", tags=["keys"])


@router.post("", status_code=201, response_model=KeyCreatedOut)
def create(body: KeyIn, graph: GraphDep, who: AdminDep) -> KeyCreatedOut:
    """Create a key for a principal, or give it a new one (the old key stops working).
    The key is in this response only; the graph keeps its hash."""
    key = create_key(graph, body.name, body.role)
    return KeyCreatedOut(name=body.name, role=body.role, revoked=False, key=key)


@router.get("", response_model=list[KeyOut])
def list_keys(graph: GraphDep, who: AdminDep) -> list[KeyOut]:
    """Every principal with a key: name, role, whether revoked (never the keys)."""
    return [KeyOut(name=r.name, role=r.role, revoked=r.revoked)
            for r in kg_keys.key_records(graph)]


@router.delete("/{name}", response_model=KeyOut)
def revoke(graph: GraphDep, who: AdminDep,
           name: Annotated[str, Path(max_length=200, description="The principal's name")]) -> KeyOut:
    """Revoke a principal's key: refused from the next request on (404 if it has none)."""
    r = kg_keys.revoke_key(graph, name)
    return KeyOut(name=r.name, role=r.role, revoked=r.revoked)
