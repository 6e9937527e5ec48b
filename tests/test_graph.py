"""Typed reads, SHACL agreement with pyshacl, networkx views, on real shared datasets."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from pyoxigraph import RdfFormat

from metakg.kg import DatasetNotFound, InvalidData, KnowledgeGraph, MemoryStore, RunInput, read_table
from metakg.kg.graph_inputs import family_name, make_configuration
from metakg.kg.shapes import shape_violations, validate_with_pyshacl
from metakg.kg.views import bipartite_graph, metafeature_matrix, performance_table, similarity_graph


@pytest.fixture
def small_kg(memory_graph: KnowledgeGraph, shared: Path) -> KnowledgeGraph:
    """Three real datasets, two configurations each, with scores."""
    g = memory_graph
    specs = [("breast.cancer", "Class", "classification", [0.70, 0.60]),
             ("credit.g", "class", "classification", [0.75, 0.78]),
             ("autompg", "class", "regression", [3.0, 2.5])]
    for name, target, ttype, scores in specs:
        df = read_table(shared / "arff" / f"{name}.arff.gz")
        ds = g.add_dataset(df, name=name, target=target, description=f"{name} data")
        k = int(df[target].nunique()) if ttype == "classification" else None
        task = g.add_task(ds, target=target, task_type=ttype, n_classes=k, folds=2)
        metric = task.metric
        for fam, s in zip(["random_forest", "knn"], scores, strict=True):
            g.log_run(RunInput(task_id=task.id, config={"family": fam, "params": {}},
                               fold_scores={metric: [s - 0.01, s + 0.01]}))
    return g


def test_datasets_filter_and_lookup(small_kg: KnowledgeGraph) -> None:
    names = [d.name for d in small_kg.datasets()]
    assert names == ["autompg", "breast.cancer", "credit.g"]
    assert [d.name for d in small_kg.datasets(task_type="regression")] == ["autompg"]
    assert [d.name for d in small_kg.datasets(min_rows=500)] == ["credit.g"]
    ds = small_kg.get_dataset("credit.g")
    assert ds.rows == 1000 and ds.default_target == "class"
    assert small_kg.get_dataset(ds.content_hash) == ds
    with pytest.raises(DatasetNotFound, match="No dataset 'nope'"):
        small_kg.get_dataset("nope")
    # by id and by IRI too; the columns and qualities (read by their own queries) are complete
    assert small_kg.get_dataset(ds.id) == ds == small_kg.get_dataset(ds.iri)
    assert [c.name for c in ds.schema][-1] == "class" and len(ds.schema) == ds.columns
    assert ds.description


def test_dataset_lookup_prefers_id_then_hash_then_name() -> None:
    """A name may look like another dataset's id or content hash: the id wins, then the hash."""
    import pandas as pd

    g = KnowledgeGraph(MemoryStore())
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    first = g.add_dataset(df, name="first", target="y")
    named_like_id = g.add_dataset(df.assign(x=[5.0, 6.0, 7.0, 8.0]), name=first.id, target="y")
    named_like_hash = g.add_dataset(df.assign(x=[9.0, 1.0, 2.0, 3.0]), name=first.content_hash,
                                    target="y")
    assert g.get_dataset(first.id) == first
    assert g.get_dataset(first.content_hash) == first
    assert g.get_dataset(first.iri) == first
    assert g.get_dataset("first") == first
    assert g.get_dataset(named_like_id.id) == named_like_id
    assert g.get_dataset(named_like_hash.name) != named_like_hash  # its name is first's hash
    with pytest.raises(DatasetNotFound):
        g.get_dataset("0" * 32)  # id-shaped but unknown: still looked up by hash and name


def test_best_configurations_respect_metric_direction(small_kg: KnowledgeGraph) -> None:
    best = small_kg.best_configurations("breast.cancer", metric="roc_auc", k=2)
    assert [c.family for c, _ in best] == ["random_forest", "knn"]
    assert best[0][1] == pytest.approx(0.70)
    best = small_kg.best_configurations("autompg", metric="rmse", k=1)
    assert best[0][0].family == "knn" and best[0][1] == pytest.approx(2.5)


