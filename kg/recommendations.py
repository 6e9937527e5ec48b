"""Recommendations as graph entities, and what happened to them (feedback).

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

Feedback (a ``mkg:Feedback``) says what happened to one ranked configuration: ``used``,
``skipped`` or ``rejected`` (with a reason), and for a used one the outcome score. An outcome
on a table in the graph is also logged as a run of that configuration on the table's task,
tagged ``recommendation=<id>``, so the recommender learns from it like from any run; and a
run logged with that tag (API, CLI, library) records the outcome of the rank whose
configuration it ran (:func:`outcome_quads`, called by
:meth:`kg.graph.KnowledgeGraph.log_runs` in the same atomic write).

None of these predicates is ``mkg:status`` and no node here is a ``mls:Run``: storing a
recommendation does not change the graph's learning stamp
(:meth:`kg.graph.KnowledgeGraph.learning_stamp`), so the recommender caches stay valid.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad

from metakg.kg.errors import InvalidData, NotFound
from metakg.kg.identity import canonical_json
from metakg.kg.shapes import check_quads
from metakg.kg.vocabulary import DCT, MKG, PROV, XSD, A, entity, entity_key, lit

if TYPE_CHECKING:
    from metakg.kg.graph import KnowledgeGraph
    from metakg.kg.records import Run, RunInput
    from metakg.kg.store.base import Store

__all__ = ["REASON_TAG", "RECOMMENDATION_TAG", "VERDICTS", "Feedback", "RankedConfiguration",
           "RecommendationQuery", "StoredRecommendation", "accepts_writes", "find_query_task",
           "get_recommendation", "list_feedback", "outcome_quads", "record_feedback",
           "record_run_outcomes", "write_recommendation"]

#: The run tag that links a run to the recommendation it followed (``recommendation=<id>``).
RECOMMENDATION_TAG = "recommendation"
#: The tag that carries a feedback's reason on the run that records its outcome.
REASON_TAG = "feedback_reason"
#: What can happen to a recommended configuration.
VERDICTS = ("used", "skipped", "rejected")


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


@dataclass(frozen=True)
class Feedback:
    """What happened to one ranked configuration of a recommendation."""

    id: str
    recommendation_id: str
    rank: int
    config_id: str
    verdict: str
    created: str
    reason: str = ""
    score: float | None = None
    run_id: str | None = None
    principal: str | None = None


def _principal_iri(name: str) -> NamedNode:
    from metakg.kg.entities import principal_iri

    return principal_iri(name)


def _principal_name(iri: str | None) -> str | None:
    from urllib.parse import unquote

    return unquote(entity_key(iri)) if iri else None


def _now() -> Literal:
    return Literal(datetime.now(UTC).isoformat(), datatype=XSD.dateTime)


def _raw_store(graph: KnowledgeGraph) -> Store:
    """The graph's store, without filling a store still waiting for the seed graph (a
    recommendation on a fresh install must not start a load of minutes; the seed's quads
    join the recommendation's later)."""
    from metakg.kg.default_graph import SeededGraph

    return graph._store if isinstance(graph, SeededGraph) else graph.store


def accepts_writes(graph: KnowledgeGraph) -> bool:
    """Whether recommendations can be stored in this graph (not a read-only store)."""
    return not getattr(_raw_store(graph), "read_only", False)


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
    rows = _raw_store(graph).select(
        """SELECT ?t ?m WHERE { ?t a mkg:Task ; mls:definedOn ?d ; mkg:taskType ?type ;
             mkg:target ?target ; mkg:metric ?m } ORDER BY ?t""", bind)
    best = [r for r in rows if r["m"] == metric] or rows
    return entity_key(best[0]["t"]) if best else None


