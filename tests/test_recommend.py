"""The meta-learner: recommendations that follow similar datasets, with evidence; the CLI."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from metakg.kg import InvalidData, KnowledgeGraph, MemoryStore, RunInput, read_table
from metakg.kg.ingest import read_manifest
from metakg.metalearner import (
    EnsembleRecommender,
    GreedyPortfolioRecommender,
    NearestDatasetsRecommender,
    Query,
    SurrogatePortfolioRecommender,
    SurrogateRecommender,
    load_metadata,
    recommend,
)
from metakg.metalearner.characterise import characterise
from metakg.metalearner.evaluation import lodo, summarise
from metakg.metalearner.metafeatures import compute_metafeatures
from metakg.metalearner.recommend import recommend_from_metafeatures
from metakg.metalearner.recommender import MetaRecommender
from metakg.runner import build_estimator, portfolio

BINARY = ["breast.cancer", "kr.vs.kp", "credit.g", "tic.tac.toe", "mushroom", "sick",
          "diabetes", "ionosphere", "sonar", "spambase", "heart.statlog", "vote"]
CONFIGS = portfolio(20)
DUPLICATE = {"family": "linear", "params": {"C": 1.0001, "l1_ratio": 0.0, "scaler": "standard"}}


def synthetic_score(frac_cat: float, config: dict, rng: np.random.Generator) -> float:
    """Linear models win on mostly-categorical tables, kNN on numeric ones."""
    fam = config["family"]
    base = 0.70 + 0.02 * rng.random()
    if fam == "linear":
        base += 0.2 if frac_cat > 0.5 else -0.1
    if fam == "knn":
        base += 0.2 if frac_cat <= 0.5 else -0.1
    return min(base, 0.99)


class _FixedSurrogate(SurrogateRecommender):
    """A surrogate that predicts a fixed profile, whatever the query."""

    def __init__(self, *, profile: dict[str, float] | None = None) -> None:
        self.profile = profile

    def _fit(self, meta: object) -> None:
        pass

    def score(self, query: Query) -> object:
        import pandas as pd

        return pd.Series(self.profile).reindex(self.config_ids_)


class _TopSurrogate(SurrogateRecommender):
    """A surrogate that predicts fixed relative scores, expressed in the 'top' target (T = 3)."""

    def __init__(self, *, relative: dict[str, float] | None = None) -> None:
        self.relative_scores = relative
        self.target, self.temperature = "top", 3.0

    def get_params(self, deep: bool = True) -> dict:
        return {"relative": self.relative_scores}

    def _fit(self, meta: object) -> None:
        pass

    def score(self, query: Query) -> object:
        import pandas as pd

        rel = pd.Series(self.relative_scores).reindex(self.config_ids_)
        return np.exp(self.temperature * (rel - 1.0))


@pytest.fixture(scope="module")
def kg(shared: Path) -> KnowledgeGraph:
    rows = {r["name"]: r for r in read_manifest(shared / "manifest.csv")}
    graph = KnowledgeGraph(MemoryStore())
    rng = np.random.default_rng(0)
    for name in [n for n in BINARY if n in rows][:10]:
        df = read_table(shared / rows[name]["file"])
        target = rows[name]["target"]
        ds = graph.add_dataset(df, name=name, target=target, description=rows[name]["description"])
        mf = characterise(graph, ds, df, target, "classification", text=False)
        task = graph.add_task(ds, target=target, task_type="classification", n_classes=2, folds=3)
        runs = []
        for cfg in [*CONFIGS, DUPLICATE]:
            s = synthetic_score(mf.values["frac_cat"] or 0.0, cfg, rng)
            if cfg is DUPLICATE:
                s = synthetic_score(mf.values["frac_cat"] or 0.0, CONFIGS[6], np.random.default_rng(1))
            runs.append(RunInput(task_id=task.id, config=cfg,
                                 fold_scores={"roc_auc": [s - 0.01, s, s + 0.01],
                                              "fit_time": [0.1, 0.1, 0.1]}))
        graph.log_runs(runs)
    return graph


def _tables(shared: Path) -> tuple[object, object]:
    cat_table = read_table(shared / "arff" / "car.arff.gz")  # all-categorical, not in the graph
    cat_table["class"] = (cat_table["class"] == "unacc").map({True: "no", False: "yes"})
    num_table = read_table(shared / "arff" / "banknote.authentication.arff.gz") if (
        shared / "arff" / "banknote.authentication.arff.gz").exists() else read_table(
        shared / "arff" / "pima.arff.gz" if (shared / "arff" / "pima.arff.gz").exists()
        else shared / "arff" / "diabetes.arff.gz")
    return cat_table, num_table


@pytest.mark.parametrize("make", [
    lambda: NearestDatasetsRecommender(k=3, features=("frac_cat", "frac_num", "nr_cat")),
    lambda: SurrogateRecommender(family_probe_metrics=()),
    lambda: SurrogateRecommender(target="rank", family_probe_metrics=()),
    lambda: SurrogateRecommender(n_bags=3),
    lambda: SurrogatePortfolioRecommender(),
    lambda: SurrogatePortfolioRecommender(first="blend", surrogate=SurrogateRecommender(n_bags=2)),
    lambda: MetaRecommender(),
], ids=["nearest", "surrogate", "surrogate-rank-target", "surrogate-bagged", "surrogate-portfolio",
        "surrogate-portfolio-blend-first", "meta-recommender"])
def test_recommenders_follow_similar_datasets(kg: KnowledgeGraph, shared: Path, make: object) -> None:
    """Linear models won on the categorical tables, kNN on the numeric ones: a new table of
    either kind gets that family first. (Two lone surrogates without the family probe gaps:
    here scores follow frac_cat alone, and on ten tables the gaps are a spurious signal it
    can pick up; the portfolio's first pick never reads them.)"""
    meta = load_metadata(kg, "classification", "roc_auc")
    rec = make().fit(meta)  # type: ignore[operator]
    for values, family in _query_metafeatures(shared):
        top = rec.score(Query(dict(values))).sort_values(ascending=False).index[0]
        assert meta.families[top] == family


def _query_values(shared: Path, which: int) -> dict[str, float | None]:
    """The meta-features of ``_tables(shared)[which]`` (0: categorical, 1: numeric), a fresh copy."""
    return dict(_query_metafeatures(shared)[which][0])


@functools.cache
def _query_metafeatures(shared: Path) -> tuple[tuple[tuple[tuple[str, float | None], ...], str], ...]:
    """The two new tables' meta-features (computed once for every recommender) and the family
    that should come first for each."""
    cat_table, num_table = _tables(shared)
    out = []
    for table, family in [(cat_table, "linear"), (num_table, "knn")]:
        target = table.columns[-1]
        values = compute_metafeatures(table, target, task_type="classification").values
        out.append((tuple(values.items()), family))
    return tuple(out)


def test_a_bagged_surrogate_predicts_the_mean_of_its_seeds_models(kg: KnowledgeGraph, shared: Path) -> None:
    """Bag ``b`` is the single model with seed ``random_state + b``; the bag predicts their mean."""

    meta = load_metadata(kg, "classification", "roc_auc")
    q = Query(_query_values(shared, 0))
    bag = SurrogateRecommender(n_bags=3, random_state=4).fit(meta)
    singles = [SurrogateRecommender(random_state=4 + b, n_bags=1).fit(meta).score(q) for b in range(3)]
    assert len(bag.models_) == 3 and bag.model_ is bag.models_[0]
    np.testing.assert_allclose(bag.score(q).to_numpy(), np.mean(singles, axis=0), rtol=1e-9)
    assert not np.allclose(singles[0], singles[1])  # the seeds do differ
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match="n_bags must be a positive integer"):
            SurrogateRecommender(n_bags=bad).fit(meta)  # type: ignore[arg-type]