def test_runs_of_a_configuration(small_kg: KnowledgeGraph) -> None:
    [cfg_id] = {r.configuration_id for r in small_kg.runs() if r.dataset_id ==
                small_kg.get_dataset("credit.g").id and r.scores.get("roc_auc", 0) > 0.77}
    runs = small_kg.runs(configuration=cfg_id)
    assert len(runs) == 3  # knn on all three datasets
    assert all(r.status == "completed" for r in runs)


def test_metafeatures_round_trip_with_missing_reason(small_kg: KnowledgeGraph) -> None:
    ds = small_kg.get_dataset("autompg")
    small_kg.set_metafeatures(ds.id, {"rows": 398.0, "class_entropy": None},
                              reasons={"class_entropy": "regression task"}, version="1")
    assert small_kg.metafeatures(ds.id) == {"rows": 398.0, "class_entropy": None}
    reason = small_kg.store.select("SELECT ?why WHERE { ?q mkg:missingReason ?why }")
    assert reason == [{"why": "regression task"}]
    small_kg.set_metafeatures(ds.id, {"rows": 398.0}, version="2")  # replaces
    assert small_kg.metafeatures(ds.id) == {"rows": 398.0}
    m = metafeature_matrix(small_kg)
    assert m.loc[ds.id, "rows"] == 398.0


def test_compiled_shapes_agree_with_pyshacl(small_kg: KnowledgeGraph) -> None:
    data = small_kg.store._dump(RdfFormat.N_QUADS)
    conforms, _ = validate_with_pyshacl(data)
    assert conforms
    assert shape_violations(list(small_kg.store._store)) == []
    # Break a run: its task becomes a literal instead of an IRI; both checkers must object.
    import re

    bad = re.sub(r'(<http://www.w3.org/ns/mls#achieves>) <[^>]*/task/([0-9a-f]+)>',
                 r'\1 "task \2"', data.decode(), count=1)
    conforms, report = validate_with_pyshacl(bad.encode())
    assert not conforms and "achieves" in report
    from pyoxigraph import parse

    quads = list(parse(bad.encode(), format=RdfFormat.N_QUADS))
    problems = shape_violations(quads)
    assert any("mls:achieves must be an IRI" in p for p in problems)


def test_bipartite_view_weights(small_kg: KnowledgeGraph) -> None:
    g = bipartite_graph(small_kg)
    datasets = [n for n, d in g.nodes(data=True) if d["bipartite"] == 0]
    assert len(datasets) == 3 and g.number_of_edges() == 6
    credit = ("dataset", small_kg.get_dataset("credit.g").id)
    weights = {g.nodes[c]["family"]: w["weight"] for _, c, w in g.edges(credit, data=True)}
    assert weights == {"knn": 1.0, "random_forest": 0.0}
    auto = ("dataset", small_kg.get_dataset("autompg").id)
    weights = {g.nodes[c]["family"]: w["weight"] for _, c, w in g.edges(auto, data=True)}
    assert weights == {"knn": 1.0, "random_forest": 0.0}  # lower RMSE is better
    assert nx.is_bipartite(g)


def test_similarity_graph_links_nearest(small_kg: KnowledgeGraph) -> None:
    perf = performance_table(small_kg)
    assert set(perf["metric"]) == {"roc_auc", "rmse"}
    ids = [d.id for d in small_kg.datasets()]
    rows = {d.id: d.rows for d in small_kg.datasets()}
    sim = np.array([[-abs(np.log(rows[a]) - np.log(rows[b])) for b in ids] for a in ids])
    g = similarity_graph(ids, sim, k=1)
    by_name = {d.id: d.name for d in small_kg.datasets()}
    # breast.cancer (286 rows) and autompg (398) are nearest by size
    nbrs = {by_name[n] for n in g.neighbors(small_kg.get_dataset("breast.cancer").id)}
    assert "autompg" in nbrs


