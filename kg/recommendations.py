"""Recommendations as graph entities.

A recommendation is a ``mkg:Recommendation`` (a ``prov:Entity``) that
``prov:wasGeneratedBy`` a ``prov:Activity`` associated with the recommender (a
``prov:SoftwareAgent`` with its version) and with the principal who asked, where known. It
names the query (``mkg:queryDataset`` and ``mkg:task`` where the table is in the graph,
``mkg:queryDigest`` otherwise: the table's content hash or a hash of the meta-features
sent), the metric and task type, and its ranked configurations (``mkg:ranked`` nodes with
``mkg:rank``, ``mkg:ofConfiguration`` and ``mkg:expectedScore``).

Its id derives from what was recommended, for what and for whom (like a dataset's from its
content): asking again with the same answer names the same recommendation, and nothing
new is written.

What happened to them (feedback, outcomes) is :mod:`kg.feedback`.

None of these predicates is ``mkg:status`` and no node here is a ``mls:Run``: storing a
recommendation does not change the graph's learning stamp
(:meth:`kg.graph.KnowledgeGraph.learning_stamp`), so the recommender caches stay valid and
the write keeps the stamp's memo (no recount of the runs on the next request).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad

from metakg.kg.errors import InvalidData, NotFound
from metakg.kg.graph import LEARNING_STAMP
from metakg.kg.identity import canonical_json
from metakg.kg.shapes import check_quads
from metakg.kg.vocabulary import DCT, MKG, PROV, XSD, A, entity, entity_key, lit

if TYPE_CHECKING:
    from metakg.kg.graph import KnowledgeGraph
    from metakg.kg.store.base import Store

__all__ = ["RECOMMENDATION_TAG", "RankedConfiguration", "RecommendationQuery",
           "StoredRecommendation", "accepts_writes", "find_query_task", "get_recommendation",
           "write_recommendation"]

#: The run tag that links a run to the recommendation it followed (``recommendation=<id>``).
RECOMMENDATION_TAG = "recommendation"


@dataclass(frozen=True)
class RankedConfiguration:
    """One configuration of a recommendation, at its rank."""

    rank: int
    config_id: str
    expected_score: float | None = None
    family: str | None = None


@dataclass(frozen=True)
class RecommendationQuery:
    """What a recommendation was made for.

    Args:
        task_type: classification or regression.
        metric: the measure it optimises.
        dataset_id: the query table's dataset, when it is in the graph.
        task_id: the task on it whose runs the outcomes become, when known.
        target: the target column, when known (finds the task later, once the table is
            ingested).
        query_digest: the table's content hash (SHA-256 hex), or a hash of the meta-features
            sent, when the table is not in the graph.
        families: the family filter it was made under (empty: none).
    """

    task_type: str
    metric: str
    dataset_id: str | None = None
    task_id: str | None = None
    target: str | None = None
    query_digest: str | None = None
    families: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredRecommendation:
    """A recommendation read back from the graph."""

    id: str
    created: str
    recommender: str
    principal: str | None
    query: RecommendationQuery
    ranked: tuple[RankedConfiguration, ...]

    def at_rank(self, rank: int) -> RankedConfiguration:
        """The configuration at ``rank`` (1-based).

        Raises:
            InvalidData: no such rank in this recommendation.
        """
        for r in self.ranked:
            if r.rank == rank:
                return r
        raise InvalidData(f"Recommendation {self.id!r} has ranks 1-{len(self.ranked)}, not "
                          f"{rank}; give the rank shown beside the configuration.")


def principal_node(name: str) -> NamedNode:
    """The node of a principal (who asked or said), by name."""
    from metakg.kg.entities import principal_iri

    return principal_iri(name)


def principal_name(iri: str | None) -> str | None:
    """A principal's name from its node (``None`` stays ``None``)."""
    from urllib.parse import unquote

    return unquote(entity_key(iri)) if iri else None


def now_literal() -> Literal:
    """The current time as an ``xsd:dateTime`` literal (UTC)."""
    return Literal(datetime.now(UTC).isoformat(), datatype=XSD.dateTime)


def raw_store(graph: KnowledgeGraph) -> Store:
    """The graph's store, without filling a store still waiting for the seed graph (a
    recommendation on a fresh install must not start a load of minutes; the seed's quads
    join the recommendation's later)."""
    from metakg.kg.default_graph import SeededGraph

    return graph._store if isinstance(graph, SeededGraph) else graph.store