def test_the_surrogate_scores_with_its_compiled_forest_or_else_its_boosters(
        kg: KnowledgeGraph, shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled forest gives the boosters' own mean prediction; boosters it cannot compile
    (trees of more than 64 leaves: tests/test_candidate_forest.py) predict themselves, with
    the same result."""
    from metakg.metalearner.recommenders import CandidateForest
    from metakg.metalearner.recommenders.landmark_contrasts import query_contrasts

    meta = load_metadata(kg, "classification", "roc_auc")
    values = _query_values(shared, 0)
    params = {"n_bags": 2, "n_estimators": 30, "contrast_metrics": ("roc_auc",),
              "probe_metrics": (), "family_probe_metrics": ()}
    compiled = SurrogateRecommender(**params).fit(meta)

    def too_wide(*args: object, **kwargs: object) -> CandidateForest:
        raise ValueError("CandidateForest compiles trees of up to 64 leaves")

    monkeypatch.setattr(CandidateForest, "compile", too_wide)
    boosters = SurrogateRecommender(**params).fit(meta)
    assert compiled.forest_ is not None and boosters.forest_ is None
    m = np.array([np.nan if values.get(f) is None else values[f] for f in compiled.features_],
                 dtype=float)
    X = np.hstack([np.tile(np.concatenate([m, query_contrasts(values)]), (len(compiled.config_ids_), 1)),
                   compiled.config_matrix_.to_numpy()])
    expected = np.mean([model.predict(X) for model in compiled.models_], axis=0)
    for surrogate in (compiled, boosters):
        np.testing.assert_allclose(surrogate.score(Query(values)).to_numpy(), expected,
                                   rtol=0, atol=1e-12)


def test_landmark_contrasts_are_differences_of_the_cheap_models_scores() -> None:
    from metakg.metalearner.recommenders import LANDMARK_CONTRASTS, landmark_contrasts
    from metakg.metalearner.recommenders.landmark_contrasts import query_contrasts

    # 1nn, stump, naive Bayes, LDA, ridge: a classification table has no ridge landmarker
    rows = np.array([[0.70, 0.60, 0.75, 0.90, np.nan], [np.nan] * 5])
    out = dict(zip(LANDMARK_CONTRASTS, landmark_contrasts(rows)[0], strict=True))
    assert out["lm_lda-lm_ridge"] != out["lm_lda-lm_ridge"]  # NaN where one is missing
    assert out["lm_1nn-lm_lda"] == pytest.approx(-0.20) and out["lm_stump-lm_naive_bayes"] == pytest.approx(-0.15)
    assert out["lm_best"] == pytest.approx(0.90) and out["lm_best-lm_stump"] == pytest.approx(0.30)
    assert np.isnan(landmark_contrasts(rows)[1]).all()  # nothing known: nothing made up
    q = query_contrasts({"lm_1nn": 0.70, "lm_stump": 0.60, "lm_naive_bayes": 0.75, "lm_lda": 0.90})
    np.testing.assert_array_equal(q, landmark_contrasts(rows)[0])


def test_surrogate_learns_landmark_contrasts_for_its_contrast_metrics(kg: KnowledgeGraph,
                                                                     shared: Path) -> None:
    """With contrasts on, the surrogate is the one fitted on the meta-features plus contrast
    columns (training rows and queries get the same values); off for other metrics."""
    from dataclasses import replace

    import pandas as pd

    from metakg.metalearner.recommenders import LANDMARK_CONTRASTS, landmark_contrasts
    from metakg.metalearner.recommenders.landmark_contrasts import LANDMARKERS
    from metakg.metalearner.recommenders.nearest import DEFAULT_FEATURES

    meta = load_metadata(kg, "classification", "roc_auc")
    assert not SurrogateRecommender().fit(meta).contrasts_  # the default: log loss only
    on = SurrogateRecommender(n_bags=2, contrast_metrics=("roc_auc",), probe_metrics=(),
                              family_probe_metrics=()).fit(meta)
    assert on.contrasts_
    assert on.model_.n_features_in_ == len(on.features_) + len(LANDMARK_CONTRASTS) + on.config_matrix_.shape[1]
    mf = meta.metafeatures
    extra = pd.DataFrame(landmark_contrasts(mf.reindex(columns=list(LANDMARKERS)).to_numpy(dtype=float)),
                         index=mf.index, columns=list(LANDMARK_CONTRASTS))
    by_hand = SurrogateRecommender(n_bags=2, contrast_metrics=(), probe_metrics=(), family_probe_metrics=(),
                                   features=DEFAULT_FEATURES + LANDMARK_CONTRASTS
                                   ).fit(replace(meta, metafeatures=pd.concat([mf, extra], axis=1)))
    values = _query_values(shared, 1)
    with_contrasts = {**values, **dict(zip(LANDMARK_CONTRASTS, landmark_contrasts(
        np.array([[values.get(n, np.nan) for n in LANDMARKERS]], dtype=float))[0], strict=True))}
    np.testing.assert_allclose(on.score(Query(values)).to_numpy(),
                               by_hand.score(Query(with_contrasts)).to_numpy(), rtol=1e-12)


def test_probe_features_are_the_probes_their_best_and_gaps() -> None:
    from metakg.metalearner.metafeatures.probing import PROBES
    from metakg.metalearner.recommenders.probe_contrasts import PROBE_FEATURES, probe_features, query_probe_features

    values = {"pr_boosting": 0.90, "pr_forest": 0.88, "pr_linear": 0.80, "pr_lda": 0.82,
              "pr_svm": 0.85, "pr_knn": 0.75, "pr_tree": 0.70}  # naive Bayes missing
    out = dict(zip(PROBE_FEATURES, query_probe_features(values), strict=True))
    assert out["pr_best"] == pytest.approx(0.90)
    assert out["pr_svm-pr_best"] == pytest.approx(-0.05) and out["pr_boosting-pr_best"] == 0.0
    assert out["pr_linear-trees"] == pytest.approx(0.85 - 0.90)
    assert np.isnan(out["pr_naive_bayes"]) and np.isnan(out["pr_naive_bayes-pr_best"])
    assert np.isnan(probe_features(np.full((1, len(PROBES)), np.nan))).all()  # nothing made up


def test_surrogate_learns_probes_for_its_probe_metrics(kg: KnowledgeGraph, shared: Path) -> None:
    """With probes on (the default for ROC AUC), the surrogate is the one fitted on the
    meta-features plus the probe features; off for other metrics."""
    from dataclasses import replace

    import pandas as pd

    from metakg.metalearner.metafeatures.probing import PROBES
    from metakg.metalearner.recommenders.nearest import DEFAULT_FEATURES
    from metakg.metalearner.recommenders.probe_contrasts import PROBE_FEATURES, table_probe_features

    meta = load_metadata(kg, "classification", "roc_auc")
    on = SurrogateRecommender(n_bags=2, family_probe_metrics=()).fit(meta)
    assert on.probes_ and not SurrogateRecommender(probe_metrics=("log_loss",)).fit(meta).probes_
    assert on.model_.n_features_in_ == len(on.features_) + len(PROBE_FEATURES) + on.config_matrix_.shape[1]
    mf = meta.metafeatures
    assert mf["pr_boosting"].notna().all()  # the graph's tables were probed when characterised
    extra = table_probe_features(mf).drop(columns=list(PROBES))  # the probes themselves: in mf
    by_hand = SurrogateRecommender(n_bags=2, probe_metrics=(), family_probe_metrics=(),
                                   features=DEFAULT_FEATURES + PROBE_FEATURES,
                                   ).fit(replace(meta, metafeatures=pd.concat([mf, extra], axis=1)))
    values = _query_values(shared, 1)
    with_probes = {**values, **table_probe_features(pd.DataFrame([values])).drop(
        columns=list(PROBES)).iloc[0].to_dict()}
    np.testing.assert_allclose(on.score(Query(values)).to_numpy(),
                               by_hand.score(Query(with_probes)).to_numpy(), rtol=1e-12)


def test_family_probe_gaps_are_each_family_s_probe_against_the_best() -> None:
    from metakg.metalearner.metafeatures.probing import PROBES
    from metakg.metalearner.recommenders import FAMILY_PROBES, family_probe_gaps

    values = {"pr_boosting": 0.90, "pr_forest": 0.88, "pr_linear": 0.80, "pr_lda": 0.82,
              "pr_svm": 0.85, "pr_knn": 0.75, "pr_tree": 0.70}  # naive Bayes missing
    row = np.array([[values.get(p, np.nan) for p in PROBES]])
    families = ["linear", "catboost", "extra_trees", "mlp", "knn", "unknown"]
    gaps = family_probe_gaps(np.vstack([row, np.full_like(row, np.nan)]), families)
    np.testing.assert_allclose(gaps[0], [0.80 - 0.90, 0.0, 0.88 - 0.90, 0.85 - 0.90, 0.75 - 0.90, np.nan])
    assert np.isnan(gaps[1]).all()  # a table without probes: nothing made up
    from metakg.kg.spaces import FAMILIES

    assert set(FAMILY_PROBES) == set(FAMILIES)  # every family the runner tunes has a probe


def test_family_gap_columns_split_the_gap_by_probe_group() -> None:
    """The shared gap first, then one column per probe group holding only its own
    configurations' gaps; a family without a probe group gets the shared column only."""
    from metakg.metalearner.recommenders import FAMILY_PROBE_GROUPS, family_gap_columns

    assert FAMILY_PROBE_GROUPS == (("pr_boosting",), ("pr_forest",), ("pr_linear",), ("pr_svm",),
                                   ("pr_knn",), ("pr_linear", "pr_svm"))
    gaps = np.array([-0.1, 0.0, -0.02, -0.05, np.nan])
    out = family_gap_columns(gaps, ["linear", "catboost", "extra_trees", "lightgbm", "unknown"])
    nan = np.nan
    expected = [[-0.1, nan, nan, -0.1, nan, nan, nan],
                [0.0, 0.0, nan, nan, nan, nan, nan],
                [-0.02, nan, -0.02, nan, nan, nan, nan],
                [-0.05, -0.05, nan, nan, nan, nan, nan],  # LightGBM shares CatBoost's group
                [nan, nan, nan, nan, nan, nan, nan]]
    np.testing.assert_array_equal(out, np.array(expected))
    with pytest.raises(ValueError, match="3 gaps but 2 families"):
        family_gap_columns(np.zeros(3), ["linear", "svm"])


def test_surrogate_learns_each_configuration_s_family_probe_gap(kg: KnowledgeGraph, shared: Path) -> None:
    """For ROC AUC (the default) the surrogate reads the configuration's family probe gap on
    the table, shared and split by probe group; it predicts from exactly those inputs."""
    from metakg.metalearner.metafeatures.probing import PROBES
    from metakg.metalearner.recommenders import FAMILY_PROBE_GROUPS, family_gap_columns, family_probe_gaps
    from metakg.metalearner.recommenders.probe_contrasts import query_probe_features

    meta = load_metadata(kg, "classification", "roc_auc")
    on = SurrogateRecommender(n_bags=2).fit(meta)
    off = SurrogateRecommender(n_bags=2, family_probe_metrics=()).fit(meta)
    assert on.family_probes_ and not off.family_probes_
    shared_only = SurrogateRecommender(n_bags=1, split_family_gaps=False).fit(meta)
    assert shared_only.model_.n_features_in_ == off.model_.n_features_in_ + 1
    assert on.model_.n_features_in_ == off.model_.n_features_in_ + 1 + len(FAMILY_PROBE_GROUPS)
    from dataclasses import replace

    unprobed = replace(meta, metafeatures=meta.metafeatures.drop(columns=list(PROBES)))
    assert not SurrogateRecommender(n_bags=1).fit(unprobed).family_probes_  # nothing to learn
    assert not SurrogateRecommender(n_bags=1, family_probe_metrics=("log_loss",)).fit(meta).family_probes_
    values = _query_values(shared, 1)
    m = np.concatenate([[values.get(f) for f in on.features_], query_probe_features(values)]).astype(float)
    families = [meta.configs[c]["family"] for c in on.config_ids_]
    gap = family_probe_gaps(np.array([[values[p] for p in PROBES]], dtype=float), families)[0]
    X = np.column_stack([np.tile(m, (len(gap), 1)), on.config_matrix_.to_numpy(),
                         family_gap_columns(gap, families)])
    expected = sum(model.predict(X) for model in on.models_) / 2
    np.testing.assert_allclose(on.score(Query(values)).to_numpy(), expected, rtol=1e-12)
    assert not np.allclose(on.score(Query(values)).to_numpy(), off.score(Query(values)).to_numpy())


def test_first_pick_comes_from_the_surrogate_without_family_probe_gaps(kg: KnowledgeGraph,
                                                                      shared: Path) -> None:
    """By default the first configuration is chosen as a portfolio over a surrogate without the
    family probe gaps would choose it; the rest follow the profile of the one with them (here
    without the probe hedge, which picks after the first by the probes: tested above)."""

    meta = load_metadata(kg, "classification", "roc_auc")
    rec = SurrogatePortfolioRecommender(hedges=0, surrogate=SurrogateRecommender(n_bags=2)).fit(meta)
    assert rec.surrogate_.family_probes_ and not rec.first_surrogate_.family_probes_
    query = Query(_query_values(shared, 1))
    plain = SurrogatePortfolioRecommender(surrogate=SurrogateRecommender(
        n_bags=2, family_probe_metrics=())).fit(meta)
    gaps_too = SurrogatePortfolioRecommender(first_family_gaps=True, surrogate=SurrogateRecommender(
        n_bags=2)).fit(meta)
    assert gaps_too.first_surrogate_ is gaps_too.surrogate_
    order = rec.score(query).sort_values(ascending=False).index
    assert order[0] == plain.score(query).idxmax()  # the first as without the gaps
    predicted = rec.surrogate_.score(query).reindex(rec.config_index_).to_numpy()
    from metakg.metalearner.recommenders._greedy import greedy_order

    rest = greedy_order(rec.relative_, rec.size, weights=rec.weights_for(predicted),
                        first=rec.config_ids_.index(order[0]))
    assert list(order[:rec.size]) == [rec.config_ids_[i] for i in rest]  # the rest with them


def test_default_recommendation(kg: KnowledgeGraph, shared: Path) -> None:
    cat_table, _ = _tables(shared)
    res = recommend(cat_table, target="class", k=3, graph=kg, text=False)
    assert res.metric == "roc_auc" and res.task["task_type"] == "classification"
    assert len(res.recommendations) == 3
    assert {r.family for r in res.recommendations} & {"linear"}  # the winning family is in the top 3


def test_each_recommendation_has_evidence_and_reason(kg: KnowledgeGraph, shared: Path) -> None:
    df = read_table(shared / "arff" / "car.arff.gz")
    df["class"] = (df["class"] == "unacc").astype(int)  # a 0/1 integer target: classification
    res = recommend(df, target="class", k=5, graph=kg, text=False)
    doc = res.to_json()
    assert [r["rank"] for r in doc["recommendations"]] == [1, 2, 3, 4, 5]
    top = doc["recommendations"][0]
    assert set(top) >= {"rank", "config", "expected_score", "evidence", "reason", "interval"}
    lo, hi = top["interval"]
    assert lo <= top["expected_score"] <= hi
    assert len(top["evidence"]) == 3 and all(0 < e["similarity"] <= 1 for e in top["evidence"])
    assert all(e["run_id"] for e in top["evidence"])
    assert top["family"] in top["reason"] and top["evidence"][0]["dataset"] in top["reason"]
    # no two near-identical configurations in a top-k
    ids = [r["config"] for r in doc["recommendations"]]
    assert not (DUPLICATE in ids and CONFIGS[6] in ids)
    # the configuration turns into a working estimator
    est = build_estimator(top["config"]).fit(df.drop(columns="class"), df["class"])
    assert est.predict(df.drop(columns="class").iloc[:5]).shape == (5,)


def test_filters_and_errors(kg: KnowledgeGraph, shared: Path) -> None:
    df = read_table(shared / "arff" / "car.arff.gz")
    df["class"] = (df["class"] == "unacc").astype(int)
    res = recommend(df, target="class", k=2, families=["random_forest"], graph=kg, text=False)
    assert {r.family for r in res.recommendations} == {"random_forest"}
    with pytest.raises(InvalidData, match="No configuration passes"):
        recommend(df, target="class", families=["nope"], graph=kg, text=False)
    with pytest.raises(InvalidData, match="Did you mean 'class'"):
        recommend(df, target="clas", graph=kg, text=False)
    with pytest.raises(InvalidData, match="no regression runs"):
        recommend(df, target="class", task_type="regression", graph=kg, text=False)
    with pytest.raises(InvalidData, match="not numeric"):
        recommend(read_table(shared / "arff" / "car.arff.gz"), target="class",
                  task_type="regression", graph=kg, text=False)


def test_portfolio_and_lodo_evaluation(kg: KnowledgeGraph) -> None:
    # min-max scaling keeps the synthetic gaps (+0.2 for the winning family) visible
    meta = load_metadata(kg, "classification", "roc_auc", normalisation="minmax", cache=False)
    assert meta.raw.shape == (10, 21)
    port = GreedyPortfolioRecommender(size=3).fit(meta)
    first_two = {meta.families[c] for c in port.order_[:2]}
    assert first_two == {"linear", "knn"}  # covers both kinds of table
    near = lambda: NearestDatasetsRecommender(k=3, features=("frac_cat", "frac_num", "nr_cat"))  # noqa: E731
    res = lodo(meta, {"nearest": near, "portfolio": GreedyPortfolioRecommender},
               ks=(1, 3), progress=False)
    table = summarise(res, (1, 3))
    # right family almost always (the noise within a family keeps it below 1)
    assert table.loc["nearest", ("best@3", "mean")] > 0.8
    assert table.loc["nearest", ("best@1", "mean")] > table.loc["portfolio", ("best@1", "mean")]
    q = Query(metafeatures=meta.metafeatures.iloc[0].to_dict(), dataset_id=meta.datasets[0])
    assert meta.datasets[0] not in NearestDatasetsRecommender().fit(meta).neighbours(q).index


def test_the_default_chooses_among_a_familys_configurations_as_its_portfolio_member_does(
        kg: KnowledgeGraph) -> None:
    meta = load_metadata(kg, "classification", "roc_auc")
    rec = EnsembleRecommender().fit(meta)
    q = Query(metafeatures=meta.metafeatures.iloc[0].to_dict())
    linear = meta.norm.columns[[meta.families[c] == "linear" for c in meta.norm.columns]]
    assert 1 < len(linear) < meta.norm.shape[1]
    among = rec.score_among(q, linear)
    member = rec.members_["surrogate portfolio"].score_among(q, linear)
    assert among.index.equals(linear)
    assert among.sort_values(kind="stable").index.equals(member.sort_values(kind="stable").index)


@pytest.mark.subprocess
def test_cli_recommend_json_contract(kg: KnowledgeGraph, tmp_path: Path) -> None:
    seed = tmp_path / "seed.nq.gz"
    kg.store.dump(seed)
    env = {**__import__("os").environ, "METAKG_STORE": str(tmp_path / "store"),
           "METAKG_SEED": str(seed)}
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "metakg.api", "recommend",
                        str(root / "data" / "samples" / "credit-g.csv"), "--target", "class",
                        "--k", "3", "--json"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["task"]["task_type"] == "classification" and doc["metric"] == "roc_auc"
    assert [x["rank"] for x in doc["recommendations"]] == [1, 2, 3]
    assert all({"config", "expected_score", "evidence"} <= set(x) for x in doc["recommendations"])
    bad = subprocess.run([sys.executable, "-m", "metakg.api", "recommend",
                          str(root / "data" / "samples" / "credit-g.csv"), "--target", "nope"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and bad.stderr.startswith("error: Column 'nope'")
    assert bad.stderr.count("\n") == 1


@pytest.mark.subprocess
def test_cli_recommend_run_writes_runs_back(kg: KnowledgeGraph, tmp_path: Path) -> None:
    seed = tmp_path / "seed.nq.gz"
    kg.store.dump(seed)
    env = {**__import__("os").environ, "METAKG_STORE": str(tmp_path / "store"), "METAKG_SEED": str(seed),
           "METAKG_CACHE": str(tmp_path / "cache")}
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "metakg.api", "recommend",
                        str(root / "data" / "samples" / "credit-g.csv"), "--target", "class", "--k", "2",
                        "--family", "linear", "--family", "knn", "--run", "--json"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["runs_written"] == 2
    assert all(0.5 < x["observed_score"] < 1.0 for x in doc["recommendations"])
    from metakg.kg import OxigraphStore

    graph = KnowledgeGraph(OxigraphStore(tmp_path / "store"))
    assert len([r for r in graph.runs(dataset="credit-g.csv") if r.source == "runner"]) == 2


def test_top_k_as_a_complementary_set() -> None:
    import pandas as pd

    from metakg.metalearner.knowledge import MetaData
    from metakg.metalearner.selection import select_top_k

    raw = pd.DataFrame({"A": [1.0, 0.0], "B": [0.95, 0.0], "C": [0.0, 1.0]}, index=["n1", "n2"])
    meta = MetaData(task_type="classification", datasets=["n1", "n2"], names={}, raw=raw, norm=raw,
                    metric={}, higher={}, configs={}, families={}, metafeatures=pd.DataFrame())
    scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.1})
    near = pd.Series({"n1": 1.0, "n2": 1.0})
    assert select_top_k(meta, scores, near, 2, coverage=0.0) == ["A", "B"]
    assert select_top_k(meta, scores, near, 2, coverage=1.0) == ["A", "C"]
    assert select_top_k(meta, scores, near, 2, coverage=0.0, too_close=lambda a, b: {a, b} == {"A", "B"}) == ["A", "C"]


def test_local_portfolio_follows_the_query_and_reduces_to_the_plain_portfolio() -> None:
    """With sharpness 0 every training dataset counts the same (the greedy portfolio); with
    a high sharpness the first pick is the best configuration of the most similar dataset."""
    import pandas as pd

    from metakg.metalearner.knowledge import MetaData
    from metakg.metalearner.recommenders import GreedyPortfolioRecommender, LocalPortfolioRecommender

    ids = ["small1", "small2", "big1", "big2", "big3"]
    norm = pd.DataFrame({"A": [1.0, 1.0, 0.0, 0.1, 0.0], "B": [0.0, 0.1, 1.0, 1.0, 1.0],
                         "C": [0.5, 0.5, 0.6, 0.6, 0.6]}, index=ids)
    mf = pd.DataFrame({"log_nr_inst": [2.0, 2.1, 9.0, 9.1, 9.2], "frac_cat": [0.0] * 5}, index=ids)
    meta = MetaData(task_type="classification", datasets=ids, names={}, raw=norm, norm=norm,
                    metric={}, higher={}, configs={}, families={}, metafeatures=mf)
    small = Query({"log_nr_inst": 2.05, "frac_cat": 0.0})
    plain = GreedyPortfolioRecommender().fit(meta).score(small)
    flat = LocalPortfolioRecommender(sharpness=0).fit(meta).score(small)
    assert list(flat.sort_values(ascending=False).index) == list(plain.sort_values(ascending=False).index)
    assert plain.idxmax() == "B"  # three of five datasets prefer B
    assert LocalPortfolioRecommender(sharpness=8).fit(meta).score(small).idxmax() == "A"


def test_relative_scores_put_the_median_at_0_and_the_best_at_1() -> None:
    import pandas as pd

    from metakg.metalearner.knowledge import MetaData, relative_scores

    raw = pd.DataFrame({"A": [0.9, 1.0, np.nan], "B": [0.8, 3.0, 0.5], "C": [0.5, 2.0, 0.5],
                        "D": [np.nan, 9.0, 0.5]}, index=["auc", "rmse", "flat"])
    norm = raw * 0 + 0.5  # NaN where not run
    norm.loc["auc", "D"] = 0.0  # D failed on "auc": counts as its worst score
    meta = MetaData(task_type="classification", datasets=list(raw.index), names={}, raw=raw,
                    norm=norm, metric={}, higher={"auc": True, "rmse": False, "flat": True},
                    configs={}, families={}, metafeatures=pd.DataFrame())
    rel = relative_scores(meta)
    # auc: median of 0.9, 0.8, 0.5, 0.5 (failed) is 0.65, best 0.9
    assert rel.loc["auc"].round(6).tolist() == [1.0, 0.6, -0.6, -0.6]
    # rmse (lower is better): median 2.5, best 1.0
    assert np.allclose(rel.loc["rmse"], [1.0, -1 / 3, 1 / 3, -13 / 3])
    assert rel.loc["flat"].tolist()[1:] == [1.0, 1.0, 1.0] and np.isnan(rel.loc["flat", "A"])
    assert relative_scores(meta, floor=-1.0).loc["rmse", "D"] == -1.0
    from metakg.metalearner.evaluation import normalised_against_median

    assert normalised_against_median(meta, "auc").round(6).tolist() == [1.0, 0.6, -0.6, -0.6]
    from metakg.metalearner.knowledge import scale_anchors

    # an outside score (a baseline not in the matrix) goes on the same scale
    anchors = scale_anchors(meta).round(6)
    assert anchors.loc["auc"].tolist() == [0.65, 0.9] and anchors.loc["rmse"].tolist() == [2.5, 1.0]


def test_surrogate_portfolio_covers_the_datasets_that_behave_like_the_prediction() -> None:
    """First the surrogate's favourite; next what complements it on datasets whose profile
    resembles the prediction, not on the average dataset."""
    import pandas as pd

    from metakg.metalearner.knowledge import MetaData

    # like the prediction (A, B strong; C, D weak): A or B wins
    x = [{"A": 1.0, "B": 0.9, "C": 0.2, "D": 0.0, "E": 0.5},
         {"A": 0.9, "B": 1.0, "C": 0.0, "D": 0.2, "E": 0.5}] * 2
    # unlike it (the majority): C wins
    y = [{"A": 0.6, "B": 0.0, "C": 1.0, "D": 0.3, "E": 0.5}] * 6
    raw = pd.DataFrame(x + y, index=[f"x{i}" for i in range(4)] + [f"y{i}" for i in range(6)])
    meta = MetaData(task_type="classification", datasets=list(raw.index), names={}, raw=raw,
                    norm=raw.rank(axis=1, pct=True), metric={}, higher={},
                    configs={}, families={}, metafeatures=pd.DataFrame(index=raw.index))
    prediction = _FixedSurrogate(profile={"A": 0.9, "B": 0.8, "C": 0.1, "D": 0.2, "E": 0.4})
    rec = SurrogatePortfolioRecommender(tau=10, surrogate=prediction).fit(meta)
    weights = rec.profile_weights(Query())
    assert weights[[f"x{i}" for i in range(4)]].sum() > 0.9
    order = rec.score(Query()).sort_values(ascending=False).index.tolist()
    assert order[:2] == ["A", "B"]
    flat = SurrogatePortfolioRecommender(tau=0, surrogate=prediction).fit(meta)
    assert flat.score(Query()).sort_values(ascending=False).index.tolist()[:2] == ["A", "C"]
    assert rec.get_params()["tau"] == 10 and not hasattr(
        SurrogatePortfolioRecommender(), "surrogate_")  # no work in __init__


def test_prediction_weight_lets_the_surrogates_own_prediction_choose_the_next_trials() -> None:
    """With ``prediction_weight`` the query's predicted relative scores join the greedy step
    as one more row of that weight: a configuration predicted well above the first pick can
    come next even where the similar datasets would rather cover their own odd case."""
    from dataclasses import replace

    import pandas as pd

    from metakg.metalearner.knowledge import MetaData

    # A is best on three datasets, where B comes second; only C rescues d4
    raw = pd.DataFrame([{"A": 1.0, "B": 0.9, "C": 0.5, "D": 0.4, "E": 0.3}] * 3
                       + [{"A": 0.3, "B": 0.4, "C": 1.0, "D": 0.5, "E": 0.6}],
                       index=["d1", "d2", "d3", "d4"])
    meta = MetaData(task_type="classification", datasets=list(raw.index), names={}, raw=raw,
                    norm=raw.rank(axis=1, pct=True), metric={},
                    higher=dict.fromkeys(raw.index, True), configs={}, families={},
                    metafeatures=pd.DataFrame(index=raw.index))
    predicted = {"A": 0.5, "B": 1.0, "C": -1.0, "D": 0.0, "E": 0.0}

    def order(weight: float | dict[str, float] | None) -> list[str]:
        rec = SurrogatePortfolioRecommender(tau=0, first="portfolio", incumbent=None,
                                            prediction_weight=weight,
                                            surrogate=_TopSurrogate(relative=predicted))
        return rec.fit(meta).score(Query()).sort_values(ascending=False).index.tolist()

    # relative scores: d1-d3 A 1, B 0.8, C 0, D -0.2, E -0.4; d4 A -0.4, B -0.2, C 1.
    # After A: C gains (1 - w) / 4 x 1.4 on d4; B gains (1 - w) / 4 x 0.2 there, plus
    # w x (1.0 - 0.5) on the query's own row. w = 0.3: C 0.245 > B 0.185; w = 0.5: B 0.275 > C 0.175
    assert order(0.0)[:3] == ["A", "C", "B"]
    assert order(0.3)[:3] == ["A", "C", "B"]
    assert order(0.5)[:3] == ["A", "B", "C"]
    # a weight per metric (the default: ROC AUC only); these views are ROC AUC ones
    meta = replace(meta, metric=dict.fromkeys(raw.index, "roc_auc"))
    assert order({"roc_auc": 0.5})[:3] == ["A", "B", "C"]
    assert order({"rmse": 0.5})[:3] == ["A", "C", "B"]
    assert order({"*": 0.5})[:3] == ["A", "B", "C"]
    # the default (None): 0.2 for ROC AUC and RMSE, 0 for any other metric
    assert order(None)[:3] == ["A", "C", "B"] and order({"roc_auc": 0.2})[:3] == ["A", "C", "B"]
    default = SurrogatePortfolioRecommender(surrogate=_TopSurrogate(relative=predicted))
    assert default.get_params()["prediction_weight"] is None
    assert default.fit(meta).prediction_weight_ == 0.2
    assert default.fit(replace(meta, metric=dict.fromkeys(raw.index, "rmse"))).prediction_weight_ == 0.2
    assert default.fit(replace(meta, metric=dict.fromkeys(raw.index, "log_loss"))).prediction_weight_ == 0.0
    for bad in (1.0, -0.1, {"roc_auc": 1.5}):
        with pytest.raises(ValueError, match="prediction_weight must be at least 0 and below 1"):
            SurrogatePortfolioRecommender(prediction_weight=bad).fit(meta)


def test_near_best_probes_are_the_single_family_probes_close_to_the_best() -> None:
    from metakg.metalearner.recommenders import HEDGE_PROBES, near_best_probes

    assert HEDGE_PROBES == ("pr_boosting", "pr_forest", "pr_linear", "pr_svm", "pr_knn")
    values = {"pr_boosting": 0.90, "pr_svm": 0.897, "pr_forest": 0.85, "pr_knn": float("nan"),
              "pr_lda": 0.95, "pr_linear": None}  # LDA is no family's probe group
    assert near_best_probes(values, 0.005) == ["pr_boosting", "pr_svm"]
    assert near_best_probes(values, 0.06) == ["pr_boosting", "pr_svm", "pr_forest"]
    assert near_best_probes(values, 0.0) == ["pr_boosting"]
    assert near_best_probes({"pr_lda": 0.9}, 0.1) == [] and near_best_probes({}, 0.1) == []


def test_the_top_k_hedges_over_the_probe_groups_close_to_the_best_probe() -> None:
    """Where another family group's probe is within ``probe_hedge`` of the best, a pick of that
    group follows the first, though the similar datasets would rather have a forest next."""
    from dataclasses import replace

    import pandas as pd

    from metakg.metalearner.knowledge import MetaData

    families = {"B1": "lightgbm", "B2": "xgboost", "F1": "random_forest", "S1": "svm",
                "K1": "knn", "M1": "mlp"}
    raw = pd.DataFrame([{"B1": 1.0, "B2": 0.95, "F1": 0.9, "S1": 0.2, "K1": 0.1, "M1": 0.3},
                        {"B1": 0.9, "B2": 1.0, "F1": 0.8, "S1": 0.3, "K1": 0.2, "M1": 0.1},
                        {"B1": 0.5, "B2": 0.4, "F1": 1.0, "S1": 0.6, "K1": 0.3, "M1": 0.2}],
                       index=["d1", "d2", "d3"])
    meta = MetaData(task_type="classification", datasets=list(raw.index), names={}, raw=raw,
                    norm=raw.rank(axis=1, pct=True), metric=dict.fromkeys(raw.index, "roc_auc"),
                    higher=dict.fromkeys(raw.index, True),
                    configs={c: {"family": f, "params": {}} for c, f in families.items()},
                    families=families, metafeatures=pd.DataFrame(index=raw.index))
    predicted = {"B1": 1.0, "B2": 0.9, "F1": 0.5, "S1": 0.0, "K1": -0.5, "M1": 0.0}
    probes = Query(metafeatures={"pr_boosting": 0.90, "pr_svm": 0.897, "pr_forest": 0.85,
                                 "pr_linear": 0.70, "pr_knn": 0.60})

    def fitted(data: MetaData = meta, **kw: object) -> SurrogatePortfolioRecommender:
        return SurrogatePortfolioRecommender(tau=0, first="surrogate", incumbent=None,
                                             prediction_weight=0.0, **kw,
                                             surrogate=_TopSurrogate(relative=predicted)).fit(data)

    def order(rec: SurrogatePortfolioRecommender, query: Query = probes) -> list[str]:
        return rec.score(query).sort_values(ascending=False).index.tolist()

    plain = order(fitted(hedges=0))
    assert plain[:3] == ["B1", "F1", "B2"]
    default = fitted()
    assert default.probe_hedge_ == 0.005 and default.hedges == 2
    assert order(default)[:3] == ["B1", "S1", "F1"]  # the SVM probe is 0.003 from the best
    assert sorted(order(default)) == sorted(plain)
    # wider: the forest probe is close too, SVM (the better probe) first; one hedge at most
    assert order(fitted(probe_hedge=0.06))[:3] == ["B1", "S1", "F1"]
    assert order(fitted(probe_hedge={"roc_auc": 0.06}, hedges=1))[:3] == ["B1", "S1", "F1"]
    assert order(fitted(probe_hedge=0.0)) == plain  # no other probe that close
    assert order(default, Query()) == plain  # a query without probes is not hedged
    # a metric without a hedge (log loss: its queries are not probed) and a filter without SVMs
    assert fitted(replace(meta, metric=dict.fromkeys(raw.index, "log_loss"))).probe_hedge_ is None
    among = pd.Index(["B1", "B2", "F1", "K1"])
    assert (default.score_among(probes, among).sort_values(ascending=False).index.tolist()
            == fitted(hedges=0).score_among(probes, among).sort_values(ascending=False).index.tolist())
    with_svm = default.score_among(probes, pd.Index(["B1", "F1", "S1"]))
    assert with_svm.sort_values(ascending=False).index.tolist() == ["B1", "S1", "F1"]
    for bad in ({"probe_hedge": -0.1}, {"probe_hedge": {"rmse": -1.0}}):
        with pytest.raises(ValueError, match="probe_hedge must be at least 0"):
            fitted(**bad)
    with pytest.raises(ValueError, match="hedges must be a whole number of at least 0"):
        fitted(hedges=-1)


def test_regime_kernel_weighs_datasets_by_how_close_their_regime_contrasts_are() -> None:
    from metakg.metalearner.recommenders import regime_kernel

    train = np.array([[0.05, 0.0], [0.01, np.nan], [np.nan, np.nan], [-0.05, 0.04]])
    k = regime_kernel(train, np.array([0.05, 0.0]), 0.02)
    np.testing.assert_allclose(k, [1.0, np.exp(-0.04 / 0.02), 0.0, np.exp(-0.07 / 0.02)])
    # only the contrasts the query has count; a query without any has no kernel
    np.testing.assert_allclose(regime_kernel(train, np.array([0.05, np.nan]), 0.02)[:2],
                               [1.0, np.exp(-2.0)])
    assert regime_kernel(train, np.array([np.nan, np.nan]), 0.02) is None
    with pytest.raises(ValueError, match="sigma must be positive"):
        regime_kernel(train, np.array([0.0, 0.0]), 0.0)


def test_each_pick_is_rechosen_within_its_family_by_the_regime_probes() -> None:
    """The portfolio keeps its families in order, but which extra-trees configuration comes
    first is the one that wins on the training datasets whose forest regime contrast is the new
    table's (smoothed trees beat greedy ones there), though the surrogate prefers the other."""
    from dataclasses import replace

    import pandas as pd

    from metakg.metalearner.knowledge import MetaData
    from metakg.metalearner.recommenders import rechoose_within_families

    families = {"E1": "extra_trees", "E2": "extra_trees", "B1": "lightgbm", "K1": "knn"}
    smooth = {"E1": 1.0, "E2": 0.2, "B1": 0.6, "K1": 0.1}  # smoothed trees win
    greedy = {"E1": 0.2, "E2": 1.0, "B1": 0.6, "K1": 0.1}  # fully grown trees win
    raw = pd.DataFrame([smooth, smooth, greedy, greedy], index=["s1", "s2", "g1", "g2"])
    probes = pd.DataFrame({"rp_forest_smooth": [0.90, 0.91, 0.80, 0.81],
                           "rp_forest_greedy": [0.85, 0.86, 0.85, 0.86]}, index=raw.index)
    meta = MetaData(task_type="classification", datasets=list(raw.index), names={}, raw=raw,
                    norm=raw.rank(axis=1, pct=True), metric=dict.fromkeys(raw.index, "roc_auc"),
                    higher=dict.fromkeys(raw.index, True),
                    configs={c: {"family": f, "params": {}} for c, f in families.items()},
                    families=families, metafeatures=probes)
    predicted = {"E1": 0.5, "E2": 1.0, "B1": 0.3, "K1": -0.5}
    like_smooth = Query(metafeatures={"rp_forest_smooth": 0.92, "rp_forest_greedy": 0.87})

    def order(data: MetaData = meta, query: Query = like_smooth, **kw: object) -> list[str]:
        rec = SurrogatePortfolioRecommender(tau=0, first="surrogate", incumbent=None,
                                            prediction_weight=0.0, hedges=0, **kw,
                                            surrogate=_TopSurrogate(relative=predicted)).fit(data)
        return rec.score(query).sort_values(ascending=False).index.tolist()

    plain = order(regime_choice={})
    assert plain[0] == "E2"
    assert order()[0] == "E1"  # the default for ROC AUC: a kernel of width 0.02
    assert sorted(order()) == sorted(plain)
    like_greedy = Query(metafeatures={"rp_forest_smooth": 0.80, "rp_forest_greedy": 0.86})
    assert order(query=like_greedy)[0] == "E2"
    assert order(query=Query()) == plain  # a table without regime probes keeps the picks
    # off for a metric without a width (log loss) and for a graph without regime probes
    assert order(replace(meta, metric=dict.fromkeys(raw.index, "log_loss"))) == plain
    assert order(replace(meta, metafeatures=pd.DataFrame(index=raw.index))) == plain
    assert order(regime_choice={"roc_auc": 0.05})[0] == "E1"
    for bad in (0.0, {"roc_auc": -0.1}):
        with pytest.raises(ValueError, match="regime_choice must be above 0"):
            order(regime_choice=bad)
    # families without regime probes keep their picks, and no configuration comes twice
    relative = raw.to_numpy()
    kernels = {"extra_trees": np.array([1.0, 1.0, 0.0, 0.0])}
    names = list(families)
    picks = rechoose_within_families([1, 0, 3, 2], list(families.values()), relative,
                                     np.full(4, 0.25), kernels)
    assert [names[i] for i in picks] == ["E1", "E2", "K1", "B1"]
    # what the guard kept first stays first (the HGB default, in the recommender)
    kept = rechoose_within_families([1, 0, 3, 2], list(families.values()), relative,
                                    np.full(4, 0.25), kernels, keep={1})
    assert [names[i] for i in kept] == ["E2", "E1", "K1", "B1"]


def test_surrogate_portfolio_keeps_the_hgb_default_first_unless_clearly_beaten() -> None:
    from dataclasses import replace

    import pandas as pd

    from metakg.kg.graph import make_configuration
    from metakg.kg.spaces import default_configuration
    from metakg.metalearner.knowledge import MetaData

    hgb = make_configuration(default_configuration("hist_gradient_boosting")).id

    raw = pd.DataFrame([{"A": 1.0, hgb: 0.9, "C": 0.1}, {"A": 0.8, hgb: 1.0, "C": 0.2}],
                       index=["d1", "d2"])
    meta = MetaData(task_type="classification", datasets=list(raw.index), names={}, raw=raw,
                    norm=raw.rank(axis=1, pct=True), metric={}, higher={"d1": True, "d2": True},
                    configs={}, families={}, metafeatures=pd.DataFrame(index=raw.index))

    def first(relative: dict[str, float], **kw: object) -> str:
        kw = {"first": "surrogate", "margin": 0.1, **kw}
        rec = SurrogatePortfolioRecommender(surrogate=_TopSurrogate(relative=relative), **kw)
        return rec.fit(meta).score(Query()).idxmax()

    close = {"A": 1.0, hgb: 0.95, "C": 0.0}  # A predicted better, but by less than 0.1
    assert first(close) == hgb
    assert first(close, incumbent=None) == "A"
    assert first(close, margin=0.01) == "A"
    assert first({"A": 1.0, hgb: 0.5, "C": 0.0}) == "A"  # clearly better: replaced
    rec = SurrogatePortfolioRecommender(surrogate=_TopSurrogate(relative=close)).fit(meta)
    assert rec.surrogate_.relative(rec.surrogate_.score(Query())).round(6).tolist() == [1.0, 0.95, 0.0]
    # first="portfolio" (the default) guards on the weighted mean of the real relative
    # scores: A and the default tie (1 and 0 on d1, 0 and 1 on d2), so the default stays
    assert first(close, first="portfolio", tau=0) == hgb
    assert first(close, first="portfolio", tau=0, incumbent=None) == "A"
    with pytest.raises(ValueError, match="first="):
        SurrogatePortfolioRecommender(first="best").fit(meta)
    # first="blend" mixes the two estimates: the weighted portfolio's relative scores (A 0.5,
    # the default 0.5, C -1: it collapsed on both datasets) and the surrogate's (A 0.2,
    # the default 0, C 1): A 0.35, the default 0.25, C 0 -- neither estimate's favourite alone
    mixed = {"A": 0.2, hgb: 0.0, "C": 1.0}
    plain = {"tau": 0, "incumbent": None, "max_collapse_risk": None}
    assert first(mixed, first="surrogate", **plain) == "C"
    assert first(mixed, first="blend", **plain) == "A"
    assert first(mixed, first="blend", blend=0.0, **plain) == "C"
    assert first({"A": 0.0, hgb: 0.2, "C": 1.0}, first="blend", blend=1.0, **plain) == "A"  # ties: first
    with pytest.raises(ValueError, match="blend must be between 0 and 1"):
        SurrogatePortfolioRecommender(first="blend", blend=1.5).fit(meta)
    # the guard may name a family per metric: these views are ROC AUC ones
    auc = replace(meta, metric={"d1": "roc_auc", "d2": "roc_auc"})
    per_metric = {"roc_auc": "hist_gradient_boosting", "*": "catboost"}
    rec = SurrogatePortfolioRecommender(surrogate=_TopSurrogate(relative=close), first="surrogate",
                                        margin=0.1, incumbent=per_metric).fit(auc)
    assert rec.incumbent_family() == "hist_gradient_boosting" and rec.score(Query()).idxmax() == hgb
    other = SurrogatePortfolioRecommender(surrogate=_TopSurrogate(relative=close), first="surrogate",
                                          margin=0.1, incumbent={"rmse": "linear"}).fit(auc)
    assert other.incumbent_family() is None and other.score(Query()).idxmax() == "A"


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
def test_a_family_filter_chooses_among_that_familys_configurations() -> None:
    """A tuner of one family gets that family's best first trial and then what complements
    it, not the family's configurations in the order of the all-family portfolio (where the
    second place went to A2 for covering what B1, another family, misses)."""
    import pandas as pd

    from metakg.metalearner.knowledge import MetaData
    from metakg.metalearner.recommend import recommend_for_query

    strong_b1 = {"B1": 1.0, "A1": 0.8, "A2": 0.0, "B2": 0.2}
    weak_b1 = {"B1": 0.0, "A1": 0.7, "A2": 1.0, "B2": 0.2}
    raw = pd.DataFrame([strong_b1] * 4 + [weak_b1] * 2, index=[f"d{i}" for i in range(6)])
    families = {"A1": "lightgbm", "A2": "lightgbm", "B1": "catboost", "B2": "catboost"}
    configs = {"A1": {"family": "lightgbm", "params": {"learning_rate": 0.05}},
               "A2": {"family": "lightgbm", "params": {"learning_rate": 0.3}},
               "B1": {"family": "catboost", "params": {"depth": 4}},
               "B2": {"family": "catboost", "params": {"depth": 10}}}
    meta = MetaData(task_type="classification", datasets=list(raw.index), names={}, raw=raw,
                    norm=raw.rank(axis=1, pct=True), metric={}, higher={d: True for d in raw.index},
                    configs=configs, families=families, metafeatures=pd.DataFrame(index=raw.index))
    prediction = _FixedSurrogate(profile={"B1": 0.9, "A1": 0.8, "A2": 0.3, "B2": 0.1})
    rec = SurrogatePortfolioRecommender(tau=0, first="surrogate", surrogate=prediction).fit(meta)
    overall = rec.score(Query()).sort_values(ascending=False).index.tolist()
    assert overall[:2] == ["B1", "A2"]  # A2 covers d4, d5, where B1 fails
    among = rec.score_among(Query(), pd.Index(["A1", "A2"]))
    assert among.index.tolist() == ["A1", "A2"] and among["A1"] > among["A2"]
    recs, _ = recommend_for_query(meta, Query(), k=2, families=["lightgbm"], recommender=rec)
    assert [r.config_id for r in recs] == ["A1", "A2"]
    # without a filter (every configuration a candidate) the ranking is the portfolio's own
    assert rec.score_among(Query(), meta.norm.columns).equals(rec.score(Query()))
    recs, _ = recommend_for_query(meta, Query(), k=2, recommender=rec)
    assert [r.config_id for r in recs] == ["B1", "A2"]


def test_surrogate_portfolio_never_puts_first_a_configuration_that_collapsed_on_similar_data() -> None:
    """Log loss punishes an overconfident model without bound: a configuration that fell a
    whole median-to-best gap below the median on similar datasets is not the first trial,
    however much the (flat-below-the-median) surrogate likes it."""
    import pandas as pd

    from metakg.metalearner.knowledge import MetaData

    # lower is better (log loss): X is best on nine datasets but blows up on the tenth
    rows = [{"X": 0.10, "A": 0.20, "B": 0.40, "C": 0.50, "D": 0.60}] * 9
    raw = pd.DataFrame([*rows, {"X": 9.00, "A": 0.20, "B": 0.40, "C": 0.50, "D": 0.60}],
                       index=[f"d{i}" for i in range(10)])
    meta = MetaData(task_type="classification", datasets=list(raw.index), names={}, raw=raw,
                    norm=raw.rank(axis=1, pct=True, ascending=False), metric={},
                    higher=dict.fromkeys(raw.index, False), configs={}, families={},
                    metafeatures=pd.DataFrame(index=raw.index))
    prediction = _FixedSurrogate(profile={"X": 1.0, "A": 0.8, "B": 0.5, "C": 0.3, "D": 0.1})

    def first(**kw: object) -> str:
        rec = SurrogatePortfolioRecommender(tau=0, surrogate=prediction, incumbent=None, **kw)
        return rec.fit(meta).score(Query()).idxmax()

    # X's weighted mean relative score (9 × 1 - 1) / 10 = 0.8 beats A's 0.7, but X
    # collapsed on a tenth of the (equally weighted) datasets
    for mode in ("portfolio", "surrogate"):
        assert first(first=mode) == "A"
        assert first(first=mode, max_collapse_risk=None) == "X"
        assert first(first=mode, max_collapse_risk=0.5) == "X"


def test_a_dataset_with_few_runs_is_not_read_as_every_other_configuration_collapsing() -> None:
    """A team logs two runs on a new table: the 'not run' of the rest is unknown, not a
    collapse that would veto them, and so few runs take no part in the greedy step."""
    full = {"A": 0.9, "B": 0.8, "C": 0.7, "D": 0.6, "E": 0.5}
    meta = _views({**{f"d{i}": full for i in range(4)},
                   "team": {"D": 0.99, "E": 0.10}}, higher=True)  # A, B, C never run there
    prediction = _FixedSurrogate(profile={"A": 1.0, "B": 0.9, "C": 0.5, "D": 0.1, "E": 0.6})
    rec = SurrogatePortfolioRecommender(tau=0, surrogate=prediction, incumbent=None).fit(meta)
    assert rec.score(Query()).idxmax() == "A"
    assert list(rec.profile_weights(Query()).index) == ["d0", "d1", "d2", "d3"]
    assert not rec.collapsed_[:, :3].any()
    kept = SurrogatePortfolioRecommender(tau=0, surrogate=prediction, incumbent=None,
                                         min_coverage=0.0).fit(meta)
    assert "team" in kept.profile_weights(Query()).index
    assert kept.relative_[-1, :3].tolist() == [0.0, 0.0, 0.0]  # unknown = its median


def _views(rows: dict[str, dict[str, float]], *, higher: bool) -> object:
    import pandas as pd

    from metakg.metalearner.knowledge import MetaData

    raw = pd.DataFrame(rows).T
    return MetaData(task_type="classification", datasets=list(raw.index), names={}, raw=raw,
                    norm=raw.rank(axis=1, pct=True, ascending=higher), metric={},
                    higher=dict.fromkeys(raw.index, higher),
                    configs={c: {"family": "x", "params": {}} for c in raw.columns},
                    families=dict.fromkeys(raw.columns, "x"),
                    metafeatures=pd.DataFrame(index=raw.index))


def test_auxiliary_datasets_are_the_other_metrics_new_datasets_only() -> None:
    from metakg.metalearner.knowledge import with_auxiliary

    auc = _views({"b1": {"A": 0.9, "B": 0.8}, "b2": {"A": 0.7, "B": 0.6}}, higher=True)
    # log loss is recorded on the binary datasets too: only m1 and m2 are new, only A and B shared
    ll = _views({"b1": {"A": 0.3, "B": 0.4, "Z": 0.1}, "m1": {"A": 0.9, "B": 0.5, "Z": 0.2},
                 "m2": {"A": 0.8, "B": 0.7, "Z": 0.6}}, higher=False)
    meta = with_auxiliary(auc, ll)
    assert meta.datasets == ["b1", "b2"] and meta.auxiliary.datasets == ["m1", "m2"]
    assert list(meta.auxiliary.raw.columns) == ["A", "B"]
    assert meta.auxiliary.higher["m1"] is False and auc.auxiliary is None  # a copy
    assert meta.without("b1").auxiliary.datasets == ["m1", "m2"]
    assert meta.without("m1").auxiliary.datasets == ["m2"]
    assert list(meta.restrict(["A"]).auxiliary.raw.columns) == ["A"]
    assert with_auxiliary(auc, auc).auxiliary is None  # nothing new: unchanged


def test_surrogate_portfolio_covers_auxiliary_datasets_too() -> None:
    """The second pick covers where the first falls short: on binary data alone nothing is
    short; the multiclass (log-loss) datasets show that C rescues the cases A misses."""

    from metakg.metalearner.knowledge import with_auxiliary

    auc = _views({"b1": {"A": 0.9, "B": 0.8, "C": 0.6, "D": 0.5, "E": 0.7},
                  "b2": {"A": 0.8, "B": 0.7, "C": 0.5, "D": 0.4, "E": 0.6}}, higher=True)
    ll = _views({f"m{i}": {"A": 2.0, "B": 1.5, "C": 0.2, "D": 1.0, "E": 0.9} for i in range(3)},
                higher=False)
    meta = with_auxiliary(auc, ll)
    prediction = _FixedSurrogate(profile={"A": 1.0, "B": 0.9, "C": 0.5, "D": 0.1, "E": 0.6})

    def order(**kw: object) -> list[str]:
        rec = SurrogatePortfolioRecommender(tau=0, surrogate=prediction, incumbent=None, **kw)
        return rec.fit(meta).score(Query()).sort_values(ascending=False).index.tolist()

    assert order(first="surrogate")[:2] == ["A", "C"]
    assert order(first="surrogate", auxiliary=False)[:2] == ["A", "B"]
    # weighing all five datasets alike (tau=0), C is the better first trial
    assert order()[:2] == ["C", "A"]
    assert order(auxiliary=False)[:2] == ["A", "B"]
    assert len(SurrogatePortfolioRecommender(tau=0, surrogate=prediction).fit(meta)
               .profile_weights(Query())) == 5
    # the plain greedy portfolio can use them too (off by default: the classical baseline)
    assert GreedyPortfolioRecommender().fit(meta).order_[:2] == ["A", "B"]
    assert GreedyPortfolioRecommender(auxiliary=True).fit(meta).order_[:2] == ["C", "A"]


def test_binary_views_carry_the_multiclass_datasets_as_auxiliary(shared: Path) -> None:
    """recommend() fits a ROC AUC recommender with the multiclass tables (log loss) attached."""
    rows = {r["name"]: r for r in read_manifest(shared / "manifest.csv")}
    graph = KnowledgeGraph(MemoryStore())
    configs = portfolio(4)
    for name, n_classes in (("sonar", 2), ("iris", 3)):
        df = read_table(shared / rows[name]["file"])
        ds = graph.add_dataset(df, name=name, target=rows[name]["target"])
        task = graph.add_task(ds, target=rows[name]["target"], task_type="classification",
                              n_classes=n_classes, folds=3)
        scores = ({"roc_auc": [0.8, 0.8, 0.8]} if n_classes == 2 else {})
        graph.log_runs([RunInput(task_id=task.id, config=c,
                                 fold_scores={**scores, "log_loss": [0.3 + i / 10] * 3})
                        for i, c in enumerate(configs)])
    auc = load_metadata(graph, "classification", "roc_auc", cache=False, auxiliary=True)
    assert [auc.names[d] for d in auc.datasets] == ["sonar"]
    assert [auc.names[d] for d in auc.auxiliary.datasets] == ["iris"]
    assert auc.auxiliary.higher[auc.auxiliary.datasets[0]] is False
    plain = load_metadata(graph, "classification", "roc_auc", cache=False)
    assert plain.auxiliary is None
    assert load_metadata(graph, "classification", "log_loss", auxiliary=True).auxiliary is None


def test_a_stored_dataset_is_recommended_for_from_the_views_meta_features(kg: KnowledgeGraph) -> None:
    """recommend_for_dataset reads a graph dataset's meta-features from the fitted views (no
    store query): they are the stored ones, and the recommendation is the same as from the
    stored values."""
    from metakg.metalearner.metafeatures import EXTRACTOR
    from metakg.metalearner.recommend import _fitted, _view_metafeatures, recommend_for_dataset, recommend_for_query

    meta, rec = _fitted(kg, "classification", "roc_auc")
    ds = kg.datasets()[0]
    stored = kg.metafeatures(ds.id, extractor=EXTRACTOR)
    from_views = _view_metafeatures(meta, ds.id)
    assert from_views is not None
    assert {k: v for k, v in from_views.items() if v is not None} == pytest.approx(
        {k: float(v) for k, v in stored.items() if v is not None})
    assert _view_metafeatures(meta, "not-in-the-views") is None
    got = recommend_for_dataset(kg, ds.id, k=3)
    expected, _ = recommend_for_query(meta, Query(stored, dataset_id=ds.id), k=3, rows=ds.rows,
                                      recommender=rec)
    assert [r.config_id for r in got.recommendations] == [r.config_id for r in expected]
    assert [r.expected_score for r in got.recommendations] == [r.expected_score for r in expected]
    assert ds.id not in {e.dataset_id for e in got.similar_datasets}  # never its own evidence


def test_the_incremental_weighted_greedy_makes_the_same_choices_as_recomputing() -> None:
    """The weighted greedy updates its gains only where the last choice helped; it must choose
    what recomputing every gain at every step chooses, ties and copies included (ties within
    rounding go to the first column)."""
    from metakg.metalearner.recommenders._greedy import greedy_order

    def reference(scores: np.ndarray, size: int, weights: np.ndarray, first: int | None) -> list[int]:
        chosen = [] if first is None else [first]
        best = np.zeros(scores.shape[0]) if first is None else scores[:, first].copy()
        while len(chosen) < min(size, scores.shape[1]):
            gain = weights @ np.maximum(scores, best[:, None])
            gain[chosen] = -np.inf
            j = int(np.flatnonzero(gain >= gain.max() - 1e-12)[0])
            chosen.append(j)
            best = np.maximum(best, scores[:, j])
        return chosen

    rng = np.random.default_rng(0)
    for trial in range(200):
        n_d, n_c = int(rng.integers(1, 60)), int(rng.integers(1, 40))
        scores = rng.normal(size=(n_d, n_c))
        if trial % 3 == 0:
            scores = np.round(scores, 1)  # many ties
        if n_c > 2:
            scores[:, 1] = scores[:, 0]  # an exact copy
        w = rng.exponential(size=n_d)
        w = w / w.sum()
        first = int(rng.integers(n_c)) if trial % 2 else None
        size = int(rng.integers(1, n_c + 3))
        assert greedy_order(scores, size, weights=w, first=first) == reference(scores, size, w, first)
    # several forced first columns: the greedy goes on from all of them
    scores = rng.normal(size=(30, 12))
    w = np.full(30, 1 / 30)
    order = greedy_order(scores, 6, weights=w, first=[4, 7])
    assert order[:2] == [4, 7] and len(set(order)) == 6
    rest = reference(np.column_stack([scores[:, [4, 7]].max(axis=1), scores]), 7, w, 0)[1:]
    assert order[2:] == [j - 1 for j in rest[:4]]


@pytest.mark.subprocess
def test_cli_recommend_through_the_warm_worker(kg: KnowledgeGraph, tmp_path: Path) -> None:
    """The first call answers itself and starts a worker; the next ones are answered by it,
    with the same output and errors, without keeping the store locked between calls."""
    import os
    import shutil
    import tempfile
    import time

    from metakg.kg import OxigraphStore

    seed = tmp_path / "seed.nq.gz"
    kg.store.dump(seed)
    sockets = Path(tempfile.mkdtemp(prefix="mkw"))  # short: AF_UNIX paths are limited
    env = {**os.environ, "METAKG_STORE": str(tmp_path / "store"), "METAKG_SEED": str(seed),
           "METAKG_CACHE": str(tmp_path / "cache"), "METAKG_WARM": "1",
           "METAKG_WARM_IDLE": "120", "TMPDIR": str(sockets)}
    root = Path(__file__).resolve().parent.parent
    table = str(root / "data" / "samples" / "credit-g.csv")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "metakg.api", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path)

    def drop_timings(doc: dict) -> dict:
        return {k: v for k, v in doc.items() if k != "timings"}

    try:
        first = cli("recommend", table, "--target", "class", "--k", "3", "--json")
        assert first.returncode == 0, first.stderr
        deadline = time.monotonic() + 120
        while "pid" not in cli("warm").stdout:
            assert time.monotonic() < deadline, "the warm worker did not start"
            time.sleep(0.5)
        assert json.loads(cli("warm", "--json").stdout)["served"] == 0
        # the worker holds no lock between calls: another writer can open the store
        OxigraphStore(tmp_path / "store").close()
        second = cli("recommend", table, "--target", "class", "--k", "3", "--json")
        assert second.returncode == 0, second.stderr
        assert drop_timings(json.loads(second.stdout)) == drop_timings(json.loads(first.stdout))
        shutil.copy(table, tmp_path / "mine.csv")  # relative: the worker uses the caller's folder
        verbose = cli("recommend", "mine.csv", "--target", "class", "-v")
        assert verbose.returncode == 0, verbose.stderr
        assert "answered by the warm worker" in verbose.stdout
        assert re.search(r"time: read \d+ ms, load \d+ ms, metafeatures \d+ ms, ranking \d+ ms",
                         verbose.stdout.splitlines()[-1])
        bad = cli("recommend", table, "--target", "nope")
        assert bad.returncode == 2 and bad.stderr.startswith("error: Column 'nope'")
        assert bad.stderr.count("\n") == 1
        assert json.loads(cli("warm", "--json").stdout)["served"] == 3
        stopped = cli("warm", "--stop")
        assert stopped.stdout.startswith("stopped the warm worker"), stopped.stdout + stopped.stderr
        deadline = time.monotonic() + 10
        while list(sockets.glob("metakg-*/*.sock")):
            assert time.monotonic() < deadline, "the worker left its socket behind"
            time.sleep(0.2)
        assert "no warm worker" in cli("warm").stdout
    finally:
        cli("warm", "--stop")
        shutil.rmtree(sockets, ignore_errors=True)


