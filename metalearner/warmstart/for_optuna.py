"""Optuna: metakg's space as distributions, enqueued recommendations, measured trials."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Any

from metakg.metalearner.warmstart.space import (
    SET_SUFFIX,
    Bound,
    TunerSpace,
    WarmStartError,
    _encode,
    _listed,
    _mapped,
    _problem_text,
    _resolve,
    require_space,
)


def optuna_distributions(space: TunerSpace) -> dict[str, Any]:
    """Optuna distributions of metakg's space (flags as ``CategoricalDistribution``).

    Args:
        space: from :func:`family_space`.

    Returns:
        Name → distribution, for :func:`optuna_enqueue` and :func:`optuna_add_trials`.

    Raises:
        TypeError: ``space`` is not metakg's space of a family (:func:`family_space`).
    """
    require_space(space, "optuna_distributions")
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for d in space.dims:
        if d.kind == "choice":
            out[d.name] = od.CategoricalDistribution(list(d.choices or ()))
        elif d.kind == "int":
            out[d.name] = od.IntDistribution(int(d.low), int(d.high), log=d.log)  # type: ignore[arg-type]
        else:
            out[d.name] = od.FloatDistribution(d.low, d.high, log=d.log)  # type: ignore[arg-type]
        if d.optional:
            out[d.flag] = od.CategoricalDistribution([False, True])
    return out


def optuna_config(trial: Any, space: TunerSpace) -> dict[str, Any]:
    """Suggest a configuration of metakg's space in an Optuna objective.

    An optional parameter is suggested only when its ``__set`` flag is ``True``, so enqueued
    recommendations that leave it unset are reproduced as they are.

    Args:
        trial: the ``optuna.Trial``.
        space: from :func:`family_space`.

    Returns:
        ``{"family", "params"}`` for ``build_estimator``.

    Raises:
        TypeError: ``space`` is not metakg's space of a family (:func:`family_space`).
    """
    require_space(space, "optuna_config")
    point: dict[str, Any] = {}
    for d in space.dims:
        if d.optional:
            point[d.flag] = trial.suggest_categorical(d.flag, [False, True])
            if not point[d.flag]:
                continue
        if d.kind == "choice":
            point[d.name] = trial.suggest_categorical(d.name, list(d.choices or ()))
        elif d.kind == "int":
            point[d.name] = trial.suggest_int(d.name, int(d.low), int(d.high), log=d.log)  # type: ignore[arg-type]
        else:
            point[d.name] = trial.suggest_float(d.name, d.low, d.high, log=d.log)  # type: ignore[arg-type]
    return space.config(point)


def _optuna_bounds(distributions: Mapping[str, Any]) -> dict[str, Bound]:
    import optuna.distributions as od

    out = {}
    for name, d in distributions.items():
        if isinstance(d, od.CategoricalDistribution):
            out[name] = Bound(choices=tuple(d.choices))
        else:
            out[name] = Bound(d.low, d.high, integer=isinstance(d, od.IntDistribution))
    return out


def optuna_enqueue(study: Any, recs: Any, distributions: Mapping[str, Any] | TunerSpace, *,
                   family: str | None = "lightgbm", strict: bool = True) -> int:
    """``study.enqueue_trial`` each recommendation, in order; returns how many.

    The expected score (a prediction) goes to the trial's ``user_attrs``
    (``metakg_expected_score``, with ``metakg_config_id``), never to its value: the objective
    measures it.

    Args:
        study: an ``optuna.Study``.
        recs: a RecommendationSet, Recommendations or configuration dicts.
        distributions: the objective's distributions (name → distribution), or a
            :class:`TunerSpace` (then :func:`optuna_config` in the objective).
        family: only configurations of this family (``None``: any; a TunerSpace's own).
        strict: raise on what the space cannot express; ``False``: drop and clip, warn.

    Returns:
        The number of trials enqueued (duplicates once).

    Raises:
        WarmStartError: ``strict`` and a recommended parameter is not in the space, out of
            its range or not among its choices.
    """
    bounds, family, _, required = _resolve(distributions, family, _optuna_bounds)
    mapped = _mapped(recs, bounds, family, strict, "Optuna", required)
    for params, expected, attrs in mapped:
        # an unset optional parameter is not enqueued: the objective does not suggest it
        params = {k: v for k, v in params.items() if params.get(k + SET_SUFFIX) is not False}
        user_attrs = dict(attrs)
        if expected is not None:
            user_attrs["metakg_expected_score"] = float(expected)
        study.enqueue_trial(params, user_attrs=user_attrs or None, skip_if_exists=True)
    return len(mapped)


def _measured(runs: Any) -> list[tuple[dict[str, Any], float]]:
    """(config, measured score) pairs; anything carrying only a prediction is refused."""
    out = []
    for i, r in enumerate(_listed(runs)):
        if isinstance(r, tuple):
            config, score = r if len(r) == 2 else (None, None)
            why = (f"a (config, score) pair is expected, not a {len(r)}-tuple" if len(r) != 2
                   else f"its score is {score!r}, not a number")
        elif isinstance(r, Mapping):
            config, score = r.get("config", r), r.get("observed_score")
            why = ("it has no 'observed_score' (an 'expected_score' is a prediction)"
                   if "expected_score" in r else "it has no 'observed_score'")
        else:
            config, score = getattr(r, "config", None), getattr(r, "observed_score", None)
            why = (f"a {type(r).__name__} carries a prediction (expected_score), "
                   "not a measured score")
        number = isinstance(score, numbers.Real) and not isinstance(score, bool)
        if not number or config is None:
            raise WarmStartError(
                f"optuna_add_trials: entry {i + 1} has no measured score: {why}. Pass (config, "
                "score) pairs of runs measured on this table (graph.runs(task=...)), or "
                "`metakg recommend --run --json` recommendations with their observed_score; "
                "use optuna_enqueue to have Optuna evaluate recommendations first.")
        if not math.isfinite(float(score)):
            raise WarmStartError(f"optuna_add_trials: entry {i + 1}'s score is {score!r}; a "
                                 "finished trial needs a finite value (leave a failed run out).")
        out.append((config, float(score)))
    return out


def optuna_add_trials(study: Any, runs: Any, distributions: Mapping[str, Any] | TunerSpace, *,
                      family: str | None = "lightgbm", strict: bool = True) -> int:
    """``study.add_trials`` with *measured* scores, so the sampler learns from configurations
    already evaluated on this table without evaluating them again.

    Args:
        study: an ``optuna.Study`` (its direction that of the metric).
        runs: ``(config, score)`` pairs of runs measured on this very table, or
            recommendations carrying an ``observed_score`` (``metakg recommend --run --json``).
        distributions: the objective's distributions, or a :class:`TunerSpace`.
        family: only configurations of this family (``None``: any; a TunerSpace's own).
        strict: raise on what the space cannot express; ``False``: drop and clip, warn (the
            score then belongs to a configuration that did not run exactly; think twice).

    Returns:
        The number of finished trials added.

    Raises:
        WarmStartError: an entry without a measured score (a bare recommendation, whose
            ``expected_score`` is a prediction), or ``strict`` and a parameter the space
            cannot express.
    """
    import optuna

    required: frozenset[str] = frozenset()
    if isinstance(distributions, TunerSpace):
        required, family = distributions.required, distributions.family
        distributions = optuna_distributions(distributions)
    measured = _measured(runs)
    bounds = _optuna_bounds(distributions)
    pairs = [({"family": c.get("family"), "params": c.get("params", {})}, s) for c, s in measured]
    points, problems = _encode([c for c, _ in pairs], bounds, family, strict, required,
                               noun="runs", stacklevel=4)
    if problems:
        text = _problem_text(problems, family, "your Optuna space")
        if strict:
            raise WarmStartError(text + ". Build the space with family_space() and "
                                 "optuna_distributions(), or pass strict=False.")
        warnings.warn(text, UserWarning, stacklevel=2)
    trials = []
    for params, i in points:
        params = {k: v for k, v in params.items() if params.get(k + SET_SUFFIX) is not False}
        dists = {k: distributions[k] for k in params}
        trials.append(optuna.trial.create_trial(
            params=params, distributions=dists, value=pairs[i][1],
            user_attrs={"metakg_measured": True}))
    study.add_trials(trials)
    return len(trials)