def test_invalid_task_inputs(small_kg: KnowledgeGraph) -> None:
    ds = small_kg.get_dataset("autompg")
    with pytest.raises(InvalidData, match="at least 2 folds"):
        small_kg.add_task(ds, target="class", task_type="regression", folds=1)
    with pytest.raises(InvalidData, match="Task type must be"):
        small_kg.add_task(ds, target="class", task_type="clustering")
    before = len(small_kg.store)
    with pytest.raises(InvalidData, match="target_sd must be a finite number >= 0"):
        small_kg.add_task(ds, target="class", task_type="regression", folds=3, target_sd=-1.0)
    from metakg.metalearner.characterise import register_metafeatures

    with pytest.raises(InvalidData, match="target_sd must be"):
        register_metafeatures(small_kg, name="private", task_type="regression",
                              metafeatures={"nr_inst": 100.0}, target_sd=float("nan"))
    assert len(small_kg.store) == before  # nothing written half-way
    # a name is one dataset: another dataset's name is refused, the same registration is not
    from metakg.kg.errors import NameTaken

    with pytest.raises(NameTaken, match="A dataset named 'autompg' is already in the graph"):
        register_metafeatures(small_kg, name="autompg", task_type="regression",
                              metafeatures={"nr_inst": 100.0})
    first = register_metafeatures(small_kg, name="private", task_type="regression",
                                  metafeatures={"nr_inst": 100.0})
    small_kg.add_dataset_record(replace(first, id="0" * 32, content_hash="0" * 64))  # an older twin
    again = register_metafeatures(small_kg, name="private", task_type="regression",
                                  metafeatures={"nr_inst": 100.0})
    assert again.id == first.id


def test_a_task_names_a_column_and_a_metric_of_its_type(small_kg: KnowledgeGraph) -> None:
    ds = small_kg.get_dataset("autompg")
    with pytest.raises(InvalidData, match="'rmse' does not measure a classification model"):
        small_kg.add_task(ds, target="class", task_type="classification", metric="rmse")
    with pytest.raises(InvalidData, match=r"'clas'.*Did you mean 'class'"):
        small_kg.add_task(ds, target="clas", task_type="regression")


@pytest.mark.parametrize(("scores", "message"), [
    ({"rmse": []}, "rmse: no value given"),
    ({"roc_auc": [0.7, 0.7]}, "'roc_auc' does not measure a regression model's quality"),
    ({"rmse": [2.0, 2.1, 2.2]}, "rmse: 3 values for a task of 2 folds"),
    ({"rmse": [2.0, float("nan")]}, "rmse=nan is not a possible rmse"),
])
def test_the_python_api_checks_logged_scores_as_the_cli_does(
        small_kg: KnowledgeGraph, scores: dict, message: str) -> None:
    task = small_kg.tasks(small_kg.get_dataset("autompg").id)[0]
    before = len(small_kg.store)
    with pytest.raises(InvalidData, match=re.escape(message)):
        small_kg.log_runs([RunInput(task_id=task.id, config={"family": "knn", "params": {}},
                                    fold_scores={"rmse": [2.0, 2.1]}),
                           RunInput(task_id=task.id, config={"family": "knn", "params": {}},
                                    fold_scores=scores)])
    assert len(small_kg.store) == before


