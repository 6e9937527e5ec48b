"""Runs: log one or a batch (the principal comes from the key), search, fetch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from metakg.api.deps import GraphDep, ReaderDep, WriterDep
from metakg.api.schemas import RunIn, RunOut, RunsIn
from metakg.kg.graph import KnowledgeGraph, task_for_run
from metakg.kg.records import Run, RunInput

router = APIRouter(prefix="/runs", tags=["runs"])


def _input(graph: KnowledgeGraph, body: RunIn, principal: str, memo: dict | None = None) -> RunInput:
    task = task_for_run(graph, task_id=body.task_id, dataset=body.dataset, target=body.target,
                        task_type=body.task_type, folds=body.folds, memo=memo)
    return RunInput(task_id=task.id, config=body.config, fold_scores=body.fold_scores,
                    status=body.status, error=body.error, principal=principal, tags=body.tags,
                    code_version=body.code_version, source=body.source or "api")


def _out(r: Run) -> RunOut:
    return RunOut(id=r.id, task_id=r.task_id, dataset_id=r.dataset_id,
                  configuration_id=r.configuration_id, status=r.status, scores=r.scores,
                  principal=r.principal)


@router.post("", status_code=201, response_model=RunOut)
def log_run(body: RunIn, graph: GraphDep, who: WriterDep) -> RunOut:
    """Log one run with its per-fold scores; it lands whole or not at all."""
    return _out(graph.log_run(_input(graph, body, who.name)))


@router.post("/batch", status_code=201, response_model=list[RunOut])
def log_runs(body: RunsIn, graph: GraphDep, who: WriterDep) -> list[RunOut]:
    """Log a batch of runs in one atomic write (all or none)."""
    memo: dict = {}
    return [_out(r) for r in graph.log_runs([_input(graph, b, who.name, memo) for b in body.runs])]


@router.get("")
def search_runs(graph: GraphDep, who: ReaderDep,
                filter: Annotated[str, Query(max_length=2000, description=(
                    "e.g. metrics.roc_auc > 0.8 and params.family = 'lightgbm'"))] = "",
                order_by: Annotated[str | None, Query(max_length=100, description="e.g. metrics.roc_auc DESC")] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0)] = 0) -> list[dict[str, Any]]:
    """Search runs by metrics, params, tags, dataset, principal, status and time."""
    from metakg.kg.run_search import search_runs as do_search

    return do_search(graph, filter, order_by=order_by, limit=limit, offset=offset)