@functools.cache
def _regression_tables(shared: Path) -> tuple[bytes, tuple[tuple[str, float], ...]]:
    """Five regression tables with their tasks, characterised once for the tests below: the
    graph's N-Quads, and each task's id and target standard deviation."""
    rows = {r["name"]: r for r in read_manifest(shared / "manifest.csv")}
    graph = KnowledgeGraph(MemoryStore())
    tasks = []
    for name in ("autompg", "bodyfat", "fishcatch", "housing", "machine.cpu"):
        df = read_table(shared / rows[name]["file"])
        target = rows[name]["target"]
        ds = graph.add_dataset(df, name=name, target=target)
        characterise(graph, ds, df, target, "regression", text=False)
        task = graph.add_task(ds, target=target, task_type="regression", folds=3)
        tasks.append((task.id, float(df[target].std(ddof=0))))
    with tempfile.TemporaryDirectory() as folder:
        graph.store.dump(Path(folder) / "tables.nq")
        return (Path(folder) / "tables.nq").read_bytes(), tuple(tasks)


def _regression_graph(shared: Path, *, with_r2: bool) -> KnowledgeGraph:
    """Five regression tables whose configuration i has RMSE (0.3 + 0.05 i) × the target's
    standard deviation on each of them (with the matching R² when ``with_r2``)."""
    tables, tasks = _regression_tables(shared)
    graph = KnowledgeGraph(MemoryStore())
    graph.store.add_nquads(tables)
    for task_id, sd in tasks:  # each table's RMSEs in its own units
        graph.log_runs([RunInput(task_id=task_id, config=cfg, fold_scores={
            "rmse": [sd * (0.3 + 0.05 * i)] * 3,
            **({"r2": [1 - (0.3 + 0.05 * i) ** 2] * 3} if with_r2 else {})})
            for i, cfg in enumerate(CONFIGS[:8])])
    return graph