def dataset_with_hash(graph: KnowledgeGraph, digest: str) -> str | None:
    """The id of the dataset with this content hash, if it is in the graph."""
    rows = _raw_store(graph).select(
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
    store = _raw_store(graph)
    if store.ask("ASK { ?r a mkg:Recommendation }", {"r": node}):
        return rec_id
    g = DefaultGraph()
    act = entity("recommending", rec_id)
    agent = recommender_agent(recommender)
    now = _now()
    quads = [Quad(node, A, MKG.Recommendation, g), Quad(node, A, PROV.Entity, g),
             Quad(node, PROV.generatedAtTime, now, g), Quad(node, PROV.wasGeneratedBy, act, g),
             Quad(node, MKG.metric, lit(query.metric), g),
             Quad(node, MKG.taskType, lit(query.task_type), g),
             Quad(act, A, PROV.Activity, g), Quad(act, PROV.endedAtTime, now, g),
             Quad(act, PROV.wasAssociatedWith, agent, g),
             Quad(agent, A, PROV.SoftwareAgent, g), Quad(agent, DCT.title, lit(recommender), g),
             Quad(agent, MKG.version, lit(recommender), g)]
    if principal:
        who = _principal_iri(principal)
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
    store.add(quads)
    return rec_id


def _rec_node(rec_id: str) -> NamedNode:
    """The node of a recommendation id (or IRI).

    Raises:
        NotFound: the id cannot be part of an IRI, so no recommendation has it.
    """
    try:
        return NamedNode(rec_id) if rec_id.startswith(("http://", "https://")) else entity(
            "recommendation", rec_id)
    except ValueError:
        raise NotFound(_not_found(rec_id)) from None


def _not_found(rec_id: str) -> str:
    return (f"No recommendation {rec_id!r} in the graph; use the id printed by `metakg "
            "recommend` (JSON field `id`), which is null where the recommendation was not stored "
            "(a read-only store or a read key).")


def get_recommendation(graph: KnowledgeGraph, rec_id: str) -> StoredRecommendation:
    """A stored recommendation with its ranked configurations.

    Raises:
        NotFound: no recommendation has this id.
    """
    node = _rec_node(rec_id)
    store = _raw_store(graph)
    rows = store.select(
        """SELECT ?p ?o WHERE { ?r a mkg:Recommendation ; ?p ?o
             FILTER(?p != mkg:ranked) }""", {"r": node})
    if not rows:
        raise NotFound(_not_found(rec_id))
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
        recommender=agent[0]["v"] if agent else "", principal=_principal_name(one("wasAttributedTo")),
        query=query,
        ranked=tuple(RankedConfiguration(int(i["rank"]), entity_key(i["c"]), i.get("e"), i.get("fam"))
                     for i in items))


def _feedback_quads(rec: StoredRecommendation, item: RankedConfiguration, *, verdict: str,
                    reason: str, score: float | None, run_id: str | None,
                    principal: str | None) -> tuple[str, list[Quad]]:
    fb_id = uuid.uuid4().hex
    node, g = entity("feedback", fb_id), DefaultGraph()
    quads = [Quad(node, A, MKG.Feedback, g), Quad(node, A, PROV.Entity, g),
             Quad(node, MKG.aboutRecommendation, entity("recommendation", rec.id), g),
             Quad(node, MKG.rank, lit(int(item.rank)), g),
             Quad(node, MKG.ofConfiguration, entity("config", item.config_id), g),
             Quad(node, MKG.verdict, lit(verdict), g), Quad(node, PROV.generatedAtTime, _now(), g)]
    if reason:
        quads.append(Quad(node, MKG.reason, lit(reason), g))
    if score is not None:
        quads.append(Quad(node, MKG.outcomeScore, lit(float(score)), g))
    if run_id:
        quads.append(Quad(node, MKG.outcomeRun, entity("run", run_id), g))
    if principal:
        quads.append(Quad(node, PROV.wasAttributedTo, _principal_iri(principal), g))
    return fb_id, quads


