"""Warm-start other AutoML tools with recommended configurations, in each tool's format.

One function per tool. Each maps our configuration (``{"family", "params"}``) onto the
tool's search space: parameters the space does not have are dropped, values outside its
range are clipped into it, categorical values it does not list are dropped, and
configurations of another family are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FLAML_NAMES",
    "Bound",
    "flaml_starting_points",
    "hyperopt_points",
    "hyperopt_trials",
    "map_config",
    "optuna_add_trials",
    "optuna_enqueue",
    "ray_tune_points",
    "smac_configurations",
    "syne_tune_points",
]


@dataclass(frozen=True)
class Bound:
    """What a tool accepts for one parameter: a numeric range or a list of choices."""

    low: float | None = None
    high: float | None = None
    integer: bool = False
    choices: tuple[Any, ...] | None = None


def _configs(recs: Any) -> list[tuple[dict[str, Any], float | None]]:
    """(config, expected score) pairs from a RecommendationSet, Recommendations or dicts."""
    items = getattr(recs, "recommendations", recs)
    out = []
    for r in items:
        if isinstance(r, dict):
            out.append((r.get("config", r), r.get("expected_score")))
        else:
            out.append((r.config, r.expected_score))
    return out


def map_config(config: dict[str, Any], bounds: Mapping[str, Bound], *, family: str | None = None,
               rename: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Our configuration → the tool's parameter dict (``None`` if another family or empty)."""
    if family is not None and config.get("family") != family:
        return None
    out: dict[str, Any] = {}
    for name, value in (config.get("params") or {}).items():
        target = (rename or {}).get(name, name)
        b = bounds.get(target)
        if b is None:
            continue
        if b.choices is not None:
            if value in b.choices:
                out[target] = value
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        v = float(value)
        if b.low is not None:
            v = max(v, b.low)
        if b.high is not None:
            v = min(v, b.high)
        out[target] = round(v) if b.integer else v
    return out or None


def _mapped(recs: Any, bounds: Mapping[str, Bound], family: str | None,
            rename: Mapping[str, str] | None = None) -> list[tuple[dict[str, Any], float | None]]:
    out, seen = [], set()
    for config, score in _configs(recs):
        params = map_config(config, bounds, family=family, rename=rename)
        if params is not None and repr(sorted(params.items())) not in seen:
            seen.add(repr(sorted(params.items())))
            out.append((params, score))
    return out


# ----- Optuna ------------------------------------------------------------------------------
def _optuna_bounds(distributions: Mapping[str, Any]) -> dict[str, Bound]:
    import optuna.distributions as od

    out = {}
    for name, d in distributions.items():
        if isinstance(d, od.CategoricalDistribution):
            out[name] = Bound(choices=tuple(d.choices))
        else:
            out[name] = Bound(d.low, d.high, integer=isinstance(d, od.IntDistribution))
    return out


def optuna_enqueue(study: Any, recs: Any, distributions: Mapping[str, Any], *,
                   family: str | None = "lightgbm") -> int:
    """``study.enqueue_trial`` each recommendation the space can express; returns how many.

    Args:
        study: an ``optuna.Study``.
        recs: a RecommendationSet, Recommendations or configuration dicts.
        distributions: the objective's parameter distributions (name → distribution).
        family: only configurations of this family (``None``: any).
    """
    mapped = _mapped(recs, _optuna_bounds(distributions), family)
    for params, _ in mapped:
        study.enqueue_trial(params, skip_if_exists=True)
    return len(mapped)


def optuna_add_trials(study: Any, recs: Any, distributions: Mapping[str, Any], *,
                      family: str | None = "lightgbm") -> int:
    """``study.add_trials`` with the known (expected) scores, so the sampler learns from them
    without evaluating; recommendations without a score are skipped."""
    import optuna

    trials = []
    for params, score in _mapped(recs, _optuna_bounds(distributions), family):
        if score is None:
            continue
        dists = {k: distributions[k] for k in params}
        trials.append(optuna.trial.create_trial(params=params, distributions=dists, value=score))
    study.add_trials(trials)
    return len(trials)


# ----- FLAML -------------------------------------------------------------------------------
#: our family → FLAML estimator name, and parameter renames.
FLAML_NAMES: dict[str, tuple[str, dict[str, str]]] = {
    "lightgbm": ("lgbm", {}),
    "xgboost": ("xgboost", {}),
    "random_forest": ("rf", {}),
    "extra_trees": ("extra_tree", {}),
    "catboost": ("catboost", {"iterations": "n_estimators"}),
}


def _domain_bound(domain: Any) -> Bound | None:
    """Bounds of a ray.tune / FLAML / Syne Tune domain object."""
    cats = getattr(domain, "categories", None)
    if cats is not None:
        return Bound(choices=tuple(cats))
    lo, hi = getattr(domain, "lower", None), getattr(domain, "upper", None)
    if lo is None or hi is None:
        return None
    return Bound(float(lo), float(hi), integer="Integer" in type(domain).__name__)


