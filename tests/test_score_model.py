"""The learned model of a configuration's score (expected score and its normalised conformal interval)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.recommend import recommend_for_query
from metakg.metalearner.recommender import MetaRecommender
from metakg.metalearner.recommenders import NearestDatasetsRecommender, Query
from metakg.metalearner.score_model import ScoreModel

#: three configurations of one family whose log loss is a known function of a meta-feature
_CONFIGS = {
    "shallow": {"family": "random_forest", "params": {"n_estimators": 50, "max_depth": 3}},
    "medium": {"family": "random_forest", "params": {"n_estimators": 100, "max_depth": 6}},
    "deep": {"family": "random_forest", "params": {"n_estimators": 200, "max_depth": 12}},
}
_FACTOR = {"shallow": 1.5, "medium": 1.0, "deep": 0.8}


def _log_loss(difficulty: float, config: str) -> float:
    """Log loss of a configuration on a table: the table's difficulty sets the level."""
    return float(difficulty * _FACTOR[config])


def _views(n: int, *, metric: str = "log_loss", seed: int = 0) -> MetaData:
    rng = np.random.default_rng(seed)
    ids = [f"d{i}" for i in range(n)]
    lm = rng.uniform(0.5, 0.95, n)  # the best landmarker's accuracy: easy tables lose less
    difficulty = 0.05 + 2.0 * (0.95 - lm)
    raw = pd.DataFrame({c: [_log_loss(d, c) for d in difficulty] for c in _CONFIGS}, index=ids)
    raw *= np.exp(rng.normal(0, 0.03, raw.shape))  # fold noise
    mf = pd.DataFrame({"lm_1nn": lm, "lm_stump": lm - 0.1, "lm_naive_bayes": lm - 0.05,
                       "lm_lda": lm - 0.02, "log_nr_inst": rng.uniform(5, 9, n)}, index=ids)
    return MetaData(task_type="classification", datasets=ids, names={d: d for d in ids}, raw=raw,
                    norm=raw.rank(axis=1, pct=True, ascending=False),
                    metric=dict.fromkeys(ids, metric), higher=dict.fromkeys(ids, False),
                    configs=_CONFIGS, families=dict.fromkeys(_CONFIGS, "random_forest"),
                    metafeatures=mf)


def _query(lm: float) -> Query:
    return Query(metafeatures={"lm_1nn": lm, "lm_stump": lm - 0.1, "lm_naive_bayes": lm - 0.05,
                               "lm_lda": lm - 0.02, "log_nr_inst": 7.0})


def test_learns_the_level_of_a_new_tables_log_loss_and_brackets_it() -> None:
    model = ScoreModel(n_estimators=200).fit(_views(120))
    assert model.active_ and model.n_datasets_ == 120
    assert model.quantile_ > 0 and model.floor_ > 0
    for lm in (0.6, 0.75, 0.9):
        got = model.predict(_query(lm), list(_CONFIGS))
        for c in _CONFIGS:
            truth = _log_loss(0.05 + 2.0 * (0.95 - lm), c)
            assert got.loc[c, "expected"] == pytest.approx(truth, rel=0.2)
            assert got.loc[c, "low"] <= truth <= got.loc[c, "high"]
        # a configuration's place is learnt too: deep < medium < shallow, as in every table
        assert got["expected"].idxmin() == "deep" and got["expected"].idxmax() == "shallow"


def test_inactive_for_other_metrics_and_small_graphs() -> None:
    from dataclasses import replace

    views = _views(60)
    # 60 datasets, but all derived from three tables: no five folds of unseen tables
    derived = replace(views, derived_from={d: f"t{i % 3}" for i, d in enumerate(views.datasets)})
    for small in (_views(60, metric="accuracy"), _views(10), derived):
        model = ScoreModel().fit(small)
        assert not model.active_
        assert model.predict(_query(0.8), list(_CONFIGS)).isna().all().all()


def test_a_configuration_it_was_not_fitted_with_gets_no_prediction() -> None:
    model = ScoreModel(n_estimators=50).fit(_views(30))
    got = model.predict(_query(0.8), ["deep", "unknown"])
    assert got.loc["deep"].notna().all() and got.loc["unknown"].isna().all()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"coverage": 1.0}, "coverage must be in (0, 1), got 1.0"),
    ({"folds": 1}, "folds must be at least 2, got 1"),
    ({"metrics": ("f1",)}, "No score transform for ['f1']"),
])
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        ScoreModel(**kwargs).fit(_views(30))
    assert message in str(err.value)
    assert not hasattr(ScoreModel(**kwargs), "model_")  # no work in __init__


