"""Each tuner evaluates the recommended configurations first, every parameter kept.

Over the real portfolio (``portfolio(60)``: every family six times) and the published
configurations, plus one configuration per family that sets every declared parameter: for each
family × tuner, metakg's space is built, the configurations are exported, and what the tuner
evaluates comes back equal, parameter by parameter and through ``build_estimator``'s model; each
tuner then really fits the first one on a 200-row table.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metakg.kg.published import published_configurations
from metakg.kg.spaces import FAMILIES, portfolio
from metakg.metalearner.warmstart import (
    Bound,
    TunerSpace,
    WarmStartError,
    family_space,
    flaml_learner,
    flaml_points,
    flaml_starting_points,
    hyperopt_points,
    hyperopt_space,
    hyperopt_trials,
    map_config,
    optuna_add_trials,
    optuna_config,
    optuna_distributions,
    optuna_enqueue,
    ray_tune_points,
    ray_tune_space,
    smac_configspace,
    smac_configurations,
    syne_tune_points,
    syne_tune_space,
)

FAMILY_NAMES = list(FAMILIES)


def _every_param(family: str) -> dict[str, Any]:
    """The family's default with every other declared parameter set too (fixed ones at the
    low end of their range, choices at their last value), so each reaches the tuners."""
    params = dict(FAMILIES[family].default()["params"])
    for p in FAMILIES[family].params:
        if p.name not in params:
            params[p.name] = p.choices[-1] if p.choices else (int(p.low) if p.integer else float(p.low))
    return {"family": family, "params": params}


def _recs(family: str) -> list[dict[str, Any]]:
    """The family's configurations, distinct, default first (cheap to fit)."""
    configs = [c for c in portfolio(60) if c["family"] == family]
    configs += [p.config for p in published_configurations() if p.config["family"] == family]
    out: list[dict[str, Any]] = []
    for c in [*configs, _every_param(family)]:
        if c not in out:
            out.append(c)
    return out


def _model_params(config: dict[str, Any]) -> dict[str, Any]:
    """``get_params()`` of the model step ``build_estimator`` fits (nested estimators left out)."""
    from metakg.runner.estimators import _pipeline, build_estimator

    build_estimator(config)  # validates
    model = _pipeline(config, "classification", "cpu", 0).named_steps["model"]
    return {k: v for k, v in model.get_params(deep=True).items()
            if not hasattr(v, "get_params") and k != "steps"}


def _assert_same(got: dict[str, Any], want: dict[str, Any], *, places: int | None = None) -> None:
    """Equal parameter by parameter and as fitted models (``places``: floats rounded, SMAC)."""
    assert got["family"] == want["family"]
    assert set(got["params"]) == set(want["params"]), (got, want)
    for name, value in want["params"].items():
        if places is not None and isinstance(value, float):
            assert got["params"][name] == pytest.approx(value, abs=10.0**-places), name
        else:
            assert got["params"][name] == value, name
            assert isinstance(got["params"][name], bool) == isinstance(value, bool), name
    mine, theirs = _model_params(got), _model_params(want)
    assert mine == (theirs if places is None else pytest.approx(theirs, abs=10.0**-places, nan_ok=True))


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, pd.Series]:
    """200 rows: numbers, a category and missing values; a binary string target."""
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    X = pd.DataFrame({"x": x, "noise": rng.normal(size=n),
                      "colour": pd.Categorical(rng.choice(["red", "green", "blue"], size=n))})
    X.loc[::9, "noise"] = np.nan
    y = pd.Series(np.where(x + 0.3 * rng.normal(size=n) > 0, "yes", "no"))
    return X, y


def _fit_score(config: dict[str, Any], table: tuple[pd.DataFrame, pd.Series]) -> float:
    """Fit ``build_estimator(config)`` on 150 rows; accuracy on the other 50."""
    from metakg.runner.estimators import build_estimator

    X, y = table
    model = build_estimator(config, task="classification", device="cpu").fit(X[:150], y[:150])
    return float((model.predict(X[150:]) == y[150:].to_numpy()).mean())


# ----- metakg's space ----------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_family_space_holds_every_parameter_and_round_trips(family: str) -> None:
    recs = _recs(family)
    space = family_space(family, recs)
    assert {d.name for d in space.dims} == set(FAMILIES[family].by_name)
    for config in recs:
        assert space.config(space.point(config)) == config
    # without recommendations: the searched parameters only, always set
    plain = family_space(family)
    assert {d.name for d in plain.dims} == {p.name for p in FAMILIES[family].params if p.sampled}
    assert not any(d.optional for d in plain.dims)