def test_a_run_id_names_one_run(small_kg: KnowledgeGraph) -> None:
    task = small_kg.tasks(small_kg.get_dataset("autompg").id)[0]

    def run(run_id: str, family: str) -> RunInput:
        return RunInput(task_id=task.id, config={"family": family, "params": {}},
                        fold_scores={"rmse": [2.0, 2.1]}, run_id=run_id)

    before = len(small_kg.store)
    with pytest.raises(InvalidData, match="Run id 'r1' is given to 2 runs of the batch"):
        small_kg.log_runs([run("r1", "knn"), run("r1", "lightgbm")])
    assert len(small_kg.store) == before
    small_kg.log_run(run("r1", "knn"))
    after = len(small_kg.store)
    with pytest.raises(InvalidData, match=r"runs\[1\] \(r1\): Run id 'r1' is already in the graph "
                                          r"as another run \(its configuration differ\)"):
        small_kg.log_runs([run("r2", "knn"), run("r1", "lightgbm")])
    assert len(small_kg.store) == after
    assert small_kg.check_shapes()[0]
    # the same run again (a client's retry after a lost answer) is taken as logged, once
    again = small_kg.log_runs([run("r1", "knn"), run("r2", "knn")])
    assert [r.id for r in again] == ["r1", "r2"] and again[0].scores == {"rmse": pytest.approx(2.05)}
    assert len(small_kg.store) > after
    assert [r.id for r in small_kg.runs(task=task.id)].count("r1") == 1
    with pytest.raises(InvalidData, match="its scores differ"):
        small_kg.log_run(RunInput(task_id=task.id, config={"family": "knn", "params": {}},
                                  fold_scores={"rmse": [2.0, 2.2]}, run_id="r1"))
    after = len(small_kg.store)
    with pytest.raises(InvalidData, match=r"runs\[1\]: Run id .a b. cannot be part of an IRI"):
        small_kg.log_runs([run("r3", "knn"), run("a b", "knn")])
    assert len(small_kg.store) == after


@pytest.mark.parametrize(("name", "family"), [
    ("lightgbm", "lightgbm"), ("é-net", "é-net"), ("Pipeline(a=b,c=d)", "Pipeline(a=b,c=d)"),
    ("baseline lgbm", "baseline%20lgbm"), ("x/y#z?", "x%2Fy%23z%3F"), ("50%", "50%25"),
    ("%20", "%20")])
def test_a_name_from_another_tool_becomes_a_family_the_graph_takes(name: str, family: str) -> None:
    assert family_name(name) == family
    assert make_configuration({"family": family}).family == family
    if family != name:
        with pytest.raises(InvalidData, match="cannot name a model family"):
            make_configuration({"family": name})


def test_a_task_keeps_its_targets_spread(graph: KnowledgeGraph, shared: Path) -> None:
    """``mkg:targetSd`` round-trips on every back-end and passes the shapes."""
    df = read_table(shared / "arff" / "autompg.arff.gz")
    ds = graph.add_dataset(df, name="autompg", target="class")
    task = graph.add_task(ds, target="class", task_type="regression", folds=3, target_sd=7.8)
    fresh = KnowledgeGraph(graph.store)  # no cached task objects
    assert fresh.get_task(task.id).target_sd == 7.8
    assert fresh.get_task(graph.add_task(ds, target="class", task_type="regression",
                                         folds=4).id).target_sd is None
    from metakg.kg.entities import task_quads

    assert not shape_violations(task_quads(fresh.get_task(task.id)))
    bad = task_quads(fresh.get_task(task.id).__class__(**{**vars(task), "target_sd": -2.0}))
    assert any("targetSd" in v and ">= 0" in v for v in shape_violations(bad))


