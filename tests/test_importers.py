"""Importers: OpenML (recorded responses, no network) and MLflow (a real local store)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from metakg.kg import KnowledgeGraph, read_table
from metakg.kg.importers import import_mlflow_experiment, import_openml_dataset, import_openml_evaluations, openml_runs

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fake_openml(shared: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """openml-python's calls answered from recorded responses (the shapes openml returns)."""
    import pandas as pd

    calls: list[tuple[str, object]] = []
    table = read_table(shared / "arff" / "credit.g.arff.gz")
    qualities = json.loads((FIXTURES / "openml_qualities_31.json").read_text())

    def get_dataset(dataset_id: int, **kw: object) -> SimpleNamespace:
        calls.append(("get_dataset", dataset_id))
        return SimpleNamespace(name="credit-g", default_target_attribute="class",
                               description="German credit data", qualities=qualities,
                               get_data=lambda dataset_format="dataframe": (table, None, None, None))

    def list_evaluations_setups(**kw: object) -> pd.DataFrame:
        calls.append(("list_evaluations_setups", kw))
        return pd.DataFrame(json.loads((FIXTURES / "openml_evaluations_setups_task31.json").read_text()))

    fake = SimpleNamespace(datasets=SimpleNamespace(get_dataset=get_dataset),
                           evaluations=SimpleNamespace(list_evaluations_setups=list_evaluations_setups),
                           calls=calls)
    monkeypatch.setattr(openml_runs, "_openml", lambda: fake)
    return fake


def test_openml_dataset_with_qualities_joins_the_shared_copy(memory_graph: KnowledgeGraph, shared: Path,
                                                             fake_openml: SimpleNamespace) -> None:
    local = memory_graph.add_dataset(read_table(shared / "arff" / "credit.g.arff.gz"),
                                     name="credit.g", target="class")
    ds = import_openml_dataset(memory_graph, 31)
    assert ds.id == local.id and "openml:31" in ds.sources  # same content, one node
    q = memory_graph.metafeatures(ds.id, extractor="openml")
    assert q["NumberOfInstances"] == 1000.0 and q["kNN1NAUC"] is None


def test_openml_evaluations_become_runs(memory_graph: KnowledgeGraph, fake_openml: SimpleNamespace) -> None:
    n = import_openml_evaluations(memory_graph, function="area_under_roc_curve", tasks=[31])
    assert n == 4
    assert ("list_evaluations_setups", {"function": "area_under_roc_curve", "per_fold": False,
                                        "output_format": "dataframe", "tasks": [31]}) in fake_openml.calls
    runs = memory_graph.runs()
    assert sorted(round(r.scores["roc_auc"], 2) for r in runs) == [0.76, 0.77, 0.78, 0.79]
    assert {r.principal for r in runs} == {"openml:Jan van Rijn"}
    best = memory_graph.best_configurations("credit-g", metric="roc_auc", k=1)[0][0]
    assert best.config == {"family": "openml:sklearn.linear_model.logistic.LogisticRegression(2)",
                           "params": {"C": 1.0, "penalty": "l2"}}
    [task] = memory_graph.tasks()
    assert (task.metric, task.folds) == ("roc_auc", 10)
    with pytest.raises(Exception, match="no metakg equivalent"):
        import_openml_evaluations(memory_graph, function="kappa")


def test_mlflow_experiment_from_a_real_local_store(memory_graph: KnowledgeGraph, shared: Path,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow = pytest.importorskip("mlflow")
    # MLflow's folder store: made in milliseconds (a new SQLite store migrates for seconds;
    # tests/test_mlflow_server.py syncs from one behind a real tracking server)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)
    memory_graph.add_dataset(read_table(shared / "arff" / "credit.g.arff.gz"), name="credit.g",
                             target="class")
    exp = mlflow.create_experiment("credit-models", artifact_location=str(tmp_path / "art"))
    for lr, aucs in [(0.1, [0.80, 0.82, 0.81]), (0.3, [0.77, 0.79, 0.78])]:
        with mlflow.start_run(experiment_id=exp, run_name=f"lgbm-{lr}"):
            mlflow.log_params({"family": "lightgbm", "learning_rate": lr, "num_leaves": 31,
                               "metakg.dataset": "credit.g", "metakg.target": "class",
                               "metakg.task_type": "classification"})
            mlflow.set_tag("team", "risk")
            for step, v in enumerate(aucs):
                mlflow.log_metric("auc", v, step=step)
            mlflow.log_metric("training_loss", 0.3)
    n = import_mlflow_experiment(memory_graph, "credit-models", tracking_uri=uri, folds=3)
    assert n == 2
    runs = sorted(memory_graph.runs(), key=lambda r: -r.scores["roc_auc"])
    assert runs[0].scores["roc_auc"] == pytest.approx(0.81)
    cfg = memory_graph.get_configuration(runs[0].configuration_id).config
    assert cfg == {"family": "lightgbm", "params": {"learning_rate": 0.1, "num_leaves": 31}}
    found = memory_graph.store.select("SELECT ?t WHERE { ?r mkg:tag ?t } ORDER BY ?t")
    assert {"v": None} not in found and any(t["t"] == "team=risk" for t in found)
    folds = memory_graph.store.select("SELECT (COUNT(?e) AS ?n) WHERE { ?e mkg:fold ?f }")
    assert folds[0]["n"] == 2  # steps are a history, not folds: one value per run (the last)
