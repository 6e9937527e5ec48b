"""FLAML: a custom learner over metakg's space, and starting points."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from metakg.metalearner.warmstart.space import (
    TunerSpace,
    WarmStartError,
    _domain_bound,
    _items,
    _mapped,
    _resolve,
    require_space,
)

#: our family → FLAML's built-in estimator name, and parameter renames (metakg's own learner,
#: :func:`flaml_learner`, keeps every parameter; these keep only what FLAML's spaces hold).
FLAML_NAMES: dict[str, tuple[str, dict[str, str]]] = {
    "lightgbm": ("lgbm", {}),
    "xgboost": ("xgb_limitdepth", {}),
    "random_forest": ("rf", {}),
    "extra_trees": ("extra_tree", {}),
    "catboost": ("catboost", {"iterations": "n_estimators"}),
}
#: FLAML's space for the largest data it plans for (its ranges grow with the rows).
_FLAML_BIG = (10**9, 10**4)


def flaml_search_space(space: TunerSpace) -> dict[str, dict[str, Any]]:
    """FLAML's ``search_space`` of metakg's space (``{name: {"domain", "init_value"}}``).

    Args:
        space: from :func:`family_space`.

    Returns:
        The dict a FLAML estimator's ``search_space`` classmethod returns.

    Raises:
        TypeError: ``space`` is not metakg's space of a family (:func:`family_space`).
    """
    require_space(space, "flaml_search_space")
    from flaml import tune

    out: dict[str, dict[str, Any]] = {}
    for d in space.dims:
        if d.kind == "choice":
            domain = tune.choice(list(d.choices or ()))
        elif d.kind == "int":  # Ray's convention: the upper bound is exclusive
            domain = (tune.lograndint if d.log else tune.randint)(int(d.low), int(d.high) + 1)  # type: ignore[arg-type]
        else:
            domain = (tune.loguniform if d.log else tune.uniform)(d.low, d.high)
        out[d.name] = {"domain": domain, "init_value": d.init}
        if d.optional:
            out[d.flag] = {"domain": tune.choice([False, True]), "init_value": False}
    return out


def flaml_learner(space: TunerSpace, build_estimator: Callable[..., Any], *,
                  device: str = "cpu") -> type:
    """A FLAML estimator class for ``AutoML.add_learner`` that searches metakg's space and fits
    ``build_estimator`` of each configuration (raw DataFrames, any label type).

    Args:
        space: from :func:`family_space`.
        build_estimator: :func:`metakg.runner.build_estimator` (passed in: the meta-learner
            does not import the runner, which sits beside it).
        device: ``build_estimator``'s device (``cpu``, ``cuda``, ``auto``).

    Returns:
        The class; its ``metakg_config`` attribute (per instance) is the configuration fitted.

    Raises:
        TypeError: ``space`` is not metakg's space of a family (:func:`family_space`).
    """
    require_space(space, "flaml_learner")
    from flaml.automl.model import SKLearnEstimator

    class MetakgLearner(SKLearnEstimator):
        metakg_space = space

        @classmethod
        def search_space(cls, data_size: Any = None, task: Any = None, **params: Any) -> dict[str, Any]:
            return flaml_search_space(space)

        def __init__(self, task: Any = "binary", **config: Any) -> None:
            super().__init__(task, **config)
            self.metakg_config = space.config(config)
            kind = "classification" if self._task.is_classification() else "regression"
            # FLAML calls estimator_class(**params): build ours from the configuration instead
            self.estimator_class = lambda **_: build_estimator(self.metakg_config, task=kind,
                                                               device=device)

        def _preprocess(self, X: Any) -> Any:
            return X  # build_estimator's pipeline preprocesses raw tables itself

    MetakgLearner.__name__ = f"Metakg_{space.family}"
    return MetakgLearner


def flaml_points(recs: Any, space: TunerSpace | Mapping[str, Any], *,
                 family: str | None = "lightgbm", strict: bool = True) -> list[dict[str, Any]]:
    """Starting points for a FLAML learner: ``starting_points={name: flaml_points(...)}``.

    Args:
        recs: a RecommendationSet, Recommendations or configuration dicts.
        space: a :class:`TunerSpace` (with :func:`flaml_learner`) or a FLAML search-space dict.
        family: only configurations of this family, for a FLAML search-space dict (``None``:
            any; a TunerSpace's own), as the other tools' converters.
        strict: raise on what the space cannot express; ``False``: drop and clip, warn.

    Returns:
        One dict per recommendation of the family, every name of the space given.

    Raises:
        WarmStartError: ``strict`` and a recommended parameter the space cannot express.
    """
    bounds, family, fills, required = _resolve(space, family, lambda s: {
        n: b for n, spec in s.items() if (b := _domain_bound(spec.get("domain"))) is not None})
    return [{**fills, **p} for p, _, _ in _mapped(recs, bounds, family, strict, "FLAML", required)]


def flaml_starting_points(recs: Any, *, task: str = "classification",
                          data_size: tuple[int, int] | None = None,
                          strict: bool = True) -> dict[str, list[dict[str, Any]]]:
    """``AutoML.fit(starting_points=...)`` for FLAML's *built-in* estimators (``lgbm``,
    ``xgb_limitdepth``, ``rf``, ``extra_tree``, ``catboost``).

    Their spaces lack many of our parameters (CatBoost's depth, the forests'
    ``min_samples_leaf``...): strict mode raises for those. :func:`flaml_learner` with
    :func:`flaml_points` keeps every parameter of every family.

    Args:
        recs: a RecommendationSet, Recommendations or configuration dicts.
        task: FLAML's task.
        data_size: (rows, columns) of the training data; FLAML's ranges grow with the rows, so
            pass yours to check the points against them. ``None``: the widest ranges.
        strict: raise on what a space cannot express; ``False``: drop and clip, warn.

    Returns:
        Estimator name → list of configurations (families FLAML has no estimator for, and
        those without recommendations, left out).

    Raises:
        WarmStartError: ``strict`` and a parameter a built-in space cannot express, or a
            recommendation of a family FLAML has no built-in estimator for.
    """
    import flaml.automl.model as fm
    from flaml.automl.task.factory import task_factory

    classes = {"lgbm": fm.LGBMEstimator, "xgb_limitdepth": fm.XGBoostLimitDepthEstimator,
               "rf": fm.RandomForestEstimator, "extra_tree": fm.ExtraTreesEstimator,
               "catboost": fm.CatBoostEstimator}
    items = _items(recs)
    other = sorted({c.get("family") for c, _, _ in items} - set(FLAML_NAMES))
    if other and strict:
        raise WarmStartError(f"FLAML has no built-in estimator for {', '.join(map(str, other))}: use "
                             "flaml_learner(family_space(family, recs)) with flaml_points.")
    t = task_factory(task)
    out: dict[str, list[dict[str, Any]]] = {}
    for family, (est, rename) in FLAML_NAMES.items():
        fam_items = [{"family": family, "params": {rename.get(k, k): v for k, v in c.get("params", {}).items()}}
                     for c, _, _ in items if c.get("family") == family]
        if not fam_items:
            continue
        space = classes[est].search_space(data_size=data_size or _FLAML_BIG, task=t)
        bounds = {n: b for n, spec in space.items() if (b := _domain_bound(spec.get("domain"))) is not None}
        points = [p for p, _, _ in _mapped(fam_items, bounds, family, strict, f"FLAML's {est!r}")]
        if points:
            out[est] = points
    return out
