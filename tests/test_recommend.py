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
    GreedyPortfolioRecommender,
    NearestDatasetsRecommender,
    Query,
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
    lambda: MetaRecommender(),
], ids=["nearest", "meta-recommender"])
def test_recommenders_follow_similar_datasets(kg: KnowledgeGraph, shared: Path, make: object) -> None:
    """Linear models won on the categorical tables, kNN on the numeric ones: a new table of
    either kind gets that family first."""
    meta = load_metadata(kg, "classification", "roc_auc")
    rec = make().fit(meta)  # type: ignore[operator]
    for values, family in _query_metafeatures(shared):
        top = rec.score(Query(dict(values))).sort_values(ascending=False).index[0]
        assert meta.families[top] == family


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
    # a family with no runs beside one that has them: the known one answers
    res = recommend(df, target="class", k=2, families=["random_forest", "nope"], graph=kg, text=False)
    assert {r.family for r in res.recommendations} == {"random_forest"}
    with pytest.raises(InvalidData, match=r"No configuration of family 'nope' among the graph's "
                                          r"runs of this metric; the families there: .*knn"):
        recommend(df, target="class", families=["nope"], graph=kg, text=False)
    with pytest.raises(InvalidData, match=r"family 'random_forst' among the graph's runs of this "
                                          r"metric \(did you mean 'random_forest' for 'random_forst'\?\)"):
        recommend(df, target="class", families=["lightgbm", "random_forst"], graph=kg, text=False)
    with pytest.raises(InvalidData, match="No configuration passes"):
        recommend(df, target="class", families=["random_forest"], max_fit_seconds=1e-9, graph=kg,
                  text=False)
    with pytest.raises(InvalidData, match="'rmse' does not measure a classification model's "
                                          "quality; use one of: roc_auc, log_loss"):
        recommend(df, target="class", metric="rmse", graph=kg, text=False)
    with pytest.raises(InvalidData, match="'fit_time' does not measure"):
        recommend(df, target="class", metric="fit_time", graph=kg, text=False)
    with pytest.raises(InvalidData, match="k must be at least 1, not 0"):
        recommend(df, target="class", k=0, graph=kg, text=False)
    with pytest.raises(InvalidData, match="max_fit_seconds must be above 0"):
        recommend(df, target="class", max_fit_seconds=-1, graph=kg, text=False)
    with pytest.raises(InvalidData, match="has no values"):
        recommend(df.assign(empty=float("nan")), target="empty", graph=kg, text=False)
    with pytest.raises(InvalidData, match="Did you mean 'class'"):
        recommend(df, target="clas", graph=kg, text=False)
    # the advice fits the environment: the tests set METAKG_SEED to empty
    with pytest.raises(InvalidData, match="no regression runs scored by rmse; METAKG_SEED is set "
                                          "to empty"):
        recommend(df, target="class", task_type="regression", graph=kg, text=False)
    with pytest.raises(InvalidData, match="not numeric"):
        recommend(read_table(shared / "arff" / "car.arff.gz"), target="class",
                  task_type="regression", graph=kg, text=False)
    # one family as a string is that family, not its letters
    res = recommend(df, target="class", k=2, families="random_forest", graph=kg, text=False)
    assert {r.family for r in res.recommendations} == {"random_forest"}


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"df": "car.csv"}, TypeError, "df must be a pandas DataFrame"),
    ({"target": None}, TypeError, "target must be the name of the column to predict"),
    ({"k": 1.5}, TypeError, "k must be a whole number of configurations, not 1.5"),
    ({"k": "5"}, TypeError, "k must be a whole number"),
    ({"graph": "memory:"}, TypeError, "graph must be a KnowledgeGraph"),
    ({"families": [1]}, TypeError, "families must be family names"),
    ({"df": "repeated"}, InvalidData, "column name 'doors' repeated"),
])
def test_wrong_arguments_are_named_before_any_work(
        kg: KnowledgeGraph, shared: Path, change: dict, error: type, message: str) -> None:
    df = read_table(shared / "arff" / "car.arff.gz")
    args = {"df": df, "target": "class", "graph": kg, **change}
    if change.get("df") == "repeated":
        args["df"] = df.rename(columns={"persons": "doors"})
    with pytest.raises(error, match=re.escape(message)):
        recommend(**args)


def test_the_no_runs_advice_names_the_packaged_seed_by_its_full_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from metakg.kg.default_graph import no_runs_advice, seed_file

    monkeypatch.delenv("METAKG_SEED")
    shipped = seed_file()
    assert shipped is not None and shipped.is_absolute()
    assert no_runs_advice() == f"load the seed graph (`metakg import {shipped.resolve()}`) or log runs first."


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


def test_near_best_probes_are_the_single_family_probes_close_to_the_best() -> None:
    from metakg.metalearner.recommenders import HEDGE_PROBES, near_best_probes

    assert HEDGE_PROBES == ("pr_boosting", "pr_forest", "pr_linear", "pr_svm", "pr_knn")
    values = {"pr_boosting": 0.90, "pr_svm": 0.897, "pr_forest": 0.85, "pr_knn": float("nan"),
              "pr_lda": 0.95, "pr_linear": None}  # LDA is no family's probe group
    assert near_best_probes(values, 0.005) == ["pr_boosting", "pr_svm"]
    assert near_best_probes(values, 0.06) == ["pr_boosting", "pr_svm", "pr_forest"]
    assert near_best_probes(values, 0.0) == ["pr_boosting"]
    assert near_best_probes({"pr_lda": 0.9}, 0.1) == [] and near_best_probes({}, 0.1) == []


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



def test_a_graph_of_one_run_says_what_to_log(shared: Path) -> None:
    graph = KnowledgeGraph(MemoryStore())
    df = read_table(shared / "arff" / "credit.g.arff.gz")
    ds = graph.add_dataset(df, name="credit", target="class")
    characterise(graph, ds, df, "class", "classification", text=False)
    task = graph.add_task(ds, target="class", task_type="classification", n_classes=2, folds=3)
    for n_neighbors in (5, 9):
        graph.log_run(RunInput(task_id=task.id, config={"family": "knn",
                                                        "params": {"n_neighbors": n_neighbors}},
                               fold_scores={"roc_auc": [0.70, 0.71, 0.72]}))
        if n_neighbors == 5:
            with pytest.raises(InvalidData, match=r"one \(table, configuration\) result"):
                recommend(df, target="class", graph=graph, k=2)
    assert {r.family for r in recommend(df, target="class", graph=graph, k=2).recommendations
            } == {"knn"}