def test_family_space_widens_ranges_and_leaves_log_scale_for_zero() -> None:
    space = family_space("lightgbm", [p.config for p in published_configurations()])
    dims = {d.name: d for d in space.dims}
    assert dims["n_estimators"].high == 32767 and dims["n_estimators"].log
    assert dims["learning_rate"].low == pytest.approx(0.0016660662914022302)
    assert dims["reg_lambda"].low == 0.0 and not dims["reg_lambda"].log  # a published 0
    assert dims["early_stopping_rounds"].optional and dims["num_leaves"].optional
    with pytest.raises(WarmStartError, match="xgboost configuration does not fit the lightgbm"):
        space.point({"family": "xgboost", "params": {}})


# ----- Optuna ------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_optuna_evaluates_every_recommendation_first(family: str, table: Any) -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    recs = _recs(family)
    space = family_space(family, recs)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    assert optuna_enqueue(study, recs, space) == len(recs)
    seen: list[dict[str, Any]] = []

    def objective(trial: Any) -> float:
        config = optuna_config(trial, space)
        seen.append(config)
        return _fit_score(config, table)

    study.optimize(objective, n_trials=1)  # really runs the first one
    _assert_same(seen[0], recs[0])
    for want in recs[1:]:  # the others, in order, without fitting
        _assert_same(optuna_config(study.ask(), space), want)


def test_optuna_keeps_predictions_out_of_trial_values() -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    recs = [{"config": c, "config_id": f"c{i}", "expected_score": 0.9 - i / 100}
            for i, c in enumerate(_recs("lightgbm")[:3])]
    space = family_space("lightgbm", recs)
    study = optuna.create_study(direction="maximize")
    optuna_enqueue(study, recs, space)
    study.optimize(lambda t: len(optuna_config(t, space)["params"]) / 100, n_trials=3)
    for trial, rec in zip(study.trials, recs, strict=True):
        assert trial.user_attrs == {"metakg_expected_score": rec["expected_score"],
                                    "metakg_config_id": rec["config_id"]}
        assert trial.value == len(rec["config"]["params"]) / 100  # measured, not predicted
    # measured runs only: (config, score) pairs, or recommendations with an observed score
    known = optuna.create_study(direction="maximize")
    runs = [(recs[0]["config"], 0.81)]
    assert optuna_add_trials(known, runs, space) == 1
    run_json = {"recommendations": [{**recs[1], "observed_score": 0.8}]}  # `recommend --run --json`
    assert optuna_add_trials(known, run_json, space) == 1
    assert [t.value for t in known.trials] == [0.81, 0.8]
    assert all(t.user_attrs == {"metakg_measured": True} for t in known.trials)
    assert known.best_trial.params["n_estimators"] == recs[0]["config"]["params"]["n_estimators"]
    dists = optuna_distributions(space)
    for bad, why in ((recs, "expected_score. is a prediction"), ([(recs[0]["config"], None)], "None"),
                     ([_Rec(recs[0]["config"], 0.9)], "carries a prediction")):
        with pytest.raises(WarmStartError, match=f"entry 1 has no measured score.*{why}"):
            optuna_add_trials(known, bad, dists)
    assert len(known.trials) == 2


class _Rec:
    """A Recommendation-like object: a configuration and a predicted score."""

    def __init__(self, config: dict[str, Any], expected_score: float) -> None:
        self.config, self.expected_score, self.config_id = config, expected_score, "x"


# ----- hyperopt ----------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_hyperopt_evaluates_every_recommendation_first(family: str, table: Any) -> None:
    pytest.importorskip("hyperopt")
    from hyperopt import STATUS_OK, fmin, tpe

    recs = _recs(family)
    space = family_space(family, recs)
    seen: list[dict[str, Any]] = []

    def objective(params: dict[str, Any]) -> dict[str, Any]:
        seen.append(space.config(params))
        score = _fit_score(seen[-1], table) if len(seen) == 1 else 0.0  # fit the first only
        return {"loss": -score, "status": STATUS_OK}

    fmin(objective, hyperopt_space(space), algo=tpe.suggest, max_evals=len(recs),
         points_to_evaluate=hyperopt_points(recs, space), rstate=np.random.default_rng(0),
         show_progressbar=False)
    for got, want in zip(seen[: len(recs)], recs, strict=True):
        _assert_same(got, want)


