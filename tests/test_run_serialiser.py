"""One serialiser of runs (kg/run_nquads.py): every writer gives the same quads, and they
conform to the SHACL shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from pyoxigraph import RdfFormat, parse

from metakg.kg import KnowledgeGraph, MemoryStore, RunInput, Task
from metakg.kg import entities as E
from metakg.kg.graph import make_configuration
from metakg.kg.run_nquads import fold_mean
from metakg.kg.run_progress import RunStart, finish_run, record_fold, run_states
from metakg.kg.shapes import check_quads, validate_with_pyshacl

STARTED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CONFIG = {"family": "knn", "params": {"n_neighbors": 5}}
PROVENANCE = dict(principal="ann o'neil", device="cpu", source="runner",
                  software={"scikit-learn": "1.6.1"})
COMPLETED = {0: {"roc_auc": 0.81, "fit_time": 0.5}, 1: {"roc_auc": 0.79, "fit_time": 0.25},
             2: {"roc_auc": 0.9, "fit_time": 0.125}}
FAILED: dict[int, dict[str, float]] = {0: {}, 1: {}, 2: {}}


def _graph_with_task() -> tuple[KnowledgeGraph, Task]:
    graph = KnowledgeGraph(MemoryStore())
    ds = graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}),
                           name="tiny", target="y")
    return graph, graph.add_task(ds, target="y", task_type="classification", n_classes=2, folds=3)


def _logged_whole(folds: dict[int, dict[str, float]], error: str | None) -> KnowledgeGraph:
    """The API's and `metakg log`'s path: KnowledgeGraph.log_run."""
    graph, task = _graph_with_task()
    measures = sorted({m for scores in folds.values() for m in scores})
    graph.log_run(RunInput(
        task_id=task.id, config=CONFIG, run_id="r1", started_at=STARTED,
        status="failed" if error else "completed", error=error,
        fold_scores={m: [folds[f][m] for f in sorted(folds)] for m in measures},
        **PROVENANCE))
    return graph


def _written_fold_by_fold(folds: dict[int, dict[str, float]], error: str | None) -> KnowledgeGraph:
    """The runner's path: kg.run_progress, a fold at a time, then the status."""
    graph, task = _graph_with_task()
    start = RunStart(task=task, config=make_configuration(CONFIG), started_at=STARTED,
                     **PROVENANCE)
    for fold, scores in folds.items():
        record_fold(graph, "r1", fold, scores, start=start if fold == 0 else None)
    assert run_states(graph, [task.id])[(task.id, make_configuration(CONFIG).id)].status == "running"
    if error:
        finish_run(graph, "r1", error=error)
    else:
        finish_run(graph, "r1", means={m: fold_mean([s[m] for s in folds.values()])
                                       for m in folds[0]})
    return graph


def _entity_quads(folds: dict[int, dict[str, float]], error: str | None) -> KnowledgeGraph:
    """The entity builders' path: kg.entities.run_header_quads and evaluation_quads."""
    graph, task = _graph_with_task()
    config = make_configuration(CONFIG)
    quads = E.configuration_quads(config) + E.run_header_quads(
        "r1", task, config, status="failed" if error else "completed", error=error,
        started_at=STARTED, **PROVENANCE)
    for fold, scores in folds.items():
        for measure, value in scores.items():
            quads += E.evaluation_quads("r1", measure, value, fold)
    if not error:
        for measure in folds[0]:
            quads += E.evaluation_quads("r1", measure,
                                        fold_mean([s[measure] for s in folds.values()]), None)
    graph.write(quads)
    return graph


def _dump(graph: KnowledgeGraph, tmp_path: object, name: str) -> set[bytes]:
    path = tmp_path / f"{name}.nq"  # type: ignore[operator]
    graph.store.dump(path)
    return set(path.read_bytes().splitlines())


@pytest.mark.parametrize(("folds", "error"), [(COMPLETED, None), (FAILED, "fold 0: boom")],
                         ids=["completed", "failed"])
def test_every_writer_of_runs_gives_the_same_quads(folds: dict, error: str | None,
                                                   tmp_path: object) -> None:
    logged = _dump(_logged_whole(folds, error), tmp_path, "logged")
    assert logged == _dump(_written_fold_by_fold(folds, error), tmp_path, "runner")
    assert logged == _dump(_entity_quads(folds, error), tmp_path, "entities")


def test_a_logged_run_conforms_to_the_shapes(tmp_path: object) -> None:
    graph = _logged_whole(COMPLETED, None)
    path = tmp_path / "run.nq"  # type: ignore[operator]
    graph.store.dump(path)
    data = path.read_bytes()
    check_quads(list(parse(data, format=RdfFormat.N_QUADS)))  # the compiled shapes
    conforms, report = validate_with_pyshacl(data)  # and pyshacl on the published shapes
    assert conforms, report
    [run] = graph.runs()
    assert run.scores["roc_auc"] == pytest.approx((0.81 + 0.79 + 0.9) / 3)
    assert (run.principal, run.device, run.source) == ("ann o'neil", "cpu", "runner")


@pytest.mark.parametrize("error", [None, "out of memory"])
def test_a_run_written_fold_by_fold_changes_the_learning_stamp_when_it_ends(error: str | None) -> None:
    """Recommenders cached under the stamp are refitted once the run completes or fails (its
    status is replaced: the counts of runs and statuses stay the same)."""
    graph = KnowledgeGraph(MemoryStore())
    ds = graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": ["a", "b", "a", "b"]}),
                           name="t", target="y")
    task = graph.add_task(ds, target="y", task_type="classification", n_classes=2, folds=2)
    start = RunStart(task=task, config=make_configuration({"family": "linear", "params": {}}))
    record_fold(graph, "r1", 0, {"roc_auc": 0.8}, start=start)
    record_fold(graph, "r1", 1, {"roc_auc": 0.9})
    running = graph.learning_stamp()
    if error:
        finish_run(graph, "r1", error=error)
    else:
        finish_run(graph, "r1", means={"roc_auc": 0.85})
    assert graph.learning_stamp() != running
