"""API keys with roles, stored hashed in the graph as PROV agents (``mkg:Principal``)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from pyoxigraph import DefaultGraph, Literal, Quad

from metakg.kg.entities import principal_iri
from metakg.kg.errors import InvalidData, NotFound
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.vocabulary import MKG, PROV, RDF, lit

__all__ = ["ROLES", "Principal", "authenticate", "create_key", "list_keys", "revoke_key"]

ROLES = ("read", "write", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    """Who is calling, from their key."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """Whether this principal's role includes ``role``."""
        return _RANK[self.role] >= _RANK[role]


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(graph: KnowledgeGraph, name: str, role: str = "write") -> str:
    """Create (or replace) a principal's key and return it; only its hash is stored.

    Raises:
        InvalidData: unknown role or empty name.
    """
    if role not in ROLES:
        raise InvalidData(f"Role must be one of {', '.join(ROLES)}, not {role!r}.")
    if not name.strip():
        raise InvalidData("A key needs a non-empty name.")
    key = "mkg_" + secrets.token_urlsafe(32)
    node = principal_iri(name)
    old = graph.store.construct("CONSTRUCT { ?p ?x ?y } WHERE { ?p ?x ?y }", {"p": node})
    g = DefaultGraph()
    graph.store.replace(
        [Quad(t.subject, t.predicate, t.object, g) for t in old],
        [Quad(node, RDF.type, MKG.Principal, g), Quad(node, RDF.type, PROV.Agent, g),
         Quad(node, MKG.name, Literal(name), g), Quad(node, MKG.keyHash, Literal(_hash(key)), g),
         Quad(node, MKG.role, Literal(role), g), Quad(node, MKG.revoked, lit(False), g)])
    return key


def authenticate(graph: KnowledgeGraph, key: str) -> Principal | None:
    """The principal of a key, or ``None`` when unknown or revoked."""
    rows = graph.store.select(
        """SELECT ?name ?role ?revoked WHERE { ?p mkg:keyHash ?h ; mkg:name ?name ;
             mkg:role ?role ; mkg:revoked ?revoked }""", {"h": _hash(key)})
    if not rows or rows[0]["revoked"]:
        return None
    return Principal(rows[0]["name"], rows[0]["role"])


def list_keys(graph: KnowledgeGraph) -> list[dict[str, object]]:
    """Principals with their role and whether revoked (never the keys)."""
    rows = graph.store.select(
        """SELECT ?name ?role ?revoked WHERE { ?p a mkg:Principal ; mkg:name ?name ;
             mkg:role ?role ; mkg:revoked ?revoked } ORDER BY ?name""")
    return [{"name": r["name"], "role": r["role"], "revoked": r["revoked"]} for r in rows]


def revoke_key(graph: KnowledgeGraph, name: str) -> None:
    """Revoke a principal's key.

    Raises:
        NotFound: no such principal.
    """
    node = principal_iri(name)
    if not graph.store.ask("ASK { ?p a mkg:Principal }", {"p": node}):
        raise NotFound(f"No key named {name!r}; see `metakg keys list`.")
    g = DefaultGraph()
    graph.store.replace([Quad(node, MKG.revoked, lit(False), g)],
                        [Quad(node, MKG.revoked, lit(True), g)])
