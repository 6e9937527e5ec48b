"""Each AutoML tool really evaluates the recommended configurations first."""

from __future__ import annotations

import pytest

from metakg.metalearner.warmstart import (
    Bound,
    flaml_starting_points,
    hyperopt_points,
    map_config,
    optuna_add_trials,
    optuna_enqueue,
    ray_tune_points,
    smac_configurations,
    syne_tune_points,
)

RECS = [
    {"config": {"family": "lightgbm", "params": {"learning_rate": 0.05, "num_leaves": 63,
                                                 "n_estimators": 200, "subsample": 0.8}},
     "expected_score": 0.91},
    {"config": {"family": "lightgbm", "params": {"learning_rate": 0.5, "num_leaves": 15,
                                                 "n_estimators": 80}}, "expected_score": 0.89},
    {"config": {"family": "random_forest", "params": {"n_estimators": 100}}, "expected_score": 0.9},
]


def test_mapping_drops_clips_and_skips_other_families() -> None:
    bounds = {"learning_rate": Bound(0.01, 0.3), "num_leaves": Bound(8, 128, integer=True)}
    assert map_config(RECS[0]["config"], bounds, family="lightgbm") == {
        "learning_rate": 0.05, "num_leaves": 63}
    assert map_config(RECS[1]["config"], bounds, family="lightgbm")["learning_rate"] == 0.3
    assert map_config(RECS[2]["config"], bounds, family="lightgbm") is None


def test_optuna_evaluates_enqueued_first_and_learns_known_scores() -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {"learning_rate": optuna.distributions.FloatDistribution(0.01, 0.3, log=True),
             "num_leaves": optuna.distributions.IntDistribution(8, 128, log=True)}
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    assert optuna_enqueue(study, RECS, dists) == 2
    seen = []

    def objective(trial: object) -> float:
        p = {"learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),  # type: ignore[attr-defined]
             "num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True)}  # type: ignore[attr-defined]
        seen.append(p)
        return -abs(p["learning_rate"] - 0.05)

    study.optimize(objective, n_trials=4)
    assert seen[0] == {"learning_rate": 0.05, "num_leaves": 63}
    assert seen[1] == {"learning_rate": 0.3, "num_leaves": 15}
    known = optuna.create_study(direction="maximize")
    assert optuna_add_trials(known, RECS, dists) == 2
    assert [t.value for t in known.trials] == [0.91, 0.89]


def test_flaml_starts_from_the_recommendations() -> None:
    pytest.importorskip("flaml")
    import numpy as np
    from flaml import AutoML

    points = flaml_starting_points(RECS)
    assert points["lgbm"][0]["num_leaves"] == 63 and "subsample" not in points["lgbm"][0]
    assert points["rf"] == [{"n_estimators": 100}]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    automl = AutoML()
    automl.fit(X, y, task="classification", estimator_list=["lgbm"], max_iter=2,
               starting_points={"lgbm": points["lgbm"][:1]}, verbose=0, n_jobs=1,
               retrain_full=False)
    first = automl.config_history[0][1]
    assert first["num_leaves"] == 63 and first["learning_rate"] == pytest.approx(0.05)


def test_hyperopt_evaluates_points_first() -> None:
    hyperopt = pytest.importorskip("hyperopt")
    from hyperopt import STATUS_OK, Trials, fmin, hp, tpe

    space = {"learning_rate": hp.loguniform("learning_rate", -5, -1),
             "num_leaves": hp.quniform("num_leaves", 8, 128, 1),
             "boosting": hp.choice("boosting", ["gbdt", "dart"])}
    points = hyperopt_points(RECS, space)
    assert points[0]["num_leaves"] == 63 and points[0]["boosting"] == 0  # index into choices
    seen = []

    def objective(p: dict) -> dict:
        seen.append(p)
        return {"loss": p["learning_rate"], "status": STATUS_OK}

    # hyperopt uses points_to_evaluate only when it makes its own Trials
    fmin(objective, space, algo=tpe.suggest, max_evals=3, points_to_evaluate=points,
         rstate=__import__("numpy").random.default_rng(0),
         show_progressbar=False)
    assert seen[0]["num_leaves"] == 63 and seen[0]["learning_rate"] == pytest.approx(0.05)
    # with a Trials object of one's own: hyperopt_trials seeds it
    from metakg.metalearner.warmstart import hyperopt_trials

    seen.clear()
    fmin(objective, space, algo=tpe.suggest, max_evals=3, trials=hyperopt_trials(RECS, space),
         rstate=__import__("numpy").random.default_rng(0), show_progressbar=False)
    assert seen[0]["num_leaves"] == 63
    _ = (hyperopt, Trials)


def test_smac_initial_design_contains_the_recommendations(tmp_path: object) -> None:
    pytest.importorskip("smac")
    from ConfigSpace import ConfigurationSpace, Float, Integer
    from smac import HyperparameterOptimizationFacade, Scenario

    cs = ConfigurationSpace(seed=0)
    cs.add([Float("learning_rate", (0.01, 0.3), log=True), Integer("num_leaves", (8, 128), log=True)])
    configs = smac_configurations(RECS, cs)
    assert len(configs) == 2 and configs[0]["num_leaves"] == 63
    scenario = Scenario(cs, deterministic=True, n_trials=5, output_directory=str(tmp_path))
    design = HyperparameterOptimizationFacade.get_initial_design(scenario, n_configs=2,
                                                                  additional_configs=configs)
    smac = HyperparameterOptimizationFacade(scenario, lambda config, seed=0: 0.0,
                                            initial_design=design, overwrite=True, logging_level=40)
    asked = [dict(smac.ask().config) for _ in range(2)]
    assert {"learning_rate": 0.05, "num_leaves": 63} in asked


@pytest.mark.ray
def test_ray_tune_evaluates_points_first(tmp_path: object) -> None:
    pytest.importorskip("ray.tune")
    from ray import tune
    from ray.tune.search import BasicVariantGenerator

    space = {"learning_rate": tune.loguniform(0.01, 0.3), "num_leaves": tune.lograndint(8, 128)}
    points = ray_tune_points(RECS, space)
    assert points[0] == {"learning_rate": 0.05, "num_leaves": 63}
    import ray

    def trainable(config: dict) -> dict:
        return {"score": -abs(config["learning_rate"] - 0.05)}

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        tuner = tune.Tuner(trainable, param_space=space, tune_config=tune.TuneConfig(
            search_alg=BasicVariantGenerator(points_to_evaluate=points, max_concurrent=1),
            num_samples=3, metric="score", mode="max"),
            run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0))
        results = tuner.fit()
    finally:
        ray.shutdown()
    configs = sorted((r.metrics["trial_id"], r.config) for r in results)
    assert configs[0][1] == points[0] and configs[1][1] == points[1]


def test_syne_tune_suggests_points_first() -> None:
    pytest.importorskip("syne_tune")
    from syne_tune.config_space import lograndint, loguniform
    from syne_tune.optimizer.baselines import RandomSearch

    space = {"learning_rate": loguniform(0.01, 0.3), "num_leaves": lograndint(8, 128)}
    points = syne_tune_points(RECS, space)
    scheduler = RandomSearch(space, metrics=["score"], points_to_evaluate=points, random_seed=0)


    suggestion = scheduler.suggest()
    assert suggestion.config == points[0]
