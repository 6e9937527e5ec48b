"""A transferred search space and configurations proposed over a family's continuous space.

A synthetic seed matrix where LightGBM's learning rate decides: fast learners win on tables
with mostly categorical columns, slow ones elsewhere. The box of the best configurations on
similar tables must hold them and stay within the family's space; the default recommender's
ranker must score an unseen configuration as it scores the evaluated ones, and propose the
right region; the points must reach Optuna as they are.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import optuna
import pandas as pd
import pytest

from metakg.kg.graph import make_configuration
from metakg.kg.spaces import portfolio
from metakg.metalearner import MetaRecommender
from metakg.metalearner.knowledge import MetaData, normalise_scores
from metakg.metalearner.policy import RankerPolicy, load_policy
from metakg.metalearner.recommenders import (
    NearestDatasetsRecommender,
    Query,
)
from metakg.metalearner.warmstart import (
    WarmStartError,
    best_on_similar,
    family_space,
    optuna_distributions,
    optuna_enqueue,
    ranked_configurations,
    sample_configurations,
    score_configurations,
    transferred_space,
)
from metakg.metalearner.warmstart.transfer import _distance

LR_MID = math.sqrt(0.01 * 0.3)  # the middle of LightGBM's learning-rate range on its log scale


def _meta(n_tables: int = 30, seed: int = 0) -> MetaData:
    rng = np.random.default_rng(seed)
    lgbm = sample_configurations(family_space("lightgbm"), 16, seed=seed)
    configs = {make_configuration(c).id: c for c in [*portfolio(20), *lgbm]}
    ids = [f"d{i}" for i in range(n_tables)]
    frac_cat = rng.random(n_tables)
    mf = pd.DataFrame({"frac_cat": frac_cat, "log_nr_inst": rng.uniform(5, 9, n_tables),
                       "lm_1nn": rng.uniform(0.6, 0.9, n_tables),
                       "lm_stump": rng.uniform(0.6, 0.9, n_tables)}, index=ids)
    raw = pd.DataFrame(0.7 + 0.01 * rng.random((n_tables, len(configs))), index=ids,
                       columns=list(configs))
    for c, cfg in configs.items():
        if cfg["family"] == "lightgbm":
            fast = math.log(cfg["params"]["learning_rate"] / LR_MID)
            raw[c] += 0.05 + 0.05 * np.where(frac_cat > 0.5, fast, -fast)
    higher = pd.Series(True, index=ids)
    return MetaData(task_type="classification", datasets=ids, names={d: d for d in ids},
                    raw=raw, norm=normalise_scores(raw, higher),
                    metric=dict.fromkeys(ids, "roc_auc"), higher=dict.fromkeys(ids, True),
                    configs=configs, families={c: cfg["family"] for c, cfg in configs.items()},
                    metafeatures=mf)


@pytest.fixture(scope="module")
def meta() -> MetaData:
    return _meta()


@pytest.fixture(scope="module")
def default(meta: MetaData) -> MetaRecommender:
    """The default recommender, with a small ranker."""
    policy = replace(load_policy("roc_auc"), ranker=RankerPolicy(n_bags=2, n_estimators=100))
    return MetaRecommender(policy=policy).fit(meta)


def _query(frac_cat: float) -> Query:
    return Query(metafeatures={"frac_cat": frac_cat, "log_nr_inst": 7.0, "lm_1nn": 0.75,
                               "lm_stump": 0.75})


def _lgbm(meta: MetaData) -> list[dict]:
    return [c for c in meta.configs.values() if c["family"] == "lightgbm"]


def test_the_box_holds_the_configurations_within_the_familys_space(meta: MetaData) -> None:
    best = _lgbm(meta)[:4]
    extra = _lgbm(meta)[4]
    whole = {d.name: d for d in family_space("lightgbm").dims}
    box = transferred_space("lightgbm", best, include=[extra])
    assert box.family == "lightgbm"
    for d in box.dims:
        values = [c["params"][d.name] for c in [*best, extra]]
        assert d.low == pytest.approx(min(values)) or d.kind == "int"
        assert d.low <= min(values) and max(values) <= d.high
        assert whole[d.name].low <= d.low <= d.high <= whole[d.name].high
    # narrower than the family's space, and a margin widens it without leaving the space
    assert any(d.high - d.low < whole[d.name].high - whole[d.name].low for d in box.dims)
    wide = transferred_space("lightgbm", best, margin=10.0)
    for d, w in zip(transferred_space("lightgbm", best).dims, wide.dims, strict=True):
        assert w.low <= d.low and d.high <= w.high
        assert whole[d.name].low <= w.low and w.high <= whole[d.name].high
    for c in [*best, extra]:  # the space takes each configuration as it is
        assert box.config(box.point(c)) == c


def test_a_box_keeps_the_choices_made_and_the_ranges_nobody_set() -> None:
    configs = [{"family": "knn", "params": {"n_neighbors": 5, "weights": "distance"}},
               {"family": "knn", "params": {"n_neighbors": 9, "weights": "distance"}}]
    box = {d.name: d for d in transferred_space("knn", configs).dims}
    assert box["weights"].choices == ("distance",)
    assert (box["n_neighbors"].low, box["n_neighbors"].high) == (5, 9)
    whole = {d.name: d for d in family_space("knn").dims}
    p = box["p"]  # no configuration sets it: the whole range (left unset, as they leave it)
    assert (p.low, p.high, p.log, p.optional) == (whole["p"].low, whole["p"].high, whole["p"].log, True)


def test_a_least_width_keeps_room_around_configurations_that_agree(meta: MetaData) -> None:
    one = _lgbm(meta)[0]
    tight = {d.name: d for d in transferred_space("lightgbm", [one, one]).dims}
    assert tight["learning_rate"].low == tight["learning_rate"].high
    roomy = {d.name: d for d in transferred_space("lightgbm", [one], min_width=0.2).dims}
    whole = {d.name: d for d in family_space("lightgbm").dims}
    for name, d in roomy.items():
        w = whole[name]
        assert w.low <= d.low <= one["params"][name] <= d.high <= w.high
        if w.log:
            assert math.log(d.high / d.low) >= 0.2 * math.log(w.high / w.low) - 1e-9 - (
                math.log((d.high + 1) / d.high) if d.kind == "int" else 0)
        else:
            assert d.high - d.low >= 0.2 * (w.high - w.low) - 1e-9
    with pytest.raises(WarmStartError, match="min_width"):
        transferred_space("lightgbm", [one], min_width=1.5)


def test_bad_input_is_refused(meta: MetaData, default: MetaRecommender) -> None:
    with pytest.raises(WarmStartError, match="no lightgbm configuration"):
        transferred_space("lightgbm", [{"family": "knn", "params": {"n_neighbors": 3}}])
    with pytest.raises(WarmStartError, match="margin"):
        transferred_space("lightgbm", _lgbm(meta)[:2], margin=-0.1)
    with pytest.raises(WarmStartError, match="knn space"):
        transferred_space("lightgbm", _lgbm(meta)[:2], within=family_space("knn"))
    with pytest.raises(WarmStartError, match="k must be"):
        best_on_similar(meta, {"d0": 1.0}, "lightgbm", k=0)
    with pytest.raises(WarmStartError, match="no similar table"):
        best_on_similar(meta, {"elsewhere": 1.0}, "lightgbm")
    with pytest.raises(WarmStartError, match="n must be"):
        ranked_configurations(default, _query(0.9), "lightgbm", n=0)
    with pytest.raises(WarmStartError, match="min_distance"):
        ranked_configurations(default, _query(0.9), "lightgbm", min_distance=1.5)
    with pytest.raises(WarmStartError, match="knn space"):
        ranked_configurations(default, _query(0.9), "lightgbm", space=family_space("knn"))
    nearest = NearestDatasetsRecommender().fit(meta)
    with pytest.raises(WarmStartError, match="NearestDatasetsRecommender is not a fitted MetaRecommender"):
        score_configurations(nearest, _query(0.9), _lgbm(meta))


def test_the_best_on_similar_tables_come_most_similar_first(meta: MetaData) -> None:
    similar = pd.Series({"d3": 0.9, "d7": 0.5, "d1": 0.7})
    got = best_on_similar(meta, similar, "lightgbm", k=2)
    columns = [c for c, cfg in meta.configs.items() if cfg["family"] == "lightgbm"]
    assert got == [meta.configs[meta.norm.loc[d, columns].idxmax()] for d in ("d3", "d1")]


def test_draws_stay_in_the_space_and_follow_the_seed() -> None:
    space = transferred_space("lightgbm", [
        {"family": "lightgbm", "params": {"learning_rate": 0.02, "num_leaves": 10}},
        {"family": "lightgbm", "params": {"learning_rate": 0.05, "num_leaves": 40}}])
    draws = sample_configurations(space, 300, seed=3)
    assert draws == sample_configurations(space, 300, seed=3)
    for c in draws:
        assert space.config(space.point(c)) == c  # every value inside its range
        assert isinstance(c["params"]["num_leaves"], int)
        assert 0.02 <= c["params"]["learning_rate"] <= 0.05
    assert {c["params"]["num_leaves"] for c in draws} == set(range(10, 41))


def test_the_default_scores_unseen_configurations_as_its_candidates(
        meta: MetaData, default: MetaRecommender) -> None:
    query = _query(0.9)
    ids = [c for c, cfg in meta.configs.items() if cfg["family"] == "lightgbm"]
    positions = [default.config_ids_.index(c) for c in ids]
    expected = default.predicted(query)[positions]
    got = score_configurations(default, query, [meta.configs[c] for c in ids])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    with pytest.raises(WarmStartError, match="not a fitted MetaRecommender"):
        score_configurations(MetaRecommender(), query, [meta.configs[ids[0]]])


@pytest.mark.parametrize(("frac_cat", "fast"), [(0.9, True), (0.1, False)])
def test_the_ranker_proposes_the_region_that_wins_on_such_tables(
        default: MetaRecommender, frac_cat: float, fast: bool) -> None:
    points = ranked_configurations(default, _query(frac_cat), "lightgbm", n=5, samples=500,
                                   min_distance=0.1)
    assert len(points) == 5
    rates = [p["params"]["learning_rate"] for p in points]
    assert all((r > LR_MID) == fast for r in rates), rates
    space = family_space("lightgbm")
    assert all(_distance(a, b, space) >= 0.1 for i, a in enumerate(points) for b in points[:i])


def test_proposed_points_and_the_box_round_trip_into_optuna(
        meta: MetaData, default: MetaRecommender) -> None:
    query = _query(0.9)
    bests = best_on_similar(meta, default.neighbours(query), "lightgbm", k=5)
    box = transferred_space("lightgbm", bests, min_width=0.2)
    points = ranked_configurations(default, query, "lightgbm", n=3, samples=200, space=box,
                                   candidates=_lgbm(meta))
    dists = optuna_distributions(box)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0))
    assert optuna_enqueue(study, points, box) == 3
    seen = []

    def objective(trial: optuna.Trial) -> float:
        params = {n: (trial.suggest_int(n, d.low, d.high, log=d.log)
                      if isinstance(d, optuna.distributions.IntDistribution)
                      else trial.suggest_float(n, d.low, d.high, log=d.log))
                  for n, d in dists.items()}
        seen.append({"family": "lightgbm", "params": params})
        return 0.0

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=5)
    assert seen[:3] == points
    for c in seen:  # TPE's own trials stay in the box too
        assert box.config(box.point(c)) == c
