"""Bring a graph written by an older metakg up to date.

Each migration is idempotent: a SPARQL update over data this package wrote (never user
text), or a function for what SPARQL cannot compute (reading JSON). ``open_graph`` applies
them once per store (a version marker records it), and ``metakg import`` after every
import, since an imported file may predate them.
"""

from __future__ import annotations

from collections.abc import Callable

from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad

from metakg.kg.config_params import parameter_quads_from_json
from metakg.kg.store.base import Store
from metakg.kg.vocabulary import MKG, SPARQL_PREFIXES, entity

__all__ = ["SCHEMA_VERSION", "migrate", "migrate_once", "version_marker"]

#: Version of the graph's layout that this package writes.
SCHEMA_VERSION = 3


def _add_parameters(store: Store) -> None:
    """Write the parameters of every configuration that has none as triples
    (:mod:`kg.config_params`); about 1 s for the seed graph's configurations."""
    rows = store.select("""SELECT ?c ?json WHERE { ?c a mkg:Configuration ; mkg:json ?json
                             FILTER NOT EXISTS { ?c mkg:param ?p } }""")
    quads: list[Quad] = []
    for row in rows:
        quads += parameter_quads_from_json(NamedNode(row["c"]), row["json"])
    if quads:
        store.add(quads)


_MIGRATIONS: dict[int, str | Callable[[Store], None]] = {
    # 2: the mkg:meanEvaluation shortcut from a run to each of its mean evaluations.
    2: """INSERT { ?r mkg:meanEvaluation ?e } WHERE {
            ?r mls:hasOutput ?e . ?e mkg:aggregate "mean" }""",
    # 3: each configuration's parameters as mkg:Parameter nodes, for run search.
    3: _add_parameters,
}


def migrate(store: Store, *, since: int = 0) -> None:
    """Apply every migration after layout version ``since`` (idempotent: data already up
    to date is left as it is)."""
    for version in sorted(v for v in _MIGRATIONS if v > since):
        step = _MIGRATIONS[version]
        if isinstance(step, str):
            store._update(SPARQL_PREFIXES + step)
        else:
            step(store)
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
    # A store marked with an older layout needs only the later steps (the earlier ones can
    # take a minute on the seed graph); an unmarked one gets every step.
    rows = store.select("SELECT (MAX(?v) AS ?since) WHERE { ?s mkg:schemaVersion ?v }")
    since = rows[0].get("since") if rows else None
    migrate(store, since=since if isinstance(since, int) else 0)
    store.add([marker])
    return True
