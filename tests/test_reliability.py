"""Runs of mixed quality: the reliability weight, the weighted cell mean and the shrinkage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyoxigraph import DefaultGraph, Literal, Quad

from metakg.kg import KnowledgeGraph, RunInput, read_table
from metakg.kg.recommendations import RECOMMENDATION_TAG
from metakg.kg.reliability import (
    NOISE_RATIO,
    OTHER_PROTOCOL_WEIGHT,
    OUTCOME_TAG,
    fold_weight,
    protocol_weight,
    run_weight,
    shrinkage,
)
from metakg.kg.run_index import run_index
from metakg.kg.views import performance_table
from metakg.kg.vocabulary import MKG, entity
from metakg.metalearner.knowledge import (
    learning_targets,
    load_metadata,
    normalise_scores,
    relative_scores,
    shrink_to_prior,
)

FAMILIES = ("random_forest", "knn", "linear")


def test_the_weight_is_protocol_times_folds() -> None:
    assert run_weight("seed", 5) == 1.0
    assert run_weight("runner", 3, task_folds=3) == 1.0  # the task's whole protocol
    assert run_weight("cli", 1) == pytest.approx(OTHER_PROTOCOL_WEIGHT * 0.2)
    assert run_weight("mlflow:abc", 5) == OTHER_PROTOCOL_WEIGHT
    assert run_weight("https://www.openml.org/r/7", 10) == OTHER_PROTOCOL_WEIGHT
    assert run_weight("feedback", 1, task_folds=2) == pytest.approx(OTHER_PROTOCOL_WEIGHT / 2)
    assert run_weight(None, 5) == 1.0  # no source: written by the protocol (bulk logs)
    # a recommendation's outcome: the team's own score of the recommended configuration
    assert run_weight("api", 1, task_folds=3, outcome=True) == pytest.approx(1 / 3)
    assert OUTCOME_TAG == RECOMMENDATION_TAG
    # the tag set by whoever logs the run replaces the protocol weight, not the fold weight
    assert run_weight("mlflow:abc", 5, "1") == 1.0
    assert run_weight("cli", 1, "0.9") == pytest.approx(0.18)
    for bad in ("0", "1.5", "high", float("nan")):  # unreadable or out of (0, 1]: ignored
        assert protocol_weight("cli", bad) == OTHER_PROTOCOL_WEIGHT
    assert fold_weight(None) == 0.2 and fold_weight(7) == 1.0


def _task(graph: KnowledgeGraph, shared: Path, name: str, target: str = "class"):
    df = read_table(shared / "arff" / f"{name}.arff.gz")
    ds = graph.add_dataset(df, name=name, target=target)
    return graph.add_task(ds, target=target, task_type="classification", n_classes=2, folds=5)


def _log(graph: KnowledgeGraph, task, family: str, folds: list[float], *, source: str | None = "seed",
         tags: dict[str, str] | None = None) -> str:
    return graph.log_run(RunInput(task_id=task.id, config={"family": family, "params": {}},
                                  fold_scores={"roc_auc": folds, "fit_time": [1.0] * len(folds)},
                                  source=source, tags=tags or {})).id


def _old_metadata(graph: KnowledgeGraph) -> tuple[pd.DataFrame, pd.DataFrame]:
    """raw and norm as load_metadata computed them before reliability: plain means."""
    index = run_index(graph.store)
    runs = index.with_status("completed")[["run", "task", "config"]]
    tasks = pd.DataFrame(graph.store.select("SELECT ?t ?d WHERE { ?t mls:definedOn ?d }"))
    tasks = pd.DataFrame({"task": tasks["t"].str.rsplit("/", n=1).str[-1],
                          "dataset": tasks["d"].str.rsplit("/", n=1).str[-1]})
    scores = index.scores[index.scores["measure"] == "roc_auc"]
    df = runs.merge(tasks, on="task").merge(scores, on="run")
    per_task = df.groupby(["dataset", "task", "config"], as_index=False)["value"].mean()
    raw = per_task.pivot_table(index="dataset", columns="config", values="value", aggfunc="mean")
    return raw, normalise_scores(raw, pd.Series(True, index=raw.index), "rank")


def _fill(graph: KnowledgeGraph, shared: Path) -> list:
    tasks = [_task(graph, shared, "credit.g"), _task(graph, shared, "diabetes")]
    rng = np.random.default_rng(0)
    for t in tasks:
        for f in FAMILIES:
            for _ in range(2):  # two seed runs of each pair: averaged
                _log(graph, t, f, list(rng.uniform(0.6, 0.9, 5)))
    return tasks


def test_a_graph_of_seed_protocol_runs_gives_the_unweighted_views(graph: KnowledgeGraph,
                                                                  shared: Path) -> None:
    _fill(graph, shared)
    meta = load_metadata(graph, "classification", cache=False)
    raw, norm = _old_metadata(graph)
    assert meta.reliability is None
    pd.testing.assert_frame_equal(meta.raw, raw, check_exact=True)
    pd.testing.assert_frame_equal(meta.norm, norm, check_exact=True)
    perf = performance_table(graph)
    assert (perf["reliability"] == 1.0).all() and (perf["weight"] == 2.0).all()


def test_a_cell_is_the_weighted_mean_of_its_runs(graph: KnowledgeGraph, shared: Path) -> None:
    task = _task(graph, shared, "credit.g")
    _log(graph, task, "knn", [0.8] * 5)                              # weight 1
    _log(graph, task, "knn", [0.5], source="cli")                    # 0.5 x 0.2 = 0.1
    _log(graph, task, "linear", [0.6], source="mlflow:x")            # 0.1
    _log(graph, task, "random_forest", [0.7] * 5, source="mlflow:y",
         tags={"reliability": "1"})                                  # set by who logged it
    outcome = _log(graph, task, "extra_trees", [0.9], source="api")  # an outcome: 1 x 0.2
    graph.store.add([Quad(entity("run", outcome), MKG.tag, Literal("recommendation=r1"), DefaultGraph())])
    index = run_index(graph.store).runs.set_index("config")
    assert set(index["source"]) == {"seed", "cli", "mlflow:x", "mlflow:y", "api"}
    assert sorted(index["folds"]) == [1, 1, 1, 5, 5]
    assert set(index["reliability_tag"].dropna()) == {"1"}
    assert list(index.loc[index["outcome"], "source"]) == ["api"]
    perf = performance_table(graph).set_index("family")
    assert perf.loc["knn", "value"] == pytest.approx((0.8 + 0.1 * 0.5) / 1.1)
    assert perf.loc["knn", "reliability"] == 1.0
    assert perf.loc["linear", "value"] == pytest.approx(0.6)  # one run: its own score
    assert perf.loc["linear", "reliability"] == pytest.approx(0.1)
    assert perf.loc["random_forest", "reliability"] == 1.0
    assert perf.loc["extra_trees", "reliability"] == pytest.approx(0.2)


def test_weak_cells_are_shrunk_towards_the_configurations_score_elsewhere() -> None:
    norm = pd.DataFrame([[1.0, 0.0], [0.0, 1.0], [0.2, 0.6]], index=["a", "b", "c"],
                        columns=["x", "y"])
    rho = pd.DataFrame([[1.0, 1.0], [1.0, 1.0], [0.25, 1.0]], index=norm.index, columns=norm.columns)
    # the reliability itself as the share of the measured score (kappa = infinity)
    out = shrink_to_prior(norm, rho, noise_ratio=float("inf"))
    # x on c: 0.25 x 0.2 + 0.75 x (mean of x on a and b, weighted by their reliability: 0.5)
    assert out.loc["c", "x"] == pytest.approx(0.25 * 0.2 + 0.75 * 0.5)
    pd.testing.assert_frame_equal(out.drop(index="c"), norm.drop(index="c"))
    assert out.loc["c", "y"] == 0.6
    # the prior weighs the other datasets by reliability: a weak cell counts less in it
    rho2 = rho.copy()
    rho2.loc["b", "x"] = 0.5
    assert shrink_to_prior(norm, rho2, noise_ratio=float("inf")).loc["c", "x"] == pytest.approx(
        0.05 + 0.75 * (1.0 / 1.5))
    # the default: the empirical-Bayes factor w (1 + k) / (w + k), 1 for a full run
    b = 0.25 * (1 + NOISE_RATIO) / (0.25 + NOISE_RATIO)
    assert shrinkage(1.0) == 1.0 and 0.25 < b < 1.0
    assert shrink_to_prior(norm, rho).loc["c", "x"] == pytest.approx(b * 0.2 + (1 - b) * 0.5)
    assert shrink_to_prior(norm, rho, noise_ratio=0.0).loc["c", "x"] == pytest.approx(0.2)
    # nothing to lean on elsewhere: the cell keeps its score
    lone = shrink_to_prior(norm[["x"]].iloc[[2]], rho[["x"]].iloc[[2]])
    assert lone.iloc[0, 0] == 0.2


def test_load_metadata_shrinks_weak_cells_and_keeps_raw(graph: KnowledgeGraph, shared: Path) -> None:
    tasks = _fill(graph, shared)
    _log(graph, tasks[0], "knn", [0.99], source="cli")        # a strong + a weak run: weighted
    third = _task(graph, shared, "prnn_synth", target="yc")
    _log(graph, third, "knn", [0.95], source="cli")
    _log(graph, third, "linear", [0.70] * 5)
    meta = load_metadata(graph, "classification", cache=False)
    raw, _ = _old_metadata(graph)
    norm = normalise_scores(meta.raw, pd.Series(True, index=meta.raw.index), "rank")
    assert meta.reliability is not None
    knn = meta.raw.columns[[meta.families[c] == "knn" for c in meta.raw.columns]][0]
    d3 = third.dataset_id
    assert meta.reliability.loc[d3, knn] == pytest.approx(0.1)
    assert meta.raw.loc[d3, knn] == 0.95  # raw as measured
    d1 = tasks[0].dataset_id  # a seed run of weight 1 twice and a weak one: weighted mean
    assert meta.reliability.loc[d1, knn] == 1.0
    assert meta.raw.loc[d1, knn] != raw.loc[d1, knn]
    # norm of the weak cell: b x its rank + (1 - b) x knn's mean rank on the other datasets
    prior = norm.drop(index=d3)[knn].mean()
    b = shrinkage(0.1)
    assert meta.norm.loc[d3, knn] == pytest.approx(b * norm.loc[d3, knn] + (1 - b) * prior)
    assert meta.norm.loc[d3, knn] != pytest.approx(norm.loc[d3, knn])
    rel = relative_scores(meta)
    assert rel.shape == meta.raw.shape and np.isfinite(rel.loc[d3, knn])
    assert meta.drop([d3]).reliability.shape[0] == len(meta.datasets) - 1
    # a learner fits each cell's own score (not the shrunk one), a weak cell at the
    # empirical-Bayes factor of its reliability, every other cell at 1
    own, weights = learning_targets(meta)
    unshrunk = relative_scores(replace(meta, reliability=None), floor=-1.0)
    pd.testing.assert_frame_equal(own, unshrunk)
    assert own.loc[d3, knn] != pytest.approx(relative_scores(meta, floor=-1.0).loc[d3, knn])
    assert weights.loc[d3, knn] == pytest.approx(shrinkage(0.1))
    assert (weights.drop(index=d3) == 1.0).all().all()


def test_without_weak_cells_a_learner_fits_the_relative_scores_unweighted(
        graph: KnowledgeGraph, shared: Path) -> None:
    _fill(graph, shared)
    meta = load_metadata(graph, "classification", cache=False)
    own, weights = learning_targets(meta)
    assert weights is None
    pd.testing.assert_frame_equal(own, relative_scores(meta, floor=-1.0))


def test_the_ranker_learns_weak_cells_own_scores_weighted_and_the_portfolio_the_shrunk_ones(
        graph: KnowledgeGraph, shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from metakg.metalearner import MetaRecommender, Portfolio, Ranker

    _fill(graph, shared)
    third = _task(graph, shared, "prnn_synth", target="yc")
    _log(graph, third, "knn", [0.95], source="cli")                  # weak: w = 0.5 x 1/5
    for family in ("linear", "random_forest"):
        _log(graph, third, family, [0.7] * 5)
    seen: dict[str, object] = {}
    ranker_fit, portfolio_fit = Ranker.fit, Portfolio.fit

    def ranker_spy(self, X, relative, sample_weight=None):
        seen["targets"], seen["weights"] = np.asarray(relative), sample_weight
        return ranker_fit(self, X, relative, sample_weight)

    def portfolio_spy(self, rows, *args, **kwargs):
        seen["rows"] = rows
        return portfolio_fit(self, rows, *args, **kwargs)

    monkeypatch.setattr(Ranker, "fit", ranker_spy)
    monkeypatch.setattr(Portfolio, "fit", portfolio_spy)
    meta = load_metadata(graph, "classification", cache=False)
    model = MetaRecommender().fit(meta)
    own, _ = learning_targets(meta)
    cells = own.reindex(columns=model.config_ids_).stack().dropna()
    np.testing.assert_allclose(seen["targets"], cells.to_numpy())
    weights = np.asarray(seen["weights"])
    assert sorted(weights)[0] == pytest.approx(shrinkage(0.1)) and (np.sort(weights)[1:] == 1.0).all()
    shrunk = relative_scores(meta, floor=-1.0).reindex(columns=model.config_ids_)
    pd.testing.assert_frame_equal(seen["rows"].loc[shrunk.index], shrunk)
    # a graph of full runs only: the ranker's rows are unweighted
    seen.clear()
    MetaRecommender().fit(replace(meta, reliability=None))
    assert seen["weights"] is None