def test_recommendations_take_their_expected_log_loss_from_the_model() -> None:
    views = _views(60)
    rec = MetaRecommender().fit(views)
    query = _query(0.9)
    recs, _ = recommend_for_query(views, query, k=3, recommender=rec)
    modelled = rec.score_model_.predict(query, [r.config_id for r in recs])
    for r in recs:
        assert r.expected_score == pytest.approx(modelled.loc[r.config_id, "expected"])
        assert r.interval == pytest.approx(tuple(modelled.loc[r.config_id, ["low", "high"]]))
        assert r.reason.endswith(f"expected log_loss {r.expected_score:.4g} (interval "
                                 f"{r.interval[0]:.4g}–{r.interval[1]:.4g}), learnt from this "
                                 "table's meta-features and the log_loss of 60 datasets' runs.")
        assert r.evidence  # the similar datasets' runs are still shown
    # without a model (a recommender that has none): the similar datasets' mean and range, as
    # for other metrics
    plain = NearestDatasetsRecommender().fit(views)
    recs, _ = recommend_for_query(views, query, k=3, recommender=plain)
    for r in recs:
        assert "range" in r.reason and "learnt" not in r.reason
        scores = [e.score for e in r.evidence]
        assert r.interval[0] <= min(scores) and max(scores) <= r.interval[1]


def test_a_large_graph_is_sampled_to_max_rows() -> None:
    views = _views(200)  # 600 scores
    model = ScoreModel(max_rows=300, n_estimators=50).fit(views)
    full = ScoreModel(n_estimators=50).fit(views)
    assert (model.n_rows_, full.n_rows_) == (300, 600)
    assert len(model.residuals_) < len(full.residuals_)  # the errors come from the sample too


def _rmse_views(n: int) -> MetaData:
    """RMSEs that are a known share of each target's standard deviation."""
    views = _views(n)
    rng = np.random.default_rng(1)
    sd = pd.Series(rng.uniform(0.1, 1000.0, n), index=views.datasets)
    share = views.raw / 3.0  # 0.02-1.0 of the target's spread
    return MetaData(task_type="regression", datasets=views.datasets, names=views.names,
                    raw=share.mul(sd, axis=0), norm=views.norm,
                    metric=dict.fromkeys(views.datasets, "rmse"), higher=views.higher,
                    configs=views.configs, families=views.families,
                    metafeatures=views.metafeatures, target_sd=sd.to_dict())


def test_an_rmse_is_learnt_as_a_share_of_the_targets_spread() -> None:
    model = ScoreModel(n_estimators=200).fit(_rmse_views(120))
    assert model.active_ and model.in_target_units_
    lm = 0.8
    for target_sd in (2.0, 500.0):
        got = model.predict(Query(metafeatures=_query(lm).metafeatures, target_sd=target_sd),
                            list(_CONFIGS))
        for c in _CONFIGS:
            truth = target_sd * _log_loss(0.05 + 2.0 * (0.95 - lm), c) / 3.0
            assert got.loc[c, "expected"] == pytest.approx(truth, rel=0.2)
            assert got.loc[c, "low"] <= truth <= got.loc[c, "high"]
    # without this table's spread there is no scale to put it on
    assert model.predict(_query(lm), list(_CONFIGS)).isna().all().all()


def test_an_rmse_recommendation_says_it_was_scaled() -> None:
    views = _rmse_views(60)
    query = Query(metafeatures=_query(0.8).metafeatures, target_sd=7.5)
    recs, _ = recommend_for_query(views, query, k=2)
    for r in recs:
        assert r.reason.endswith("learnt from this table's meta-features and the rmse of 60 "
                                 "datasets' runs as shares of their targets' standard deviations "
                                 "(this one's 7.5).")
        assert r.interval[0] < r.expected_score < r.interval[1]
    unscaled, _ = recommend_for_query(views, Query(metafeatures=_query(0.8).metafeatures), k=2)
    for r in unscaled:  # no spread for this table: no expectation, and the reason says why
        assert r.expected_score is None and "target spread is unknown" in r.reason


def test_the_interval_is_calibrated_on_tables_as_users_bring_them() -> None:
    from dataclasses import replace

    views = _views(60)
    # the last 40 are derived tasks of their own 40 sources (outside the views)
    derived = replace(views, derived_from={d: f"src{d}" for d in views.datasets[20:]})
    model = ScoreModel(n_estimators=50).fit(derived)
    # only the primary tables' configurations above their median set the quantile
    above_median_on_primary = int((derived.norm.iloc[:20] >= 0.5).to_numpy().sum())
    assert len(model.residuals_) == len(model.conformity_) == above_median_on_primary