def accepts_writes(graph: KnowledgeGraph) -> bool:
    """Whether recommendations can be stored in this graph (not a read-only store)."""
    return not getattr(raw_store(graph), "read_only", False)


def recommender_agent(version: str) -> NamedNode:
    """The node of a recommender version (a ``prov:SoftwareAgent``)."""
    return entity("recommender", hashlib.sha256(version.encode()).hexdigest()[:24])


def find_query_task(graph: KnowledgeGraph, *, dataset_id: str, task_type: str, metric: str,
                    target: str | None = None) -> str | None:
    """The task of a dataset that outcomes of a recommendation become runs of: one of its
    type (and target, when given), scored by ``metric`` if there is one (``None``: none)."""
    bind: dict[str, Any] = {"d": entity("dataset", dataset_id), "type": task_type}
    if target is not None:
        bind["target"] = target
    rows = raw_store(graph).select(
        """SELECT ?t ?m WHERE { ?t a mkg:Task ; mls:definedOn ?d ; mkg:taskType ?type ;
             mkg:target ?target ; mkg:metric ?m } ORDER BY ?t""", bind)
    best = [r for r in rows if r["m"] == metric] or rows
    return entity_key(best[0]["t"]) if best else None


def dataset_with_hash(graph: KnowledgeGraph, digest: str) -> str | None:
    """The id of the dataset with this content hash, if it is in the graph."""
    rows = raw_store(graph).select(
        "SELECT ?d WHERE { ?d mkg:contentHash ?h ; a mls:Dataset } ORDER BY ?d LIMIT 1",
        {"h": digest})
    return entity_key(rows[0]["d"]) if rows else None


def recommendation_id(query: RecommendationQuery, ranked: Sequence[RankedConfiguration], *,
                      recommender: str, principal: str | None) -> str:
    """The id of a recommendation: a hash of what it recommended, for what and for whom."""
    doc = {"query": [query.task_type, query.metric, query.dataset_id, query.task_id,
                     query.target, query.query_digest, sorted(query.families)],
           "ranked": [[r.rank, r.config_id, r.expected_score] for r in ranked],
           "recommender": recommender, "principal": principal}
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()[:32]


def write_recommendation(graph: KnowledgeGraph, query: RecommendationQuery,
                         ranked: Sequence[RankedConfiguration], *, recommender: str,
                         principal: str | None = None, trained_on: int | None = None) -> str:
    """Store a recommendation (idempotent: the same answer for the same query and principal
    is one recommendation).

    Args:
        graph: the knowledge graph (writable).
        query: what it was made for.
        ranked: its configurations, ranks 1..n.
        recommender: the recommender's version (class, package version, cache format).
        principal: who asked, when known.
        trained_on: how many datasets the recommender learnt from.

    Returns:
        The recommendation's id.

    Raises:
        InvalidData: no configurations, or ranks that are not 1..n; nothing is written.
        StoreError: the store could not be written.
    """
    if not ranked or [r.rank for r in ranked] != list(range(1, len(ranked) + 1)):
        raise InvalidData("A recommendation needs its configurations at ranks 1..n, in order.")
    rec_id = recommendation_id(query, ranked, recommender=recommender, principal=principal)
    node = entity("recommendation", rec_id)
    store = raw_store(graph)
    if store.ask("ASK { ?r a mkg:Recommendation }", {"r": node}):
        return rec_id
    g = DefaultGraph()
    act = entity("recommending", rec_id)
    agent = recommender_agent(recommender)
    now = now_literal()
    quads = [Quad(node, A, MKG.Recommendation, g), Quad(node, A, PROV.Entity, g),
             Quad(node, PROV.generatedAtTime, now, g), Quad(node, PROV.wasGeneratedBy, act, g),
             Quad(node, MKG.metric, lit(query.metric), g),
             Quad(node, MKG.taskType, lit(query.task_type), g),
             Quad(act, A, PROV.Activity, g), Quad(act, PROV.endedAtTime, now, g),
             Quad(act, PROV.wasAssociatedWith, agent, g),
             Quad(agent, A, PROV.SoftwareAgent, g), Quad(agent, DCT.title, lit(recommender), g),
             Quad(agent, MKG.version, lit(recommender), g)]
    if principal:
        who = principal_node(principal)
        quads += [Quad(node, PROV.wasAttributedTo, who, g),
                  Quad(act, PROV.wasAssociatedWith, who, g)]
    if trained_on is not None:
        quads.append(Quad(act, MKG.trainingDatasets, lit(int(trained_on)), g))
    if query.dataset_id:
        ds = entity("dataset", query.dataset_id)
        quads += [Quad(node, MKG.queryDataset, ds, g), Quad(act, PROV.used, ds, g)]
    if query.task_id:
        quads.append(Quad(node, MKG.task, entity("task", query.task_id), g))
    if query.target is not None:
        quads.append(Quad(node, MKG.target, lit(query.target), g))
    if query.query_digest:
        quads.append(Quad(node, MKG.queryDigest, lit(query.query_digest), g))
    for fam in sorted(query.families):
        quads.append(Quad(node, MKG.familyFilter, lit(fam), g))
    for r in ranked:
        item = entity("ranked", f"{rec_id}-{r.rank}")
        quads += [Quad(node, MKG.ranked, item, g), Quad(item, A, MKG.RankedConfiguration, g),
                  Quad(item, MKG.rank, lit(int(r.rank)), g),
                  Quad(item, MKG.ofConfiguration, entity("config", r.config_id), g)]
        if r.expected_score is not None and math.isfinite(r.expected_score):
            quads.append(Quad(item, MKG.expectedScore, lit(float(r.expected_score)), g))
    check_quads(quads)
    store.add(quads, keeping=(LEARNING_STAMP,))
    return rec_id