def test_regression_expected_rmse_is_the_neighbours_relative_rmse_on_this_tables_scale(
        shared: Path) -> None:
    """An RMSE is in its target's units (miles per gallon, fish weight in grams...): the
    similar datasets' RMSE travels as a share of their target's standard deviation (read from
    their runs' RMSE and R²), times this table's."""
    graph = _regression_graph(shared, with_r2=True)
    query = read_table(shared / "arff/cleveland.arff.gz")
    own_sd = float(query["num"].std(ddof=0))
    res = recommend(query, target="num", task_type="regression", k=3, graph=graph, text=False)
    assert res.metric == "rmse" and len(res.recommendations) == 3
    for r in res.recommendations:
        share = 0.3 + 0.05 * CONFIGS[:8].index(r.config)
        assert r.expected_score == pytest.approx(share * own_sd, rel=1e-6)
        assert r.interval == pytest.approx((share * own_sd, share * own_sd), rel=1e-6)
        assert f"scaled to this target's standard deviation, {own_sd:.4g})" in r.reason
        # the evidence keeps the neighbours' own RMSEs, in their units
        for e in r.evidence:
            assert e.score is not None and e.score != pytest.approx(r.expected_score)


def test_regression_surrogate_reads_the_family_probe_gaps_by_default(shared: Path) -> None:
    """The RMSE surrogate learns from each configuration's family probe gap,
    and the portfolio gives its prediction for the query a row in the greedy step, as for ROC
    AUC (both chosen with ``bench/lodo.py``); the first pick still comes without the gaps."""
    from metakg.metalearner.recommenders import FAMILY_PROBE_GROUPS

    meta = load_metadata(_regression_graph(shared, with_r2=True), "regression", "rmse")
    rec = SurrogatePortfolioRecommender(surrogate=SurrogateRecommender(n_bags=1)).fit(meta)
    assert rec.surrogate_.family_probes_ and not rec.first_surrogate_.family_probes_
    assert rec.prediction_weight_ == 0.2
    before = SurrogateRecommender(n_bags=1, family_probe_metrics=("roc_auc",)).fit(meta)
    assert not before.family_probes_
    assert rec.surrogate_.model_.n_features_in_ == (before.model_.n_features_in_ + 1
                                                    + len(FAMILY_PROBE_GROUPS))