def _two_kinds(n: int, seed: int) -> tuple[MetaData, np.ndarray]:
    """Log-loss views where one kind of table (``frac_cat`` 1) is far less predictable than
    the other: its level varies by a factor of e^N(0, 0.5) that no meta-feature tells, the
    quiet kind's by e^N(0, 0.03). Also returns which tables are noisy."""
    views = _views(n, seed=seed)
    rng = np.random.default_rng(seed + 100)
    noisy = np.arange(n) % 2 == 1
    level = np.exp(rng.normal(0.0, np.where(noisy, 0.5, 0.03)))
    mf = views.metafeatures.assign(frac_cat=noisy.astype(float))
    raw = views.raw.mul(level, axis=0)
    from dataclasses import replace

    return replace(views, raw=raw, norm=raw.rank(axis=1, pct=True, ascending=False),
                   metafeatures=mf), noisy


def test_the_interval_is_wider_on_the_noisy_kind_of_table_and_covers_held_out_tables() -> None:
    train, _ = _two_kinds(300, seed=0)
    model = ScoreModel(n_estimators=100).fit(train)
    test, noisy = _two_kinds(200, seed=1)
    inside, spread = [], {True: [], False: []}
    for i, d in enumerate(test.datasets):
        got = model.predict(Query(metafeatures=test.metafeatures.loc[d].to_dict()), list(_CONFIGS))
        truth = test.raw.loc[d, list(_CONFIGS)]
        inside += list((got["low"] <= truth) & (truth <= got["high"]))
        spread[bool(noisy[i])] += list(np.log(got["high"] / got["low"]))
    # the same configuration on the noisy kind gets a band several times wider (in logs)
    assert np.median(spread[True]) > 3 * np.median(spread[False])
    # near the nominal 90% on tables it never saw, both kinds together
    assert 0.84 <= np.mean(inside) <= 0.97


def test_the_interval_always_contains_the_expected_score() -> None:
    model = ScoreModel(n_estimators=50).fit(_two_kinds(120, seed=2)[0])
    for lm in (0.5, 0.7, 0.95):
        for frac_cat in (0.0, 1.0):
            query = Query(metafeatures={**_query(lm).metafeatures, "frac_cat": frac_cat})
            got = model.predict(query, list(_CONFIGS))
            assert ((got["low"] <= got["expected"]) & (got["expected"] <= got["high"])).all()
            assert (got["low"] < got["high"]).all()


def _auc_views(n: int) -> MetaData:
    """ROC AUCs from 0.5 to a perfect 1.0, higher on easier tables."""
    from dataclasses import replace

    views = _views(n, metric="roc_auc")
    auc = (1.0 - views.raw / 3.0).clip(0.5, 1.0)
    auc.iloc[:5] = 1.0  # easy tables where every configuration is perfect
    return replace(views, raw=auc, norm=auc.rank(axis=1, pct=True),
                   higher=dict.fromkeys(views.datasets, True))


def test_roc_auc_predictions_and_intervals_stay_within_0_and_1() -> None:
    model = ScoreModel(metrics=("roc_auc",), n_estimators=100).fit(_auc_views(120))
    assert model.active_
    for lm in (0.3, 0.6, 0.8, 0.95, 0.999):
        got = model.predict(_query(lm), list(_CONFIGS))
        assert got.notna().all().all()
        assert ((got["low"] >= 0.0) & (got["low"] <= got["expected"])
                & (got["expected"] <= got["high"]) & (got["high"] <= 1.0)).all()
    # easier tables (a better landmarker) are expected to score higher
    easy, hard = (model.predict(_query(lm), ["deep"]).loc["deep", "expected"] for lm in (0.9, 0.6))
    assert easy > hard


def test_weak_cells_count_by_their_reliability_and_do_not_calibrate_the_interval() -> None:
    """A third of the cells are single hand-logged scores, far noisier than a cross-validated
    mean: fitted with their reliability, the model is as sharp as on full runs alone; taken as
    equals, its interval widens to their noise."""
    views = _views(120)
    rng = np.random.default_rng(1)
    weak = rng.random(views.raw.shape) < 1 / 3
    raw = views.raw.where(~weak, views.raw * np.exp(rng.normal(0, 0.6, views.raw.shape)))
    reliability = pd.DataFrame(np.where(weak, 0.1, 1.0), index=raw.index, columns=raw.columns)
    noisy = replace(views, raw=raw)
    as_equals = ScoreModel(n_estimators=200).fit(noisy)
    weighted = ScoreModel(n_estimators=200).fit(replace(noisy, reliability=reliability))
    # calibrated on the full cells only
    full = int((~weak & (views.norm.to_numpy() >= 0.5)).sum())
    assert weighted.residuals_.size == full < as_equals.residuals_.size
    width = {}
    for name, model in (("equals", as_equals), ("weighted", weighted)):
        got = model.predict(_query(0.75), list(_CONFIGS))
        width[name] = float((got["high"] / got["low"]).median())
        truth = [_log_loss(0.05 + 2.0 * 0.2, c) for c in _CONFIGS]
        assert (got["low"] <= truth).all() and (truth <= got["high"]).all()
    assert width["weighted"] < 0.8 * width["equals"], width
