"""The run index behind the learning views: incremental, persistent, the same on every back-end."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyoxigraph import DefaultGraph, Literal, Quad

import metakg.kg.run_index as run_index_module
from metakg.kg import KnowledgeGraph, OxigraphStore, RunInput, make_configuration, read_table
from metakg.kg.run_index import index_path, run_index
from metakg.kg.views import performance_table, task_table
from metakg.kg.vocabulary import MKG, entity
from metakg.metalearner.knowledge import _pairs


def _task(graph: KnowledgeGraph, shared: Path):
    df = read_table(shared / "arff" / "credit.g.arff.gz")
    ds = graph.add_dataset(df, name="credit.g", target="class")
    return graph.add_task(ds, target="class", task_type="classification", n_classes=2, folds=2)


def _log(graph: KnowledgeGraph, task, family: str, score: float, *, run_id: str | None = None,
         status: str = "completed") -> str:
    scores = {"roc_auc": [score - 0.01, score + 0.01], "fit_time": [1.0, 3.0]}
    run = graph.log_run(RunInput(task_id=task.id, config={"family": family, "params": {}},
                                 fold_scores=scores if status == "completed" else {},
                                 status=status, error=None if status == "completed" else "boom",
                                 run_id=run_id))
    return run.id


def _values(graph: KnowledgeGraph, metric: str = "roc_auc") -> dict[str, float]:
    perf = performance_table(graph, metric=metric)
    return {f: round(v, 6) for f, v in zip(perf["family"], perf["value"], strict=True)}


def _set_status(graph: KnowledgeGraph, run_id: str, old: str, new: str) -> None:
    node = entity("run", run_id)
    graph.store.remove([Quad(node, MKG.status, Literal(old), DefaultGraph())])
    graph.store.add([Quad(node, MKG.status, Literal(new), DefaultGraph())])


def test_the_views_follow_new_changed_and_removed_runs(graph: KnowledgeGraph, shared: Path) -> None:
    task = _task(graph, shared)
    _log(graph, task, "random_forest", 0.70)
    knn = _log(graph, task, "knn", 0.60)
    assert _values(graph) == {"knn": 0.60, "random_forest": 0.70}
    assert _values(graph, "fit_time") == {"knn": 2.0, "random_forest": 2.0}

    _log(graph, task, "random_forest", 0.80)  # a second run of the pair: averaged
    failed = _log(graph, task, "linear", 0.0, status="failed")
    assert _values(graph) == {"knn": 0.60, "random_forest": 0.75}
    linear = make_configuration({"family": "linear", "params": {}}).id
    index = run_index(graph.store)
    assert _pairs(index, task_table(graph, "classification"), "failed") == [(task.dataset_id, linear)]
    assert _pairs(index, task_table(graph, "regression"), "failed") == []
    runs = run_index(graph.store).runs.set_index("run")
    assert runs.loc[failed, "status"] == "failed" and runs.loc[knn, "status"] == "completed"

    _set_status(graph, knn, "completed", "failed")  # status changed: no longer a score
    assert _values(graph) == {"random_forest": 0.75}
    _set_status(graph, knn, "failed", "completed")
    assert _values(graph) == {"knn": 0.60, "random_forest": 0.75}

    node = entity("run", knn)  # removed: gone from the views
    graph.store.remove([Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in
                        graph.store.construct("CONSTRUCT { ?r ?p ?o } WHERE { ?r ?p ?o }",
                                              {"r": node})])
    assert _values(graph) == {"random_forest": 0.75}
    assert knn not in set(run_index(graph.store).runs["run"])


def test_a_new_process_starts_from_the_index_on_disk_and_reads_only_new_runs(
        tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = KnowledgeGraph(OxigraphStore(tmp_path / "store"))
    task = _task(graph, shared)
    _log(graph, task, "random_forest", 0.70)
    assert _values(graph) == {"random_forest": 0.70}
    path = index_path(graph.store)
    assert path is not None and path.exists()
    graph.store.close()

    run_index_module._MEMORY.clear()  # as in a new process

    def no_full_read(*args: object) -> None:
        raise AssertionError("the whole graph was read again")

    monkeypatch.setattr(run_index_module, "_read_all", no_full_read)
    graph = KnowledgeGraph(OxigraphStore(tmp_path / "store"))
    _log(graph, task, "knn", 0.60)
    assert _values(graph) == {"knn": 0.60, "random_forest": 0.70}
    graph.store.close()


def test_many_new_runs_are_read_in_one_pass(memory_graph: KnowledgeGraph, shared: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    task = _task(memory_graph, shared)
    _log(memory_graph, task, "random_forest", 0.70)
    assert _values(memory_graph) == {"random_forest": 0.70}

    def one_by_one(*args: object) -> None:
        raise AssertionError("runs were read one by one")

    monkeypatch.setattr(run_index_module, "FULL_READ_MIN_RUNS", 2)
    monkeypatch.setattr(run_index_module, "_read_runs", one_by_one)
    _log(memory_graph, task, "knn", 0.60)
    _log(memory_graph, task, "linear", 0.65)
    assert _values(memory_graph) == {"knn": 0.60, "linear": 0.65, "random_forest": 0.70}


def test_a_store_created_again_at_the_same_path_does_not_inherit_the_index(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    first = index_path(store)
    store.close()
    shutil.rmtree(tmp_path / "store")
    store = OxigraphStore(tmp_path / "store")
    assert index_path(store) != first
    store.close()


def test_a_broken_index_file_is_rebuilt(tmp_path: Path, shared: Path) -> None:
    graph = KnowledgeGraph(OxigraphStore(tmp_path / "store"))
    task = _task(graph, shared)
    _log(graph, task, "random_forest", 0.70)
    path = index_path(graph.store)
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a pickle")
    run_index_module._MEMORY.clear()
    assert _values(graph) == {"random_forest": 0.70}
    assert path.stat().st_size > 100
    graph.store.close()


def test_the_in_process_indexes_are_bounded() -> None:
    from metakg.kg import MemoryStore

    stores = [MemoryStore() for _ in range(run_index_module._KEEP + 3)]
    for s in stores:  # a server that opens its store per request must not grow without bound
        run_index(s)
    assert len(run_index_module._MEMORY) == run_index_module._KEEP