def test_regression_gives_no_expected_rmse_without_the_targets_spread(shared: Path) -> None:
    """Without R² runs (a team logging RMSE only) the neighbours' RMSE cannot be rescaled, and
    from meta-features alone without the target's spread neither: no expectation, and why."""
    graph = _regression_graph(shared, with_r2=False)
    query = read_table(shared / "arff/cleveland.arff.gz")
    res = recommend(query, target="num", task_type="regression", k=3, graph=graph, text=False)
    for r in res.recommendations:
        assert r.expected_score is None and r.interval is None
        assert "no expected rmse: it is in each target's own units and the similar datasets' " \
               "runs have no R²" in r.reason
        assert any(e.score is not None for e in r.evidence)  # the neighbours' own RMSEs
    doc = res.to_json()["recommendations"][0]
    assert doc["expected_score"] is None and doc["interval"] is None
    # with R² in the graph but no spread for the query: none either
    graph = _regression_graph(shared, with_r2=True)
    mf = compute_metafeatures(query, "num", task_type="regression").values
    res = recommend_from_metafeatures(graph, mf, task_type="regression", k=2)
    assert all(r.expected_score is None for r in res.recommendations)
    assert "this table's target spread is unknown" in res.recommendations[0].reason
    sd = float(query["num"].std(ddof=0))
    res = recommend_from_metafeatures(graph, mf, task_type="regression", k=2, target_sd=sd)
    # every configuration's RMSE is 0.3-0.65 target SDs on every table (the k-NN, the probe
    # hedge's pick here, is the worst: 0.65 up to rounding)
    assert all(r.expected_score is not None and 0.3 * sd - 1e-9 <= r.expected_score <= 0.65 * sd + 1e-9
               for r in res.recommendations)