# ----- SMAC3 -------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_smac_evaluates_every_recommendation_first(family: str, table: Any, tmp_path: Any) -> None:
    pytest.importorskip("smac")
    from smac import HyperparameterOptimizationFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    recs = _recs(family)
    space = family_space(family, recs)
    cs = smac_configspace(space)
    configs = smac_configurations(recs, space)
    scenario = Scenario(cs, deterministic=True, n_trials=len(recs) + 2, output_directory=str(tmp_path))
    design = HyperparameterOptimizationFacade.get_initial_design(scenario, n_configs=0,
                                                                  additional_configs=configs)
    smac = HyperparameterOptimizationFacade(scenario, lambda config, seed=0: 0.0,
                                            initial_design=design, overwrite=True, logging_level=40)
    first = smac.ask()
    smac.tell(first, TrialValue(cost=-_fit_score(space.config(dict(first.config)), table)))
    asked = [first] + [smac.ask() for _ in recs[1:]]
    for info, want in zip(asked, recs, strict=True):  # ConfigSpace keeps 13 decimal places
        _assert_same(space.config(dict(info.config)), want, places=12)


# ----- Ray Tune ----------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_ray_tune_points_lie_in_the_space(family: str) -> None:
    pytest.importorskip("ray.tune")
    from metakg.metalearner.warmstart.space import _domain_bound

    recs = _recs(family)
    space = family_space(family, recs)
    domains = ray_tune_space(space)
    points = ray_tune_points(recs, space)
    assert set(points[0]) == set(domains)
    for point, want in zip(points, recs, strict=True):
        _assert_same(space.config(point), want)
        for name, value in point.items():
            b = _domain_bound(domains[name])
            assert value in b.choices if b.choices else b.low <= value <= b.high, name


@pytest.mark.ray
def test_ray_tune_runs_the_recommendations_first(table: Any, tmp_path: Any) -> None:
    pytest.importorskip("ray.tune")
    import ray
    from ray import tune
    from ray.tune.search import BasicVariantGenerator

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        for family in FAMILY_NAMES:
            recs = _recs(family)[:2]
            space = family_space(family, recs)

            # self-contained: Ray's workers cannot import this test module
            def trainable(config: dict, space: TunerSpace = space, table: Any = table) -> dict:
                from metakg.runner.estimators import build_estimator

                X, y = table
                model = build_estimator(space.config(config), task="classification", device="cpu")
                model.fit(X[:150], y[:150])
                return {"score": float((model.predict(X[150:]) == y[150:].to_numpy()).mean())}

            tuner = tune.Tuner(trainable, param_space=ray_tune_space(space), tune_config=tune.TuneConfig(
                search_alg=BasicVariantGenerator(points_to_evaluate=ray_tune_points(recs, space),
                                                 max_concurrent=1),
                num_samples=2, metric="score", mode="max"),
                run_config=tune.RunConfig(storage_path=str(tmp_path), name=family, verbose=0))
            results = tuner.fit()
            assert not results.errors, family
            got = [space.config(c) for _, c in sorted((r.metrics["trial_id"], r.config) for r in results)]
            for g, want in zip(got, recs, strict=True):
                _assert_same(g, want)
    finally:
        ray.shutdown()


# ----- Syne Tune ---------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_syne_tune_suggests_every_recommendation_first(family: str, table: Any) -> None:
    pytest.importorskip("syne_tune")
    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer.baselines import RandomSearch

    recs = _recs(family)
    space = family_space(family, recs)
    scheduler = RandomSearch(syne_tune_space(space), metrics=["score"], do_minimize=False,
                             points_to_evaluate=syne_tune_points(recs, space), random_seed=0)
    for i, want in enumerate(recs):
        suggestion = scheduler.suggest()
        config = space.config(suggestion.config)
        _assert_same(config, want)
        if i == 0:  # really run the first one and report its score
            trial = Trial(trial_id=0, config=suggestion.config, creation_time=datetime.now())
            scheduler.on_trial_add(trial)
            scheduler.on_trial_complete(trial, {"score": _fit_score(config, table)})