def _check_feedback(verdict: str, reason: str, score: float | None) -> None:
    if verdict not in VERDICTS:
        raise InvalidData(f"Feedback must be one of {', '.join(VERDICTS)}, not {verdict!r}.")
    if verdict == "rejected" and not reason.strip():
        raise InvalidData("Say why the configuration was rejected (--reason / reason).")
    if score is not None:
        if verdict != "used":
            raise InvalidData(f"A score is the outcome of running a configuration; give it with "
                              f"'used', not {verdict!r}.")
        if not math.isfinite(score):
            raise InvalidData(f"The outcome score must be a finite number, not {score!r}.")


def record_feedback(graph: KnowledgeGraph, rec_id: str, *, rank: int, verdict: str,
                    score: float | None = None, reason: str = "",
                    principal: str | None = None, source: str = "feedback") -> Feedback:
    """Record what happened to the configuration at ``rank`` of a recommendation.

    An outcome ``score`` of a used configuration on a table that is in the graph (the
    recommendation's task, or a task of its target on the dataset with its content hash) is
    logged as a run of that configuration on that task, tagged ``recommendation=<id>``: the
    recommender learns from it. Without such a task only the feedback is stored.

    Args:
        graph: the knowledge graph.
        rec_id: the recommendation's id.
        rank: the configuration's rank (1-based).
        verdict: ``used``, ``skipped`` or ``rejected``.
        score: the outcome by the recommendation's metric (``used`` only).
        reason: why (required for ``rejected``).
        principal: who says so.
        source: what logged it (the outcome run's ``source``).

    Returns:
        The stored feedback.

    Raises:
        NotFound: no recommendation has this id.
        InvalidData: an unknown verdict, a rank out of range, a score that is not a finite
            number or given without ``used``, or a rejection without a reason; nothing is
            written.
    """
    _check_feedback(verdict, reason, score)
    rec = get_recommendation(graph, rec_id)
    item = rec.at_rank(rank)
    task_id = _outcome_task(graph, rec) if score is not None else None
    if task_id is not None:
        from metakg.kg.records import RunInput

        # the run's tag makes log_run record this feedback with it, in one write
        config = graph.get_configuration(item.config_id).config
        tags = {RECOMMENDATION_TAG: rec.id} | ({REASON_TAG: reason} if reason else {})
        run = graph.log_run(RunInput(task_id=task_id, config=config,
                                     fold_scores={rec.query.metric: [float(score)]},  # type: ignore[arg-type]
                                     principal=principal, source=source, tags=tags))
        return next(f for f in list_feedback(graph, rec.id) if f.run_id == run.id)
    fb_id, quads = _feedback_quads(rec, item, verdict=verdict, reason=reason, score=score,
                                   run_id=None, principal=principal)
    check_quads(quads)
    _raw_store(graph).add(quads)
    return next(f for f in list_feedback(graph, rec.id) if f.id == fb_id)


def _outcome_task(graph: KnowledgeGraph, rec: StoredRecommendation) -> str | None:
    """The task an outcome of ``rec`` is a run of: its own, or one found now on the dataset
    with its query's content hash (ingested since), of its target and type."""
    q = rec.query
    if q.task_id:
        return q.task_id
    dataset_id = q.dataset_id or (dataset_with_hash(graph, q.query_digest) if q.query_digest else None)
    if dataset_id is None or q.target is None:
        return None
    return find_query_task(graph, dataset_id=dataset_id, task_type=q.task_type, metric=q.metric,
                           target=q.target)


