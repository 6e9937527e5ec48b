"""The compiled forest predicts what LightGBM predicts, including its missing-value rules."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from metakg.metalearner.candidate_forest import CandidateForest

N_QUERY, N_CANDIDATE, N_MIXED = 4, 3, 2


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, N_QUERY + N_CANDIDATE + N_MIXED))
    y = X[:, 0] * X[:, 4] + np.sin(X[:, 5]) - X[:, 7] * (X[:, 1] > 0) + 0.1 * rng.normal(size=n)
    return X, y


def _boosters(X: np.ndarray, y: np.ndarray, n: int = 3, **params: object) -> list[lgb.Booster]:
    return [lgb.LGBMRegressor(n_estimators=40, num_leaves=15, min_child_samples=5, subsample=0.8,
                              subsample_freq=1, random_state=seed, verbose=-1, n_jobs=1,
                              **params).fit(X, y).booster_ for seed in range(n)]


def _rows(query: np.ndarray, candidates: np.ndarray, mixed: np.ndarray) -> np.ndarray:
    return np.hstack([np.tile(query, (len(candidates), 1)), candidates, mixed])


@pytest.mark.parametrize("missing", ["nan", "zero", "none"])
def test_the_forest_predicts_the_boosters_mean_for_every_candidate(missing: str) -> None:
    """For each of LightGBM's missing-value types (NaN branches, zero as missing, none: NaN
    read as 0), queries with NaN, zeros and near-zeros give the boosters' mean prediction."""
    rng = np.random.default_rng(0)
    X, y = _data(rng, 600)
    params: dict[str, object] = {}
    if missing == "nan":
        X[rng.random(X.shape) < 0.15] = np.nan
    elif missing == "zero":
        X[rng.random(X.shape) < 0.15] = 0.0
        params["zero_as_missing"] = True
    boosters = _boosters(X, y, **params)
    candidates = rng.normal(size=(25, N_CANDIDATE))
    candidates[rng.random(candidates.shape) < 0.2] = np.nan
    candidates[0] = 0.0
    forest = CandidateForest.compile(boosters, n_query=N_QUERY, candidates=candidates)
    types = {t for s in (forest.query_splits, forest.mixed_splits)
             for t in zip(s.nan_left.tolist(), s.zero_left.tolist(), strict=True)}
    assert len(types) > 1  # both branches taken by NaN or zero somewhere
    queries = [rng.normal(size=N_QUERY), np.array([np.nan, 0.0, 1e-40, -2.0]),
               np.full(N_QUERY, np.nan), np.zeros(N_QUERY)]
    for query in queries:
        mixed = rng.normal(size=(25, N_MIXED))
        mixed[::3] = np.nan
        mixed[1::4] = 0.0
        expected = np.mean([b.predict(_rows(query, candidates, mixed)) for b in boosters], axis=0)
        np.testing.assert_allclose(forest.predict(query, mixed), expected, rtol=0, atol=1e-12)


def test_a_forest_without_mixed_columns_and_single_leaf_trees() -> None:
    """Boosters fitted on ``[query | candidate]`` rows need no mixed part; a tree that never
    split (a constant target) adds its one leaf."""
    rng = np.random.default_rng(1)
    X, y = _data(rng, 300)
    X = X[:, :N_QUERY + N_CANDIDATE]
    candidates = rng.normal(size=(10, N_CANDIDATE))
    query = rng.normal(size=N_QUERY)
    boosters = _boosters(X, y, n=2)
    forest = CandidateForest.compile(boosters, n_query=N_QUERY, candidates=candidates)
    rows = np.hstack([np.tile(query, (10, 1)), candidates])
    expected = np.mean([b.predict(rows) for b in boosters], axis=0)
    np.testing.assert_allclose(forest.predict(query), expected, rtol=0, atol=1e-12)
    flat = _boosters(X, np.full(len(X), 0.25), n=1)
    assert flat[0].num_trees() >= 1
    np.testing.assert_allclose(CandidateForest.compile(flat, n_query=N_QUERY, candidates=candidates)
                               .predict(query), flat[0].predict(rows), rtol=0, atol=1e-12)