# ----- FLAML -------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_flaml_learner_starts_from_the_recommendations(family: str, table: Any) -> None:
    pytest.importorskip("flaml")
    from flaml import AutoML

    recs = _recs(family)
    space = family_space(family, recs)
    points = flaml_points(recs, space)
    for point, want in zip(points, recs, strict=True):
        _assert_same(space.config(point), want)
    name = f"metakg_{family}"
    automl = AutoML()
    from metakg.runner.estimators import build_estimator

    automl.add_learner(name, flaml_learner(space, build_estimator))
    X, y = table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automl.fit(X, y, task="classification", estimator_list=[name], max_iter=1, time_budget=30,
                   starting_points={name: points[:1]}, eval_method="holdout", verbose=0,
                   n_jobs=1, retrain_full=False)
    _assert_same(space.config(automl.config_history[0][1]), recs[0])
    assert automl.model.metakg_config == recs[0]


def test_flaml_built_in_estimators_keep_what_their_spaces_hold() -> None:
    pytest.importorskip("flaml")
    xgb = {"family": "xgboost", "params": {"learning_rate": 0.1, "n_estimators": 300, "max_depth": 4}}
    lgbm = {"family": "lightgbm", "params": {"n_estimators": 2000, "num_leaves": 300}}
    points = flaml_starting_points([xgb, lgbm])
    assert points["xgb_limitdepth"] == [xgb["params"]]  # max_depth kept
    assert points["lgbm"] == [lgbm["params"]]  # nothing clipped to a made-up data size
    with pytest.raises(WarmStartError, match=r"n_estimators=2000: outside the space's range \[4, 199\]"):
        flaml_starting_points([lgbm], data_size=(200, 3))
    cat = {"family": "catboost", "params": {"iterations": 500, "depth": 7, "learning_rate": 0.05}}
    with pytest.raises(WarmStartError, match=r"depth=7: the space has no parameter 'depth'.*family_space"):
        flaml_starting_points([cat])
    with pytest.raises(WarmStartError, match=r"no built-in estimator for knn.*flaml_learner"):
        flaml_starting_points([{"family": "knn", "params": {"n_neighbors": 3}}])
    with pytest.warns(UserWarning, match="depth=7"):
        # FLAML's CatBoost fixes its tree count (8192, early stopping): only the learning rate is left
        assert flaml_starting_points([cat], strict=False) == {"catboost": [{"learning_rate": 0.05}]}


# ----- your own space: strict by default, lenient on request --------------------------------
RECS = [
    {"config": {"family": "lightgbm", "params": {"learning_rate": 0.05, "num_leaves": 63,
                                                 "n_estimators": 200, "subsample": 0.8}},
     "expected_score": 0.91},
    {"config": {"family": "lightgbm", "params": {"learning_rate": 0.5, "num_leaves": 15}},
     "expected_score": 0.89},
    {"config": {"family": "random_forest", "params": {"n_estimators": 100}}, "expected_score": 0.9},
]


def test_map_config_is_strict_unless_asked() -> None:
    bounds = {"learning_rate": Bound(0.01, 0.3), "num_leaves": Bound(8, 128, integer=True),
              "boosting": Bound(choices=("gbdt",))}
    with pytest.raises(WarmStartError) as err:
        map_config(RECS[0]["config"], bounds, family="lightgbm")
    assert "n_estimators=200: the space has no parameter 'n_estimators'" in str(err.value)
    assert "subsample=0.8: the space has no parameter 'subsample'" in str(err.value)
    with pytest.warns(UserWarning, match="subsample=0.8") as caught:
        assert map_config(RECS[0]["config"], bounds, family="lightgbm", strict=False) == {
            "learning_rate": 0.05, "num_leaves": 63}
    assert len(caught) == 1
    with pytest.raises(WarmStartError, match=r"learning_rate=0.5: outside the space's range \[0.01, 0.3\]"):
        map_config(RECS[1]["config"], bounds)
    with pytest.warns(UserWarning):
        assert map_config(RECS[1]["config"], bounds, strict=False)["learning_rate"] == 0.3
    with pytest.raises(WarmStartError, match=r"boosting='dart': not among the space's choices \['gbdt'\]"):
        map_config({"family": "lightgbm", "params": {"boosting": "dart"}}, bounds)
    assert map_config(RECS[2]["config"], bounds, family="lightgbm") is None