def list_feedback(graph: KnowledgeGraph, rec_id: str) -> list[Feedback]:
    """The feedback on a recommendation, oldest first.

    Raises:
        NotFound: no recommendation has this id.
    """
    node = _rec_node(rec_id)
    store = _raw_store(graph)
    if not store.ask("ASK { ?r a mkg:Recommendation }", {"r": node}):
        raise NotFound(_not_found(rec_id))
    rows = store.select(
        """SELECT ?f ?rank ?c ?verdict ?at ?reason ?score ?run ?who WHERE {
             ?f mkg:aboutRecommendation ?r ; a mkg:Feedback ; mkg:rank ?rank ;
                mkg:ofConfiguration ?c ; mkg:verdict ?verdict ; prov:generatedAtTime ?at .
             OPTIONAL { ?f mkg:reason ?reason } OPTIONAL { ?f mkg:outcomeScore ?score }
             OPTIONAL { ?f mkg:outcomeRun ?run } OPTIONAL { ?f prov:wasAttributedTo ?who } }
           ORDER BY ?at ?f""", {"r": node})
    return [Feedback(id=entity_key(r["f"]), recommendation_id=entity_key(node), rank=int(r["rank"]),
                     config_id=entity_key(r["c"]), verdict=r["verdict"], created=str(r["at"]),
                     reason=r.get("reason", ""), score=r.get("score"),
                     run_id=entity_key(r["run"]) if r.get("run") else None,
                     principal=_principal_name(r.get("who")))
            for r in rows]


def record_run_outcomes(graph: KnowledgeGraph, rec_id: str, runs: Sequence[Run]) -> list[Feedback]:
    """Record runs already in the graph (e.g. written by the runner for ``metakg recommend
    --run``) as the outcomes of the ranks whose configurations they ran; a run already
    recorded for this recommendation, or of a configuration it did not rank, is passed over.

    Returns:
        The new feedback.

    Raises:
        NotFound: no recommendation has this id.
    """
    rec = get_recommendation(graph, rec_id)
    done = {f.run_id for f in list_feedback(graph, rec.id)}
    by_config = {r.config_id: r for r in rec.ranked}
    quads: list[Quad] = []
    ids: list[str] = []
    for run in runs:
        item = by_config.get(run.configuration_id)
        if item is None or run.id in done:
            continue
        failed = run.status != "completed"
        fb_id, more = _feedback_quads(
            rec, item, verdict="used", score=None if failed else run.scores.get(rec.query.metric),
            reason=f"the run failed: {run.error or 'no error text'}" if failed else "",
            run_id=run.id, principal=run.principal)
        quads += more
        ids.append(fb_id)
        done.add(run.id)
    if quads:
        check_quads(quads)
        _raw_store(graph).add(quads)
    return [f for f in list_feedback(graph, rec.id) if f.id in set(ids)]


def outcome_quads(graph: KnowledgeGraph, runs: Sequence[tuple[RunInput, Run]]) -> list[Quad]:
    """Feedback quads for runs tagged ``recommendation=<id>``: the outcome (``used``, the
    run's mean score by the recommendation's metric, the run) of the rank whose configuration
    the run executed. A run of a configuration the recommendation did not rank is logged
    without feedback.

    Args:
        graph: the knowledge graph.
        runs: (what was logged, the run record) pairs, before they are written.

    Returns:
        The quads to write with the runs.

    Raises:
        NotFound: a run names a recommendation that is not in the graph; nothing is written.
    """
    quads: list[Quad] = []
    memo: dict[str, StoredRecommendation] = {}
    for given, run in runs:
        rec_id = given.tags.get(RECOMMENDATION_TAG)
        if not rec_id:
            continue
        if rec_id not in memo:
            try:
                memo[rec_id] = get_recommendation(graph, rec_id)
            except NotFound:
                raise NotFound(f"A run is tagged {RECOMMENDATION_TAG}={rec_id!r}, but the graph "
                               f"has no recommendation {rec_id!r}; fix the tag (the `id` printed "
                               "by `metakg recommend`) or drop it. No run was logged.") from None
        rec = memo[rec_id]
        item = next((r for r in rec.ranked if r.config_id == run.configuration_id), None)
        if item is None:
            continue
        score = run.scores.get(rec.query.metric) if run.status == "completed" else None
        reason = (given.tags.get(REASON_TAG, "") if run.status == "completed"
                  else f"the run failed: {run.error or 'no error text'}")
        quads += _feedback_quads(rec, item, verdict="used", reason=reason, score=score,
                                 run_id=run.id, principal=run.principal)[1]
    return quads