def test_target_spread_reads_the_targets_standard_deviation_from_rmse_and_r2(shared: Path) -> None:
    """RMSE / sqrt(1 - R²) of real cross-validated models gives the target's spread back."""
    import pandas as pd
    from sklearn.dummy import DummyRegressor
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_validate

    from metakg.metalearner.knowledge import target_spread

    df = read_table(shared / "arff/autompg.arff.gz").dropna()
    y, X = df["class"], df.drop(columns="class").select_dtypes("number")
    rmse, r2 = {}, {}
    for name, model in {"ridge": Ridge(), "forest": RandomForestRegressor(20, random_state=0),
                        "mean": DummyRegressor()}.items():
        cv = cross_validate(model, X, y, cv=KFold(5, shuffle=True, random_state=0),
                            scoring=("neg_root_mean_squared_error", "r2"))
        rmse[name], r2[name] = -cv["test_neg_root_mean_squared_error"].mean(), cv["test_r2"].mean()
    sd = target_spread(pd.DataFrame(rmse, index=["autompg"]), pd.DataFrame(r2, index=["autompg"]))
    assert sd["autompg"] == pytest.approx(float(y.std(ddof=0)), rel=0.05)
    # no R² below 1 (or none at all): no spread rather than a division by zero
    assert target_spread(pd.DataFrame(rmse, index=["autompg"]),
                         pd.DataFrame({k: 1.0 for k in r2}, index=["autompg"])) == {}