def recommendation_node(rec_id: str) -> NamedNode:
    """The node of a recommendation id (or IRI).

    Raises:
        NotFound: the id cannot be part of an IRI, so no recommendation has it.
    """
    try:
        return NamedNode(rec_id) if rec_id.startswith(("http://", "https://")) else entity(
            "recommendation", rec_id)
    except ValueError:
        raise NotFound(not_found_message(rec_id)) from None


def not_found_message(rec_id: str) -> str:
    """What to say when no recommendation has ``rec_id``, and where to find the right id."""
    return (f"No recommendation {rec_id!r} in the graph; use the id printed by `metakg "
            "recommend` (JSON field `id`), which is null where the recommendation was not stored "
            "(a read-only store or a read key).")


def get_recommendation(graph: KnowledgeGraph, rec_id: str) -> StoredRecommendation:
    """A stored recommendation with its ranked configurations.

    Raises:
        NotFound: no recommendation has this id.
    """
    node = recommendation_node(rec_id)
    store = raw_store(graph)
    rows = store.select(
        """SELECT ?p ?o WHERE { ?r a mkg:Recommendation ; ?p ?o
             FILTER(?p != mkg:ranked) }""", {"r": node})
    if not rows:
        raise NotFound(not_found_message(rec_id))
    props: dict[str, list[Any]] = {}
    for r in rows:
        props.setdefault(r["p"].rsplit("#", 1)[-1].rsplit("/", 1)[-1], []).append(r["o"])
    agent = store.select(
        """SELECT ?v WHERE { ?r prov:wasGeneratedBy ?a . ?a prov:wasAssociatedWith ?g .
             ?g a prov:SoftwareAgent ; mkg:version ?v }""", {"r": node})
    items = store.select(
        """SELECT ?rank ?c ?e ?fam WHERE { ?r mkg:ranked ?i . ?i mkg:rank ?rank ;
             mkg:ofConfiguration ?c . OPTIONAL { ?i mkg:expectedScore ?e }
             OPTIONAL { ?c mkg:family ?fam } } ORDER BY ?rank""", {"r": node})

    def one(name: str) -> Any:
        return (props.get(name) or [None])[0]

    query = RecommendationQuery(
        task_type=one("taskType"), metric=one("metric"),
        dataset_id=entity_key(one("queryDataset")) if one("queryDataset") else None,
        task_id=entity_key(one("task")) if one("task") else None, target=one("target"),
        query_digest=one("queryDigest"), families=tuple(sorted(props.get("familyFilter", []))))
    return StoredRecommendation(
        id=entity_key(node), created=str(one("generatedAtTime")),
        recommender=agent[0]["v"] if agent else "", principal=principal_name(one("wasAttributedTo")),
        query=query,
        ranked=tuple(RankedConfiguration(int(i["rank"]), entity_key(i["c"]), i.get("e"), i.get("fam"))
                     for i in items))
