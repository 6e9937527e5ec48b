"""Bring a graph written by an older metakg up to date.

Each migration is an idempotent SPARQL update over data this package wrote (never user
text). ``open_graph`` applies them once per store (a version marker records it), and
``metakg import`` after every import, since an imported file may predate them.
"""

from __future__ import annotations

from pyoxigraph import DefaultGraph, Literal, Quad

from metakg.kg.store.base import Store
from metakg.kg.vocabulary import MKG, SPARQL_PREFIXES, entity

__all__ = ["SCHEMA_VERSION", "migrate", "migrate_once", "version_marker"]

#: Version of the graph's layout that this package writes.
SCHEMA_VERSION = 2

_MIGRATIONS = {
    # 2: the mkg:meanEvaluation shortcut from a run to each of its mean evaluations.
    2: """INSERT { ?r mkg:meanEvaluation ?e } WHERE {
            ?r mls:hasOutput ?e . ?e mkg:aggregate "mean" }""",
}


def migrate(store: Store) -> None:
    """Apply every migration (idempotent: data already up to date is left as it is)."""
    for version in sorted(_MIGRATIONS):
        store._update(SPARQL_PREFIXES + _MIGRATIONS[version])
    store._bump()


def version_marker() -> Quad:
    """The quad that records a store as migrated to :data:`SCHEMA_VERSION`."""
    return Quad(entity("store", "this"), MKG.schemaVersion, Literal(SCHEMA_VERSION),
                DefaultGraph())


def migrate_once(store: Store) -> bool:
    """Migrate unless the store's marker says it is current; return whether it migrated."""
    marker = version_marker()
    if store.ask("ASK { ?s mkg:schemaVersion ?v }", {"v": SCHEMA_VERSION}):
        return False
    migrate(store)
    store.add([marker])
    return True
