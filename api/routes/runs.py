"""Runs: log one or a batch (the principal comes from the key), search, fetch one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from metakg.api.deps import GraphDep, ReaderDep, WriterDep
from metakg.api.schemas import RunIn, RunOut, RunsIn
from metakg.kg.errors import DatasetNotFound, NotFound
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.graph_inputs import RunTasks, TaskReference, run_tasks
from metakg.kg.records import Run, RunInput, Task
from metakg.kg.run_search import FoundRun
from metakg.kg.run_search import get_run as find_run
from metakg.kg.run_search import search_runs as find_runs

router = APIRouter(prefix="/runs", tags=["runs"])


def _reference(body: RunIn) -> TaskReference:
    return TaskReference(task_id=body.task_id, dataset=body.dataset, target=body.target,
                         task_type=body.task_type, folds=body.folds)


def _tasks(graph: KnowledgeGraph, bodies: list[RunIn]) -> RunTasks:
    """The runs' tasks (:func:`kg.graph_inputs.run_tasks`); a refusal says how to fix it here."""
    try:
        return run_tasks(graph, [_reference(b) for b in bodies])
    except DatasetNotFound as exc:  # the library says what is missing; here, how to fix it
        raise DatasetNotFound(
            f"{exc} Register it first: upload the table with POST /datasets (Client.upload), "
            "or send its meta-features with POST /datasets/metafeatures; then log the run "
            "with the dataset's id or name.") from None
    except NotFound as exc:
        raise NotFound(
            f"{exc} Log the run with dataset, target and task_type instead (the task is "
            "created), or find task ids with GET /datasets/{id}.") from None


def _input(body: RunIn, task: Task, principal: str) -> RunInput:
    return RunInput(task_id=task.id, config=body.config, fold_scores=body.fold_scores,
                    status=body.status, error=body.error, principal=principal, tags=body.tags,
                    code_version=body.code_version, source=body.source or "api", run_id=body.id)


def _logged(graph: KnowledgeGraph, bodies: list[RunIn], principal: str) -> list[RunOut]:
    """Log the runs in one atomic write (the library checks them and names a refused one)."""
    found = _tasks(graph, bodies)
    runs = [_input(b, t, principal) for b, t in zip(bodies, found.tasks, strict=True)]
    return [_out(r) for r in graph.log_runs(runs, new_tasks=found.new)]


def _out(r: Run) -> RunOut:
    return RunOut(id=r.id, task_id=r.task_id, dataset_id=r.dataset_id,
                  configuration_id=r.configuration_id, status=r.status, scores=r.scores,
                  principal=r.principal)


@router.post("", status_code=201, response_model=RunOut)
def log_run(body: RunIn, graph: GraphDep, who: WriterDep) -> RunOut:
    """Log one run with its per-fold scores; it lands whole or not at all. A dataset the
    graph does not know gives 404: register it with POST /datasets first. A run tagged
    ``recommendation=<id>`` whose configuration that recommendation ranked records the
    outcome of that rank (an unknown id gives 404 and logs nothing)."""
    return _logged(graph, [body], who.name)[0]


@router.post("/batch", status_code=201, response_model=list[RunOut])
def log_runs(body: RunsIn, graph: GraphDep, who: WriterDep) -> list[RunOut]:
    """Log a batch of runs in one atomic write (all or none). Runs sent with an ``id`` that
    the graph holds as the same run are taken as logged (a retry), not written twice."""
    return _logged(graph, body.runs, who.name)


@router.get("", response_model=list[FoundRun])
def search_runs(graph: GraphDep, who: ReaderDep,
                filter: Annotated[str, Query(max_length=2000, description=(
                    "Conditions joined by 'and', e.g. metrics.roc_auc > 0.8 and "
                    "params.family = 'lightgbm' and tags.team = 'risk'; keys metrics.*, "
                    "params.*, tags.*, dataset, principal, status, source, started; "
                    "operators = != < <= > >= LIKE ILIKE"))] = "",
                order_by: Annotated[str | None, Query(max_length=100, description=(
                    "KEY [ASC|DESC], e.g. metrics.roc_auc DESC; runs without the key "
                    "come last"))] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[FoundRun]:
    """Search runs by metrics, params, tags, dataset, principal, status and time; the store
    filters, orders and pages them (a malformed filter gives 422 saying where)."""
    return find_runs(graph, filter, order_by=order_by, limit=limit, offset=offset)


@router.get("/{run_id}", response_model=FoundRun)
def get_run(graph: GraphDep, who: ReaderDep,
            run_id: Annotated[str, Path(max_length=200, description="The run's id")]) -> FoundRun:
    """One run with its configuration, tags and mean scores (404 if unknown)."""
    return find_run(graph, run_id)