def test_user_spaces_strict_and_lenient() -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {"learning_rate": optuna.distributions.FloatDistribution(0.01, 0.3, log=True),
             "num_leaves": optuna.distributions.IntDistribution(8, 128, log=True)}
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    with pytest.raises(WarmStartError, match=r"family_space.*strict=False") as err:
        optuna_enqueue(study, RECS, dists)
    for part in ("n_estimators=200", "subsample=0.8", "learning_rate=0.5: outside"):
        assert part in str(err.value)
    assert not study.trials and study._storage.get_all_trials(study._study_id) == []
    with pytest.warns(UserWarning, match="subsample=0.8"):
        assert optuna_enqueue(study, RECS, dists, strict=False) == 2
    seen = []

    def objective(trial: Any) -> float:
        p = {"learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
             "num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True)}
        seen.append(p)
        return -abs(p["learning_rate"] - 0.05)

    study.optimize(objective, n_trials=3)
    assert seen[:2] == [{"learning_rate": 0.05, "num_leaves": 63}, {"learning_rate": 0.3, "num_leaves": 15}]
    # a space that holds everything: strict passes
    fits = [RECS[0]]
    assert optuna_enqueue(optuna.create_study(), fits, {
        **dists, "n_estimators": optuna.distributions.IntDistribution(50, 500),
        "subsample": optuna.distributions.FloatDistribution(0.5, 1.0)}) == 1


def test_other_tools_with_user_spaces(tmp_path: Any) -> None:
    pytest.importorskip("hyperopt")
    pytest.importorskip("smac")
    pytest.importorskip("syne_tune")
    pytest.importorskip("ray.tune")
    from ConfigSpace import ConfigurationSpace, Float, Integer
    from hyperopt import STATUS_OK, fmin, hp, tpe
    from ray import tune
    from syne_tune.config_space import lograndint, loguniform

    lgbm = [r for r in RECS if r["config"]["family"] == "lightgbm"]
    hp_space = {"learning_rate": hp.loguniform("learning_rate", np.log(0.01), np.log(0.3)),
                "num_leaves": hp.quniform("num_leaves", 8, 128, 1),
                "boosting": hp.choice("boosting", ["gbdt", "dart"])}
    with pytest.raises(WarmStartError, match="your hyperopt space"):
        hyperopt_points(lgbm, hp_space)
    with pytest.warns(UserWarning):
        points = hyperopt_points(lgbm, hp_space, strict=False)
    assert points[0] == {"learning_rate": 0.05, "num_leaves": 63, "boosting": 0}  # choice index
    seen = []
    fmin(lambda p: seen.append(p) or {"loss": 0.0, "status": STATUS_OK}, hp_space, algo=tpe.suggest,
         max_evals=1, trials=hyperopt_trials(lgbm[:1], hp_space, strict=False),
         rstate=np.random.default_rng(0), show_progressbar=False)
    assert seen[0]["num_leaves"] == 63

    cs = ConfigurationSpace(seed=0)
    cs.add([Float("learning_rate", (0.01, 0.3), log=True), Integer("num_leaves", (8, 128), log=True)])
    with pytest.raises(WarmStartError, match="your ConfigSpace space"):
        smac_configurations(lgbm, cs)
    with pytest.warns(UserWarning):
        assert dict(smac_configurations(lgbm, cs, strict=False)[0]) == {"learning_rate": 0.05, "num_leaves": 63}

    ray_space = {"learning_rate": tune.loguniform(0.01, 0.3), "num_leaves": tune.lograndint(8, 128)}
    with pytest.raises(WarmStartError, match=r"num_leaves=128.*\[8, 127\]"):  # Ray's upper bound is exclusive
        ray_tune_points([{"family": "lightgbm", "params": {"num_leaves": 128}}], ray_space)
    syne_space = {"learning_rate": loguniform(0.01, 0.3), "num_leaves": lograndint(8, 128)}
    assert syne_tune_points([{"family": "lightgbm", "params": {"num_leaves": 128}}], syne_space) == [
        {"num_leaves": 128}]
    with pytest.warns(UserWarning):
        assert ray_tune_points(lgbm, ray_space, strict=False)[0] == {"learning_rate": 0.05, "num_leaves": 63}

    pytest.importorskip("flaml")
    from flaml import tune as flaml_tune

    flaml_space = {"learning_rate": {"domain": flaml_tune.loguniform(0.01, 0.3)},
                   "num_leaves": {"domain": flaml_tune.lograndint(8, 128)}}
    with pytest.raises(WarmStartError, match=r"subsample=0.8"):
        flaml_points(RECS, flaml_space)
    # a FLAML dict names no family: LightGBM's are taken, as by the other tools' converters
    with pytest.warns(UserWarning):
        assert flaml_points(RECS, flaml_space, strict=False) == [
            {"learning_rate": 0.05, "num_leaves": 63}, {"learning_rate": 0.3, "num_leaves": 15}]


def test_metakg_space_built_without_the_recommendations_is_strict_too() -> None:
    pytest.importorskip("ray.tune")
    published = next(p.config for p in published_configurations() if p.name == "lightgbm-autogluon")
    plain = family_space("lightgbm")  # searched parameters only, always set
    with pytest.raises(WarmStartError) as err:
        ray_tune_points([published], plain)
    text = str(err.value)
    assert "early_stopping_rounds=300: the space has no parameter 'early_stopping_rounds'" in text
    assert "n_estimators=10000: outside the space's range [50, 500]" in text
    assert "num_leaves is unset, but the space always sets it" in text
    assert "family_space('lightgbm', recs)" in text
    with pytest.warns(UserWarning, match="early_stopping_rounds=300") as caught:
        point = ray_tune_points([published], plain, strict=False)[0]
    assert len(caught) == 1 and point["n_estimators"] == 500
    assert ray_tune_points([published], family_space("lightgbm", [published]))[0]["n_estimators"] == 10000


@pytest.mark.seed
@pytest.mark.subprocess
def test_the_readme_quickstart_warm_starts_optuna_as_written(tmp_path: Path) -> None:
    """The README's tuner quickstart, run as written (two trials) on a shipped sample table,
    from an empty store: the study's first trials are the five recommendations."""
    import os
    import re
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    section = readme[readme.index("## Quickstart: warm-starting a tuner"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace("n_trials=30", "n_trials=7")
    script = ("import pandas as pd\ndf = pd.read_csv('data/samples/credit-g.csv')\n" + code
              + "\nassert len(study.trials) == 7\n"
              "assert all('metakg_expected_score' in t.user_attrs for t in study.trials[:5])\n"
              "assert all(t.value is not None for t in study.trials)\n")
    env = {**os.environ, "METAKG_STORE": str(tmp_path / "store"),
           "METAKG_CACHE": str(tmp_path / "cache"), "METAKG_WARM": "0"}
    env.pop("METAKG_SEED", None)  # the tests' own setting: the shipped seed here
    env.pop("METAKG_SHIPPED_MODELS", None)
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_recommendations_of_other_families_are_named_when_left_out() -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = family_space("lightgbm", RECS)
    study = optuna.create_study(direction="maximize")
    with pytest.warns(UserWarning, match=r"1 of the 3 recommendations are not lightgbm "
                                         r"configurations \(random_forest\) and are left out"):
        assert optuna_enqueue(study, RECS, space, strict=False) == 2
    knn_only = [{"config": {"family": "knn", "params": {"n_neighbors": 5}}}]
    with pytest.raises(WarmStartError, match=r"None of the 1 recommendations is a lightgbm "
                                             r"configuration \(they are knn\).*families=\['lightgbm'\]"):
        optuna_enqueue(study, knn_only, space)


def test_wrong_arguments_say_what_was_expected() -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = family_space("lightgbm", RECS)
    with pytest.raises(TypeError, match=r"optuna_distributions\(space\): expected metakg's space "
                                        r"of a family, family_space\(family, recs\), not dict"):
        optuna_distributions({"learning_rate": 0.1})
    study = optuna.create_study(direction="maximize")
    with pytest.raises(TypeError, match="are the arguments swapped"):
        optuna_enqueue(study, space, RECS)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Recommendation 1 is a int"):
        optuna_enqueue(study, [3], space)
    config = RECS[0]["config"]
    for runs, message in [([(config, "high")], "its score is 'high', not a number"),
                          ([(config,)], "not a 1-tuple"),
                          ([(config, float("nan"))], "needs a finite value")]:
        with pytest.raises(WarmStartError, match=re.escape(message)):
            optuna_add_trials(study, runs, space)
    assert optuna_add_trials(study, [(config, np.float32(0.8))], space, strict=False) == 1


def test_a_misspelt_parameter_is_named_not_dropped_in_silence() -> None:
    import warnings

    space = family_space("lightgbm")
    point = space.point(_recs("lightgbm")[0])
    with pytest.warns(UserWarning, match=r"'num_leave' \(did you mean 'num_leaves'\?\): not a "
                                         r"parameter of the lightgbm space"):
        config = space.config({**point, "num_leave": 7})
    assert config == space.config(point)  # left out: the configuration is as without it
    with warnings.catch_warnings():  # a tool's own keys are ignored without a word
        warnings.simplefilter("error")
        assert space.config({**point, "n_jobs": 2, "FLAML_sample_size": 100}) == config