def flaml_starting_points(recs: Any, *, task: str = "classification",
                          data_size: tuple[int, int] = (1000, 10)) -> dict[str, list[dict[str, Any]]]:
    """``AutoML.fit(starting_points=...)``: estimator name → list of configurations."""
    import flaml.automl.model as fm
    from flaml.automl.task.factory import task_factory

    classes = {"lgbm": fm.LGBMEstimator, "xgboost": fm.XGBoostSklearnEstimator,
               "rf": fm.RandomForestEstimator, "extra_tree": fm.ExtraTreesEstimator,
               "catboost": fm.CatBoostEstimator}
    t = task_factory(task)
    out: dict[str, list[dict[str, Any]]] = {}
    for family, (est, rename) in FLAML_NAMES.items():
        space = classes[est].search_space(data_size=data_size, task=t)
        bounds = {n: b for n, spec in space.items()
                  if (b := _domain_bound(spec.get("domain"))) is not None}
        points = [p for p, _ in _mapped(recs, bounds, family, rename)]
        if points:
            out[est] = points
    return out


# ----- hyperopt ----------------------------------------------------------------------------
def hyperopt_points(recs: Any, space: Mapping[str, Any], *, family: str | None = "lightgbm") -> list[dict[str, Any]]:
    """``fmin(points_to_evaluate=...)`` (with ``trials=None``; else :func:`hyperopt_trials`):
    for ``hp.choice`` the index of the value is given,
    as hyperopt expects. Numeric ranges are read from ``hp.uniform``/``loguniform``/
    ``quniform``/``randint`` expressions."""
    bounds, options = {}, {}
    for name, expr in space.items():
        kind, args = _hyperopt_kind(expr)
        if kind == "switch":
            options[name] = tuple(args)
            bounds[name] = Bound(choices=tuple(args))
        elif kind in ("uniform", "quniform"):
            bounds[name] = Bound(args[0], args[1], integer=kind == "quniform")
        elif kind in ("loguniform", "qloguniform"):
            bounds[name] = Bound(math.exp(args[0]), math.exp(args[1]), integer=kind == "qloguniform")
        elif kind == "randint":
            bounds[name] = Bound(args[0], args[1] - 1, integer=True)
    out = []
    for params, _ in _mapped(recs, bounds, family):
        point = dict(params)
        for name, opts in options.items():
            if name in point:
                point[name] = opts.index(point[name])
        if set(point) == set(bounds):  # hyperopt needs every parameter of the space
            out.append(point)
        else:
            missing = {n: _hyperopt_default(bounds[n]) for n in set(bounds) - set(point)}
            out.append({**point, **{n: options[n].index(v) if n in options else v
                                    for n, v in missing.items()}})
    return out


def hyperopt_trials(recs: Any, space: Mapping[str, Any], *, family: str | None = "lightgbm") -> Any:
    """A ``Trials`` object that makes ``fmin(trials=...)`` evaluate the recommendations first
    (hyperopt ignores ``points_to_evaluate`` when it is given its own ``Trials``)."""
    from hyperopt.fmin import generate_trials_to_calculate

    return generate_trials_to_calculate(hyperopt_points(recs, space, family=family))


def _hyperopt_default(b: Bound) -> Any:
    if b.choices is not None:
        return b.choices[0]
    mid = (b.low + b.high) / 2 if b.low is not None and b.high is not None else 0.0  # type: ignore[operator]
    return round(mid) if b.integer else mid


def _hyperopt_kind(expr: Any) -> tuple[str, list[Any]]:
    """Distribution name and literal arguments of ``hp.*`` expressions
    (``float(hyperopt_param(label, dist(args)))`` or ``switch(...)`` for ``hp.choice``)."""
    node = expr
    while node.name in ("float", "int", "hyperopt_param"):
        node = node.pos_args[-1]
    if node.name == "switch":
        return "switch", [a.obj for a in node.pos_args[1:]]
    return node.name, [a.obj for a in node.pos_args]


# ----- SMAC3 -------------------------------------------------------------------------------
def smac_configurations(recs: Any, configspace: Any, *, family: str | None = "lightgbm") -> list[Any]:
    """``Configuration`` objects for SMAC's initial design (``additional_configs=...``);
    parameters the space has but a recommendation lacks take the space's default."""
    from ConfigSpace import Configuration

    bounds = {}
    for hp in configspace.values():
        if hasattr(hp, "choices"):
            bounds[hp.name] = Bound(choices=tuple(hp.choices))
        elif hasattr(hp, "lower"):
            bounds[hp.name] = Bound(float(hp.lower), float(hp.upper),
                                    integer="Integer" in type(hp).__name__)
    default = dict(configspace.get_default_configuration())
    return [Configuration(configspace, values={**default, **params})
            for params, _ in _mapped(recs, bounds, family)]


# ----- Ray Tune and Syne Tune --------------------------------------------------------------
def ray_tune_points(recs: Any, param_space: Mapping[str, Any], *,
                    family: str | None = "lightgbm") -> list[dict[str, Any]]:
    """``points_to_evaluate`` for a Ray Tune search algorithm (e.g. ``BasicVariantGenerator``)."""
    bounds = {n: b for n, d in param_space.items() if (b := _domain_bound(d)) is not None}
    return [p for p, _ in _mapped(recs, bounds, family)]


def syne_tune_points(recs: Any, config_space: Mapping[str, Any], *,
                     family: str | None = "lightgbm") -> list[dict[str, Any]]:
    """``points_to_evaluate`` for a Syne Tune scheduler or searcher."""
    bounds = {n: b for n, d in config_space.items() if (b := _domain_bound(d)) is not None}
    return [p for p, _ in _mapped(recs, bounds, family)]
