"""Warm-start other tuners with recommended configurations, every parameter kept.

Two ways to hand recommendations (``{"family", "params"}``) to a tuner:

* **metakg's space** (recommended): :func:`family_space` builds a :class:`TunerSpace` from a
  family's declared space (:data:`metakg.kg.spaces.FAMILIES`), widened so that it holds every
  recommended value; ``optuna_distributions``, ``hyperopt_space``, ``smac_configspace``,
  ``ray_tune_space``, ``syne_tune_space`` and ``flaml_learner`` turn it into each tuner's own
  search space, and :meth:`TunerSpace.config` turns what the tuner evaluates back into a
  configuration for :func:`metakg.runner.estimators.build_estimator`. Every parameter of every
  family reaches every tuner, and the first configurations the tuner evaluates are exactly the
  recommended ones (SMAC: to ConfigSpace's 13 decimal places).
* **your own space**: the export functions (``optuna_enqueue``, ``hyperopt_points``,
  ``smac_configurations``, ``ray_tune_points``, ``syne_tune_points``, ``flaml_starting_points``)
  also take a space you wrote. They are strict by default: a recommended parameter your space
  does not have, a value outside its range or a choice it does not list raises
  :class:`WarmStartError`, naming each. ``strict=False`` drops and clips instead, with one
  ``UserWarning`` listing what was lost. Configurations of another family are skipped.

Parameters a family declares with ``sampled=False`` (``early_stopping_rounds``, published
configurations' fixed settings) are searched too when a recommendation sets them. A parameter
that some recommendation leaves unset (the library's default then applies) is *optional*: a
companion choice ``<name>__set`` (``False``/``True``) says whether the configuration sets it, so
leaving it unset is reproduced exactly as well.

Beyond evaluated configurations (:mod:`~metalearner.warmstart.transfer`):
:func:`transferred_space` narrows a family's space to the bounding box of the configurations
that did best on the most similar tables (:func:`best_on_similar`), to hand a tuner beside the
points; :func:`ranked_configurations` proposes configurations of the family's continuous space
scored by the default recommender's ranker (:func:`score_configurations`).
"""

from metakg.metalearner.warmstart.for_flaml import (
    FLAML_NAMES,
    flaml_learner,
    flaml_points,
    flaml_search_space,
    flaml_starting_points,
)
from metakg.metalearner.warmstart.for_hyperopt import hyperopt_points, hyperopt_space, hyperopt_trials
from metakg.metalearner.warmstart.for_optuna import (
    optuna_add_trials,
    optuna_config,
    optuna_distributions,
    optuna_enqueue,
)
from metakg.metalearner.warmstart.for_ray_tune import ray_tune_points, ray_tune_space
from metakg.metalearner.warmstart.for_smac import smac_configspace, smac_configurations
from metakg.metalearner.warmstart.for_syne_tune import syne_tune_points, syne_tune_space
from metakg.metalearner.warmstart.space import (
    SET_SUFFIX,
    Bound,
    Dim,
    TunerSpace,
    WarmStartError,
    family_space,
    map_config,
)
from metakg.metalearner.warmstart.transfer import (
    best_on_similar,
    ranked_configurations,
    sample_configurations,
    score_configurations,
    transferred_space,
)

__all__ = [
    "FLAML_NAMES",
    "SET_SUFFIX",
    "Bound",
    "Dim",
    "TunerSpace",
    "WarmStartError",
    "best_on_similar",
    "family_space",
    "flaml_learner",
    "flaml_points",
    "flaml_search_space",
    "flaml_starting_points",
    "hyperopt_points",
    "hyperopt_space",
    "hyperopt_trials",
    "map_config",
    "optuna_add_trials",
    "optuna_config",
    "optuna_distributions",
    "optuna_enqueue",
    "ranked_configurations",
    "ray_tune_points",
    "ray_tune_space",
    "sample_configurations",
    "score_configurations",
    "smac_configspace",
    "smac_configurations",
    "syne_tune_points",
    "syne_tune_space",
    "transferred_space",
]
