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
from metakg.kg.run_nquads import MEAN_PREDICATES
from metakg.kg.store.base import Store
from metakg.kg.vocabulary import MKG, SPARQL_PREFIXES, entity

__all__ = ["SCHEMA_VERSION", "migrate", "migrate_once", "version_marker"]

#: Version of the graph's layout that this package writes.
SCHEMA_VERSION = 4


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


#: Each mean evaluation's value written again as one triple from its run, mkg:mean_<measure>
#: (:data:`kg.run_nquads.MEAN_PREDICATES`), for the known measures only. The predicate's
#: local name follows the measure IRI's; the filter keeps out any other measure an imported
#: graph may carry. One update: about half a minute on the seed graph's 397,660 mean
#: evaluations on two busy cores, nearly all of it the two joins it replaces.
_MEAN_VALUES = f"""INSERT {{ ?r ?p ?v }} WHERE {{
            ?r mkg:meanEvaluation ?e . ?e mls:specifiedBy ?m ; mls:hasValue ?v .
            FILTER(?m IN ({", ".join(str(entity("measure", m)) for m in MEAN_PREDICATES)}))
            BIND(IRI(CONCAT("{MKG.base}mean_", STRAFTER(STR(?m), "{entity("measure", "").value}")))
                 AS ?p) }}"""

_MIGRATIONS: dict[int, str | Callable[[Store], None]] = {
    # 2: the mkg:meanEvaluation shortcut from a run to each of its mean evaluations.
    2: """INSERT { ?r mkg:meanEvaluation ?e } WHERE {
            ?r mls:hasOutput ?e . ?e mkg:aggregate "mean" }""",
    # 3: each configuration's parameters as mkg:Parameter nodes, for run search.
    3: _add_parameters,
    # 4: each run's mean score of each measure one triple away (mkg:mean_roc_auc), for run
    # search's metric conditions and ordering.
    4: _MEAN_VALUES,
}


def migrate(store: Store, *, since: int = 0) -> None:
    """Apply every migration after layout version ``since`` (idempotent: data already up
    to date is left as it is).

    Args:
        store: the store to migrate (written in place; its version marker is not set here,
            :func:`migrate_once` sets it).
        since: the store's layout version; 0 applies every migration.
    """
    with store._writing():  # counted even when a step fails part-way
        for version in sorted(v for v in _MIGRATIONS if v > since):
            step = _MIGRATIONS[version]
            if isinstance(step, str):
                store._update(SPARQL_PREFIXES + step)
            else:
                step(store)


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