def test_first_use_seeds_once_and_takes_a_grown_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     small_kg: KnowledgeGraph) -> None:
    from metakg.kg.default_graph import open_graph

    seed = tmp_path / "seed.nq.gz"
    small_kg.store.dump(seed)
    monkeypatch.setenv("METAKG_SEED", str(seed))
    from metakg.kg import migrations as kg_migrations

    calls: list[object] = []
    real = kg_migrations.migrate
    monkeypatch.setattr(kg_migrations, "migrate", lambda store, **kw: calls.append(store) or real(store, **kw))
    monkeypatch.setattr("metakg.kg.default_graph.migrate", kg_migrations.migrate)
    g = open_graph(str(tmp_path / "store"))
    n = len(g.store)
    assert n > len(small_kg.store)  # the seed plus its markers
    assert len(calls) == 1  # migrated once, after the load, not again by migrate_once
    g.store.close()
    g = open_graph(str(tmp_path / "store"))
    assert len(g.store) == n  # the same seed is not loaded again (nor hashed: same file stat)
    g.store.close()
    import os

    os.utime(seed, ns=(1, 1))  # same content, another modification time: hashed, not reloaded
    g = open_graph(str(tmp_path / "store"))
    assert len(g.store) == n + 1  # only the file's new signature is recorded
    g.store.close()
    small_kg.log_run(RunInput(task_id=small_kg.tasks()[0].id, config={"family": "svm"},
                              fold_scores={small_kg.tasks()[0].metric: [0.5, 0.6]}))
    small_kg.store.dump(seed)  # a grown seed
    g = open_graph(str(tmp_path / "store"))
    assert len(g.runs()) == len(small_kg.runs())
    assert len(calls) == 2  # loaded into a store that was not empty: migrated
    g.store.close()

    from metakg.kg.migrations import version_marker

    small_kg.store.add([version_marker()])  # a seed that records its layout, as builds export
    small_kg.store.dump(seed)
    g = open_graph(str(tmp_path / "fresh"))
    assert len(g.runs()) == len(small_kg.runs()) and len(calls) == 2  # not migrated again
    g.store.close()


def test_whole_graph_reads_of_datasets(small_kg: KnowledgeGraph) -> None:
    """kg.dataset_index: one mapping per attribute, keyed by dataset id."""
    from metakg.kg import dataset_index

    by_name = {d.name: d for d in small_kg.datasets()}
    ids = {d.id for d in by_name.values()}
    assert dataset_index.dataset_titles(small_kg) == {d.id: n for n, d in by_name.items()}
    assert dataset_index.dataset_rows(small_kg)[by_name["credit.g"].id] == 1000
    assert dataset_index.dataset_derivations(small_kg) == {}
    assert dataset_index.task_target_sds(small_kg) == {}
    cols = dataset_index.feature_columns(small_kg)
    assert set(cols) == ids and "class" not in cols[by_name["credit.g"].id]
    assert len(cols[by_name["credit.g"].id]) == by_name["credit.g"].columns - 1
    stale = dataset_index.stale_datasets(small_kg, extractor="x", version="1")
    assert stale == sorted(ids)
    autompg = by_name["autompg"].id
    small_kg.set_metafeatures(autompg, {"nr_inst": 398.0}, extractor="x", version="1")
    assert autompg not in dataset_index.stale_datasets(small_kg, extractor="x", version="1")
    assert dataset_index.has_current_metafeatures(small_kg, autompg, extractor="x", version="1")
    assert not dataset_index.has_current_metafeatures(small_kg, autompg, extractor="x", version="2")


def test_text_embeddings_round_trip_and_replace(small_kg: KnowledgeGraph) -> None:
    from metakg.kg import set_text_embedding, text_embedding, text_embeddings

    ds = small_kg.get_dataset("credit.g")
    assert text_embedding(small_kg, ds.id) is None and text_embeddings(small_kg) == {}
    set_text_embedding(small_kg, ds.id, np.array([0.5, -1.0, 2.0]), model="m1")
    set_text_embedding(small_kg, ds.id, np.array([1.0, 0.25]), model="m2")  # replaces
    np.testing.assert_array_equal(text_embedding(small_kg, ds.id), np.array([1.0, 0.25], "f4"))
    assert list(text_embeddings(small_kg)) == [ds.id]
    assert len(small_kg.store.select("SELECT ?m WHERE { ?d mkg:embeddingModel ?m }")) == 1