def test_a_new_table_is_probed_only_where_the_recommender_reads_probes() -> None:
    """Probing costs up to a second a table, the regime probes up to two: recommend() runs
    what the metric's policy reads. The probes for binary ROC AUC (probe features and family
    probe gaps), RMSE (family probe gaps) and log loss (whose regime contrasts read the
    boosting probe); the regime probes for log loss only; neither for a metric without a
    policy of its own (its policy reads the base features)."""
    from metakg.metalearner.metafeatures import GROUPS
    from metakg.metalearner.recommend import _groups_read_for

    assert {"probing", "regime-probing"} <= set(GROUPS)
    without_regimes = tuple(g for g in GROUPS if g != "regime-probing")
    assert _groups_read_for("log_loss") == tuple(GROUPS)
    assert _groups_read_for("roc_auc") == _groups_read_for("rmse") == without_regimes
    assert _groups_read_for("accuracy") == tuple(g for g in without_regimes if g != "probing")


def test_regime_contrasts_are_differences_of_regime_probes() -> None:
    """Each contrast is one probe minus another, NaN (or None) where either is missing, the
    same for a frame of tables and for one query."""
    import pandas as pd

    from metakg.metalearner.recommenders import REGIME_CONTRASTS, query_with_regime_contrasts, with_regime_contrasts

    values = {"pr_boosting": 0.90, "rp_boost_slow": 0.93, "rp_boost_deep": 0.85,
              "rp_linear_strong": 0.70, "rp_linear_weak": 0.80, "rp_svm_narrow": 0.60}
    one = query_with_regime_contrasts(values)
    assert one["rc_boost_slow"] == pytest.approx(0.03) and one["rc_boost_deep"] == pytest.approx(-0.05)
    assert one["rc_linear_reg"] == pytest.approx(-0.10)
    assert one["rc_svm_reach"] is None  # no wide-kernel probe: nothing made up
    assert one["pr_boosting"] == 0.90  # the meta-features themselves are kept
    frame = with_regime_contrasts(pd.DataFrame([values, {}], index=["a", "b"]))
    for name in REGIME_CONTRASTS:
        expected = np.nan if one[name] is None else one[name]
        np.testing.assert_allclose(frame.loc["a", name], expected)
        assert np.isnan(frame.loc["b", name])


