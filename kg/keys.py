"""API keys in the graph: principals (``mkg:Principal``, a PROV agent) with a role and the
hash of their key. The key itself is never stored; making and hashing keys is the API's
business (:mod:`api.keys`), storing and finding them is this module's.

A principal's node is the one its runs point to (``prov:wasAssociatedWith``), named by
:func:`kg.entities.principal_iri`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyoxigraph import DefaultGraph, Literal, Quad

from metakg.kg.entities import principal_iri
from metakg.kg.errors import InvalidData, NotFound
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.vocabulary import MKG, PROV, RDF, lit

__all__ = ["ANONYMOUS", "ROLES", "KeyRecord", "find_key", "key_records", "put_key", "revoke_key"]

#: Roles from the least to the most allowed; each includes the ones before it.
ROLES = ("read", "write", "admin")
#: The principal of a request without a key, where reads are public.
ANONYMOUS = "anonymous"
_G = DefaultGraph()


@dataclass(frozen=True)
class KeyRecord:
    """A principal's key as the graph holds it (never the key itself)."""

    name: str
    role: str
    revoked: bool


def put_key(graph: KnowledgeGraph, name: str, role: str, key_hash: str) -> KeyRecord:
    """Give a principal a key (by its hash) and a role, replacing any key it had.

    Args:
        graph: the graph.
        name: who the key is for (a person or a service).
        role: one of :data:`ROLES`.
        key_hash: the hash of the key (hex).

    Returns:
        The principal's record.

    Raises:
        InvalidData: unknown role or empty name; nothing was written.
    """
    if role not in ROLES:
        raise InvalidData(f"Role must be one of {', '.join(ROLES)}, not {role!r}.")
    if not name.strip():
        raise InvalidData("A key needs a non-empty name (who it is for).")
    if name.strip() == ANONYMOUS:
        raise InvalidData(f"{ANONYMOUS!r} names the readers without a key (--public-reads); "
                          "give the key another name.")
    node = principal_iri(name)
    old = graph.store.construct("""CONSTRUCT { ?p ?x ?y } WHERE { ?p ?x ?y
                                    FILTER(?x IN (rdf:type, mkg:name, mkg:keyHash, mkg:role,
                                                  mkg:revoked)) }""", {"p": node})
    graph.store.replace(
        [Quad(t.subject, t.predicate, t.object, _G) for t in old],
        [Quad(node, RDF.type, MKG.Principal, _G), Quad(node, RDF.type, PROV.Agent, _G),
         Quad(node, MKG.name, Literal(name), _G), Quad(node, MKG.keyHash, Literal(key_hash), _G),
         Quad(node, MKG.role, Literal(role), _G), Quad(node, MKG.revoked, lit(False), _G)])
    return KeyRecord(name, role, False)


def find_key(graph: KnowledgeGraph, key_hash: str) -> KeyRecord | None:
    """The principal whose key has this hash (revoked or not), or ``None``.

    Read from the store on every call, so a key revoked by any process is refused at once.
    """
    rows = graph.store.select(
        """SELECT ?name ?role ?revoked WHERE { ?p mkg:keyHash ?h ; mkg:name ?name ;
             mkg:role ?role ; mkg:revoked ?revoked } LIMIT 1""", {"h": key_hash})
    if not rows:
        return None
    return KeyRecord(rows[0]["name"], rows[0]["role"], bool(rows[0]["revoked"]))


def key_records(graph: KnowledgeGraph) -> list[KeyRecord]:
    """Every principal with a key, by name."""
    rows = graph.store.select(
        """SELECT ?name ?role ?revoked WHERE { ?p a mkg:Principal ; mkg:name ?name ;
             mkg:role ?role ; mkg:revoked ?revoked } ORDER BY ?name""")
    return [KeyRecord(r["name"], r["role"], bool(r["revoked"])) for r in rows]


def revoke_key(graph: KnowledgeGraph, name: str) -> KeyRecord:
    """Revoke a principal's key: every later request with it is refused.

    Returns:
        The principal's record, now revoked.

    Raises:
        NotFound: no principal of this name has a key.
    """
    node = principal_iri(name)
    rows = graph.store.select("SELECT ?role WHERE { ?p a mkg:Principal ; mkg:role ?role }",
                              {"p": node})
    if not rows:
        raise NotFound(f"No key named {name!r}; list the keys with `metakg keys list` or "
                       "GET /keys.")
    graph.store.replace([Quad(node, MKG.revoked, lit(False), _G)],
                        [Quad(node, MKG.revoked, lit(True), _G)])
    return KeyRecord(name, rows[0]["role"], True)