def test_typed_checks_of_the_whole_graph(small_kg: KnowledgeGraph) -> None:
    assert small_kg.has_runs(task_type="classification", metric="roc_auc")
    assert small_kg.has_runs(task_type="regression", metric="rmse")
    assert not small_kg.has_runs(task_type="regression", metric="roc_auc")
    conforms, report = small_kg.check_shapes()
    assert conforms, report


def test_ids_that_cannot_be_part_of_an_iri_are_not_found(small_kg: KnowledgeGraph) -> None:
    from metakg.kg import DatasetNotFound, NotFound

    with pytest.raises(DatasetNotFound, match="'no such table'"):
        small_kg.get_dataset("no such table")  # a name with spaces: looked up as a name
    with pytest.raises(NotFound, match="not a valid task id"):
        small_kg.get_task("a b")
    with pytest.raises(NotFound, match="not a valid config id"):
        small_kg.get_configuration("{bad}")


def test_runs_read_back_their_tags_and_start(small_kg: KnowledgeGraph) -> None:
    from datetime import UTC, datetime

    task = small_kg.tasks(small_kg.get_dataset("autompg").id)[0]
    run = small_kg.log_run(RunInput(task_id=task.id, config={"family": "knn", "params": {}},
                                    fold_scores={"rmse": [2.0, 2.1]}, tags={"team": "risk"},
                                    started_at=datetime(2026, 3, 1, tzinfo=UTC)))
    (back,) = [r for r in small_kg.runs(task=task.id) if r.id == run.id]
    assert back.tags == ("team=risk",) and back.started_at.startswith("2026-03-01T00:00:00")


def test_a_batchs_tasks_are_resolved_once_and_written_with_its_runs(small_kg: KnowledgeGraph) -> None:
    from metakg.kg.graph_inputs import TaskReference, run_tasks

    ds = small_kg.get_dataset("autompg")
    known = small_kg.add_task(ds, target="class", task_type="regression", folds=3)
    by_name = TaskReference(dataset="autompg", target="cylinders", task_type="regression", folds=3)
    before = len(small_kg.store)
    found = run_tasks(small_kg, [TaskReference(task_id=known.id), by_name, by_name])
    assert [t.target for t in found.tasks] == ["class", "cylinders", "cylinders"]
    assert [t.id for t in found.new] == [found.tasks[1].id]  # once, and not the known task
    assert len(small_kg.store) == before  # nothing written until the runs are
    with pytest.raises(InvalidData, match=r"runs\[1\]: Give task_id or dataset .* not both"):
        run_tasks(small_kg, [by_name, TaskReference(task_id=known.id, dataset="autompg")])
    with pytest.raises(DatasetNotFound, match=r"runs\[1\]: No dataset 'nope'"):
        run_tasks(small_kg, [by_name, TaskReference(dataset="nope", target="y", task_type="regression")])
    with pytest.raises(InvalidData, match=r"^Give task_id, or dataset with target"):
        run_tasks(small_kg, [TaskReference(dataset="autompg")])
    runs = [RunInput(task_id=t.id, config={"family": "knn"}, fold_scores={"rmse": [1.0, 2.0, 3.0]})
            for t in found.tasks]
    small_kg.log_runs(runs, new_tasks=found.new)
    assert small_kg.get_task(found.tasks[1].id).target == "cylinders"


def test_a_name_two_tables_have_is_not_resolved_to_one_of_them(small_kg: KnowledgeGraph) -> None:
    import pandas as pd

    from metakg.kg.errors import NameTaken

    a = small_kg.add_dataset(pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]}), name="twin", target="y")
    b = small_kg.add_dataset(pd.DataFrame({"x": [4, 5, 6], "y": [1, 1, 0]}), name="twin", target="y")
    with pytest.raises(NameTaken, match=rf"The name 'twin' names 2 datasets \(({a.id}|{b.id}), "
                                        rf"({a.id}|{b.id})\); refer to one by its id"):
        small_kg.get_dataset("twin")
    assert small_kg.get_dataset(b.id).id == b.id and small_kg.datasets_named("twin") == sorted([a.id, b.id])