def _matches_its_booster(booster: lgb.Booster, rng: np.random.Generator,
                         n_candidates: int) -> CandidateForest:
    """Compile one booster and check three random queries against its own predictions."""
    candidates = rng.normal(size=(n_candidates, N_CANDIDATE))
    forest = CandidateForest.compile([booster], n_query=N_QUERY, candidates=candidates)
    for _ in range(3):
        query, mixed = rng.normal(size=N_QUERY), rng.normal(size=(n_candidates, N_MIXED))
        np.testing.assert_allclose(forest.predict(query, mixed),
                                   booster.predict(_rows(query, candidates, mixed)), atol=1e-12)
    return forest


def test_trees_of_different_sizes_in_one_forest() -> None:
    """On a small table the trees stop at different sizes (here 10 to 13 leaves of 31
    allowed); each tree's leaves keep their own values."""
    rng = np.random.default_rng(5)
    X, y = _data(rng, 120)
    booster = lgb.LGBMRegressor(n_estimators=60, num_leaves=31, min_child_samples=8, verbose=-1,
                                n_jobs=1).fit(X, y).booster_
    assert len({t["num_leaves"] for t in booster.dump_model()["tree_info"]}) > 1
    _matches_its_booster(booster, rng, 20)


def test_wide_trees_use_64_bit_masks() -> None:
    """Trees of 33 to 64 leaves still compile (one bit per leaf in 64 bits)."""
    rng = np.random.default_rng(2)
    X, y = _data(rng, 2000)
    booster = lgb.LGBMRegressor(n_estimators=10, num_leaves=60, min_child_samples=3, verbose=-1,
                                n_jobs=1).fit(X, y).booster_
    assert _matches_its_booster(booster, rng, 30).candidate_exits.dtype == np.uint64


def test_what_the_forest_cannot_compile_or_predict_is_refused_clearly() -> None:
    rng = np.random.default_rng(3)
    X, y = _data(rng, 3000)
    candidates = rng.normal(size=(5, N_CANDIDATE))
    with pytest.raises(ValueError, match="at least one booster"):
        CandidateForest.compile([], n_query=N_QUERY, candidates=candidates)
    wide = lgb.LGBMRegressor(n_estimators=3, num_leaves=100, min_child_samples=2, verbose=-1,
                             n_jobs=1).fit(X, y).booster_
    assert wide.dump_model()["tree_info"][0]["num_leaves"] > 64
    with pytest.raises(ValueError, match="up to 64 leaves"):
        CandidateForest.compile([wide], n_query=N_QUERY, candidates=candidates)
    binary = lgb.LGBMClassifier(n_estimators=3, verbose=-1, n_jobs=1).fit(X, y > 0).booster_
    with pytest.raises(ValueError, match="squared-error regression; got objective 'binary'"):
        CandidateForest.compile([binary], n_query=N_QUERY, candidates=candidates)
    cat = np.column_stack([rng.integers(0, 5, size=len(X)), X[:, 1:]])
    categorical = lgb.train({"objective": "regression", "verbose": -1, "min_data_per_group": 5,
                             "cat_smooth": 1},
                            lgb.Dataset(cat, y * (cat[:, 0] == 2), categorical_feature=[0]), 5)
    with pytest.raises(ValueError, match="numerical splits only"):
        CandidateForest.compile([categorical], n_query=N_QUERY, candidates=candidates)
    linear = lgb.LGBMRegressor(n_estimators=3, linear_tree=True, verbose=-1, n_jobs=1).fit(X, y)
    with pytest.raises(ValueError, match="linear trees"):
        CandidateForest.compile([linear.booster_], n_query=N_QUERY, candidates=candidates)
    forest = CandidateForest.compile(_boosters(X, y, n=1), n_query=N_QUERY, candidates=candidates)
    with pytest.raises(ValueError, match="query has 3 values; the forest was compiled for 4"):
        forest.predict(np.zeros(3), np.zeros((5, N_MIXED)))
    with pytest.raises(ValueError, match="give them for each of the 5 candidates"):
        forest.predict(np.zeros(N_QUERY))