def test_surrogate_learns_regime_probes_for_its_regime_metrics(kg: KnowledgeGraph, shared: Path) -> None:
    """With regimes on (the default for log loss), the surrogate is the one fitted on its
    meta-features followed by the regime probes and their contrasts (training rows and
    queries alike); off for other metrics and for a graph without regime probes."""
    from dataclasses import replace

    import pandas as pd

    from metakg.metalearner.metafeatures.regime_probing import REGIME_PROBES
    from metakg.metalearner.recommenders import REGIME_FEATURES, with_regime_contrasts
    from metakg.metalearner.recommenders.nearest import DEFAULT_FEATURES

    meta = load_metadata(kg, "classification", "roc_auc")
    assert meta.metafeatures["rp_boost_slow"].notna().all()  # characterised with the regime probes
    assert not SurrogateRecommender(n_bags=1).fit(meta).regimes_  # the default: log loss only
    plain = dict(n_bags=2, probe_metrics=(), family_probe_metrics=())
    on = SurrogateRecommender(regime_metrics=("roc_auc",), **plain).fit(meta)
    assert on.regimes_ and on.features_[-len(REGIME_FEATURES):] == list(REGIME_FEATURES)
    by_hand = SurrogateRecommender(regime_metrics=(), features=DEFAULT_FEATURES + REGIME_FEATURES,
                                   **plain).fit(replace(meta, metafeatures=with_regime_contrasts(meta.metafeatures)))
    assert not by_hand.regimes_
    values = _query_values(shared, 1)
    assert all(values[p] is not None for p in REGIME_PROBES)
    np.testing.assert_allclose(on.score(Query(values)).to_numpy(),
                               by_hand.score(Query(with_regime_contrasts(
                                   pd.DataFrame([values])).iloc[0].to_dict())).to_numpy(), rtol=1e-12)
    older = replace(meta, metafeatures=meta.metafeatures.drop(columns=list(REGIME_PROBES)))
    assert not SurrogateRecommender(regime_metrics=("roc_auc",), **plain).fit(older).regimes_
