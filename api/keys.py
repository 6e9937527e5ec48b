"""API keys: made and hashed here, stored by :mod:`kg.keys` (only the hash is kept)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from metakg.kg import keys as kg_keys
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.keys import ROLES

__all__ = ["ROLES", "Principal", "authenticate", "create_key", "list_keys", "revoke_key"]

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

    Args:
        graph: the graph.
        name: who the key is for.
        role: ``read``, ``write`` or ``admin``.

    Returns:
        The key (``mkg_...``), shown only this once.

    Raises:
        InvalidData: unknown role or empty name.
    """
    key = "mkg_" + secrets.token_urlsafe(32)
    kg_keys.put_key(graph, name, role, _hash(key))
    return key


def authenticate(graph: KnowledgeGraph, key: str) -> Principal | None:
    """The principal of a key, or ``None`` when unknown or revoked (read from the graph on
    every call: a revoked key is refused on the next request)."""
    record = kg_keys.find_key(graph, _hash(key))
    if record is None or record.revoked or record.role not in _RANK:
        return None
    return Principal(record.name, record.role)


def list_keys(graph: KnowledgeGraph) -> list[dict[str, object]]:
    """Principals with their role and whether revoked (never the keys)."""
    return [{"name": r.name, "role": r.role, "revoked": r.revoked}
            for r in kg_keys.key_records(graph)]


def revoke_key(graph: KnowledgeGraph, name: str) -> None:
    """Revoke a principal's key.

    Raises:
        NotFound: no such principal.
    """
    kg_keys.revoke_key(graph, name)
