"""Runs written fold by fold (the runner's writes), read back to resume a killed batch.

A run's header is written with its first fold (status ``running``); each later fold adds
its evaluations; the last fold sets the status (``completed`` with the mean evaluations, or
``failed`` with the error). Every piece is serialised by :mod:`kg.run_nquads`, the one
serialiser of runs, so a run written here is the same quads as one logged whole with
:meth:`kg.graph.KnowledgeGraph.log_run`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyoxigraph import DefaultGraph, Literal, Quad

from metakg.kg import entities as E
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.measures import check_score
from metakg.kg.records import Configuration, Task
from metakg.kg.run_nquads import fold_nquads, mean_nquads, nquads_to_quads, run_header_nquads
from metakg.kg.vocabulary import MKG, entity, entity_key

__all__ = ["RunStart", "RunState", "delete_run", "finish_run", "record_fold", "run_quads", "run_states"]


@dataclass(frozen=True)
class RunState:
    """What the graph holds of a run of a (task, configuration) pair.

    Attributes:
        run_id: the run.
        status: ``running``, ``completed`` or ``failed``.
        folds: fold number → measure → value, for every fold written so far.
    """

    run_id: str
    status: str
    folds: dict[int, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunStart:
    """The header of a run written with its first fold.

    Attributes:
        task: the task the run achieves.
        config: the configuration it executes.
        principal: who runs it (PROV).
        device: where it runs (``cpu``, ``cuda:0``).
        source: what wrote it (``runner``, ``seed``).
        software: package → version.
        started_at: when it started (default: now).
    """

    task: Task
    config: Configuration
    principal: str | None = None
    device: str | None = None
    source: str | None = None
    software: Mapping[str, str] = field(default_factory=dict)
    started_at: datetime | None = None


def run_states(graph: KnowledgeGraph, task_ids: Iterable[str]) -> dict[tuple[str, str], RunState]:
    """Every run of these tasks, by (task id, configuration id), with the folds written.

    Args:
        graph: the graph.
        task_ids: the tasks (repeats are read once).

    Returns:
        (task id, configuration id) → :class:`RunState` (the last run read, when a pair has
        several).
    """
    out: dict[tuple[str, str], RunState] = {}
    for tid in set(task_ids):
        # Two plain joins, not one OPTIONAL: with the task bound, a left join over the
        # evaluations is planned over the whole graph (0.7 s per task in memory, minutes on
        # disk with a 100,000-fold seed graph, against 0.03 s for these two).
        task = entity("task", tid)
        by_run: dict[str, RunState] = {}
        for r in graph.store.select(
                """SELECT ?r ?c ?status WHERE {
                     ?r mls:achieves ?t ; mkg:configuration ?c ; mkg:status ?status }""",
                {"t": task}):
            state = RunState(run_id=entity_key(r["r"]), status=r["status"])
            out[(tid, entity_key(r["c"]))] = state
            by_run[r["r"]] = state
        for r in graph.store.select(
                """SELECT ?r ?fold ?m ?v WHERE {
                     ?r mls:achieves ?t ; mls:hasOutput ?e . ?e mkg:fold ?fold ;
                     mls:specifiedBy ?mm ; mls:hasValue ?v . ?mm dcterms:title ?m }""",
                {"t": task}):
            if r["r"] in by_run:
                by_run[r["r"]].folds.setdefault(r["fold"], {})[r["m"]] = r["v"]
    return out


def record_fold(graph: KnowledgeGraph, run_id: str, fold: int, scores: Mapping[str, float], *,
                start: RunStart | None = None) -> None:
    """Write one fold's evaluations of a run in one atomic, shape-checked write.

    Args:
        graph: the graph.
        run_id: the run.
        fold: the fold number (0-based).
        scores: measure → value (empty for a fold that failed).
        start: for the run's first fold: its header (status ``running``) and configuration,
            written with the fold.

    Raises:
        InvalidData: an unknown measure, a score that is not finite or outside its measure's
            range, or a run id that cannot be part of an IRI; nothing is written.
        ShapeViolation: the quads break a shape; nothing is written.
    """
    for measure, value in scores.items():  # the runner turns a NaN fold into a failed fold
        check_score(measure, value)
    quads: list[Quad] = []
    if start is not None:
        quads += E.configuration_quads(start.config)
        quads += nquads_to_quads(run_header_nquads(
            run_id, task_iri=entity("task", start.task.id).value,
            dataset_iri=entity("dataset", start.task.dataset_id).value,
            config_iri=entity("config", start.config.id).value,
            implementation_iri=entity("implementation", start.config.family).value,
            status="running",
            started_at=(start.started_at or datetime.now(UTC)).astimezone(UTC),
            principal_iri=E.principal_iri(start.principal).value if start.principal else None,
            device=start.device, source=start.source, software=start.software or None))
    quads += nquads_to_quads(fold_nquads(run_id, fold, scores))
    graph.write(quads)


def finish_run(graph: KnowledgeGraph, run_id: str, *, means: Mapping[str, float] | None = None,
               error: str | None = None) -> None:
    """Close a run written fold by fold, in one atomic update: status ``completed`` with its
    mean evaluations, or ``failed`` with its error when ``error`` is given.

    Args:
        graph: the graph.
        run_id: the run (status ``running``).
        means: measure → mean over the folds (:func:`kg.run_nquads.fold_mean`).
        error: why the run failed (kept to 4,000 characters).

    Raises:
        InvalidData: an unknown measure.
    """
    run = entity("run", run_id)
    add = [Quad(run, MKG.status, Literal("failed" if error is not None else "completed"),
                DefaultGraph())]
    if error is not None:
        add.append(Quad(run, MKG.error, Literal(error[:4000]), DefaultGraph()))
    else:
        add += nquads_to_quads(mean_nquads(run_id, means or {}))
    graph.store.replace([Quad(run, MKG.status, Literal("running"), DefaultGraph())], add)


def run_quads(graph: KnowledgeGraph, run_id: str) -> list[Quad]:
    """Every quad of a run and of its evaluations (none when it is absent).

    Args:
        graph: the graph.
        run_id: the run.
    """
    triples = graph.store.construct(
        """CONSTRUCT { ?r ?p ?o . ?e ?ep ?eo } WHERE {
             { ?r ?p ?o } UNION { ?r mls:hasOutput ?e . ?e ?ep ?eo } }""",
        {"r": entity("run", run_id)})
    return [Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in triples]


def delete_run(graph: KnowledgeGraph, run_id: str) -> None:
    """Remove a run and its evaluations in one atomic step (absent: nothing happens).

    Args:
        graph: the graph.
        run_id: the run.
    """
    graph.store.remove(run_quads(graph, run_id))
