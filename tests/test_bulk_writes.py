"""The fast path of run logging: template, bulk loads, journal, reader gate, migration."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from pyoxigraph import DefaultGraph, Quad, RdfFormat, parse

from metakg.kg import InvalidData, KnowledgeGraph, MemoryStore, OxigraphStore, RunInput, Task
from metakg.kg import entities as E
from metakg.kg.graph import make_configuration
from metakg.kg.migrations import migrate, migrate_once
from metakg.kg.run_nquads import run_nquads
from metakg.kg.shapes import check_quads
from metakg.kg.store._journal import WriteAheadJournal
from metakg.kg.store.local import BULK_MIN_BYTES
from metakg.kg.vocabulary import entity


def _task(graph: KnowledgeGraph) -> Task:
    ds = graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}),
                           name="tiny", target="y")
    return graph.add_task(ds, target="y", task_type="classification", n_classes=2, folds=3)


RUNS = [
    dict(status="completed", fold_scores={"roc_auc": [0.9, 0.8, 0.85], "accuracy": [1, 0.5, 0.75]}),
    dict(status="completed", fold_scores={"rmse": [float("nan"), math.inf, -math.inf]},
         principal="ann o'neil/ml team", device="cuda:0", source="api", code_version="abc123",
         tags={"team": 'quotes " and \\\\ backslash', "note": "line\nbreak"},
         software={"sklearn": "1.6.1"}),
    dict(status="failed", fold_scores={}, error='Traceback:\n  "boom" \\ \u00e9\u6f22'),
]


@pytest.mark.parametrize("kw", RUNS)
def test_template_equals_entity_builders_and_passes_shapes(kw: dict) -> None:
    graph = KnowledgeGraph(MemoryStore())
    task = _task(graph)
    config = make_configuration({"family": "knn", "params": {"n_neighbors": 5}})
    started = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    text, means = run_nquads(
        "r1", task_iri=entity("task", task.id).value,
        dataset_iri=entity("dataset", task.dataset_id).value,
        config_iri=entity("config", config.id).value,
        implementation_iri=entity("implementation", config.family).value, started_at=started,
        principal_iri=E.principal_iri(kw["principal"]).value if "principal" in kw else None,
        **{k: v for k, v in kw.items() if k != "principal"})
    fast = set(parse(text.encode(), format=RdfFormat.N_QUADS))
    slow = E.run_header_quads("r1", task, config, status=kw["status"], error=kw.get("error"),
                              principal=kw.get("principal"), started_at=started,
                              device=kw.get("device"), source=kw.get("source"),
                              code_version=kw.get("code_version"), tags=kw.get("tags"),
                              software=kw.get("software"))
    for measure, vals in kw["fold_scores"].items():
        for fold, v in enumerate(vals):
            slow += E.evaluation_quads("r1", measure, v, fold)
        slow += E.evaluation_quads("r1", measure, means[measure], None)
    assert fast == set(slow)
    check_quads([*fast, *E.configuration_quads(config)])


def test_template_rejects_bad_values() -> None:
    kw = dict(task_iri="http://x/t", dataset_iri="http://x/d", config_iri="http://x/c",
              implementation_iri="http://x/i", status="completed",
              started_at=datetime.now(UTC))
    with pytest.raises(InvalidData, match="Unknown measure 'auc'"):
        run_nquads("r", fold_scores={"auc": [0.5]}, **kw)
    with pytest.raises(InvalidData, match="must be numbers"):
        run_nquads("r", fold_scores={"roc_auc": ["high"]}, **kw)
    with pytest.raises(InvalidData, match="cannot be part of an IRI"):
        run_nquads("a b>", fold_scores={"roc_auc": [0.5]}, **kw)


def test_a_batch_with_one_impossible_score_writes_nothing() -> None:
    graph = KnowledgeGraph(MemoryStore())
    task = _task(graph)
    runs = _batch(task, 3)
    runs[2].fold_scores["roc_auc"][1] = float("nan")
    before = len(graph.store)
    with pytest.raises(InvalidData, match="roc_auc=nan is not a possible roc_auc"):
        graph.log_runs(runs)
    assert len(graph.store) == before and graph.runs() == []


def _batch(task: Task, n: int, offset: int = 0) -> list[RunInput]:
    return [RunInput(task_id=task.id, config={"family": "knn", "params": {"k": i % 7}},
                     fold_scores={"roc_auc": [0.5 + i / (4 * n), 0.6, 0.7]}, principal="bench",
                     run_id=f"run{offset + i}")
            for i in range(n)]


def test_large_batches_take_the_bulk_path_on_every_back_end(graph: KnowledgeGraph) -> None:
    task = _task(graph)
    batch = _batch(task, 400)  # about 1.5 MB of N-Quads: above the bulk threshold
    logged = graph.log_runs(batch)
    runs = {r.id: r for r in graph.runs(task=task.id)}
    assert len(runs) == 400
    assert runs["run7"].scores["roc_auc"] == pytest.approx(logged[7].scores["roc_auc"])
    assert runs["run7"].principal == "bench"
    best = graph.best_configurations(task.dataset_id, metric="roc_auc", k=3)
    assert len(best) == 3 and best[0][1] >= best[1][1] >= best[2][1]


def test_invalid_bulk_text_writes_nothing(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "s")
    good = "".join(f"<http://x/s{i}> <http://x/p> \"{i}\" .\n" for i in range(20_000)).encode()
    assert len(good) > BULK_MIN_BYTES
    with pytest.raises(InvalidData, match="Not valid N-Quads"):
        store.add_nquads(good + b'<http://x/bad> <http://x/p> "unterminated .\n')
    assert len(store) == 0
    assert WriteAheadJournal(tmp_path / "s" / "metakg-journal").pending() == []
    store.add_nquads(good)
    assert len(store) == 20_000


def test_journal_replays_an_interrupted_bulk_write(tmp_path: Path) -> None:
    """A process killed during a bulk load leaves its journal file; the next open
    completes the write. A half-written journal file (killed before the rename) is a
    write that never started and is dropped."""
    store = OxigraphStore(tmp_path / "s")
    graph = KnowledgeGraph(store)
    task = _task(graph)
    before = len(store)
    text = "".join(run_nquads(
        f"lost{i}", task_iri=entity("task", task.id).value,
        dataset_iri=entity("dataset", task.dataset_id).value,
        config_iri=entity("config", "c").value, implementation_iri=entity("implementation", "knn").value,
        status="completed", started_at=datetime.now(UTC), fold_scores={"roc_auc": [0.5, 0.6]})[0]
        for i in range(3))
    journal = WriteAheadJournal(tmp_path / "s" / "metakg-journal")
    journal.record_bytes(text.encode())  # the kill happened after this, before the load
    (journal.directory / ".half.nq.part").write_bytes(b"<http://x/half")
    store.close()
    reopened = OxigraphStore(tmp_path / "s")
    assert len(reopened) == before + len(text.splitlines())
    assert journal.pending() == [] and not list(journal.directory.glob(".*"))
    reopened.close()


@pytest.mark.stress
def test_readers_never_see_half_a_bulk_write(tmp_path: Path) -> None:
    graph = KnowledgeGraph(OxigraphStore(tmp_path / "s"))
    task = _task(graph)
    seen_partial: list[int] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            rows = graph.store.select(
                """SELECT (COUNT(?r) AS ?n) WHERE { ?r mkg:status "completed" .
                     FILTER NOT EXISTS { ?r mkg:meanEvaluation ?e . ?e mls:hasValue ?v } }""")
            if rows[0]["n"]:
                seen_partial.append(rows[0]["n"])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for b in range(6):
            graph.log_runs(_batch(task, 300, offset=300 * b))
    finally:
        stop.set()
        reader.join()
    assert seen_partial == []
    assert len(graph.runs(task=task.id)) == 1800


def test_migration_adds_mean_links_to_old_data() -> None:
    graph = KnowledgeGraph(MemoryStore())
    task = _task(graph)
    graph.log_runs(_batch(task, 5))
    # Simulate a graph written before the mkg:meanEvaluation shortcut existed.
    links = graph.store.construct("CONSTRUCT { ?r mkg:meanEvaluation ?e } "
                                  "WHERE { ?r mkg:meanEvaluation ?e }")
    assert links
    graph.store.remove([Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in links])
    assert all(not r.scores for r in graph.runs())
    assert migrate_once(graph.store)
    assert all(r.scores["roc_auc"] > 0.5 for r in graph.runs())
    assert not migrate_once(graph.store)  # the marker says it is current
    n = len(graph.store)
    migrate(graph.store)  # idempotent
    assert len(graph.store) == n
