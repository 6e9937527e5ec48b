"""hyperopt: metakg's space as ``hp`` expressions, and points to evaluate first."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from metakg.metalearner.warmstart.space import (
    Bound,
    TunerSpace,
    _choice_value,
    _mapped,
    _resolve,
    require_space,
)


def hyperopt_space(space: TunerSpace) -> dict[str, Any]:
    """hyperopt's space of metakg's space: ``hp.uniform``/``loguniform``, integers through
    ``scope.int(hp.quniform/qloguniform)``, ``hp.choice`` for choices and flags.

    Args:
        space: from :func:`family_space`.

    Returns:
        Label → ``hp`` expression; ``space.config(params)`` in the objective.

    Raises:
        TypeError: ``space`` is not metakg's space of a family (:func:`family_space`).
    """
    require_space(space, "hyperopt_space")
    from hyperopt import hp
    from hyperopt.pyll import scope

    out: dict[str, Any] = {}
    for d in space.dims:
        if d.kind == "choice":
            out[d.name] = hp.choice(d.name, list(d.choices or ()))
        elif d.kind == "int":
            expr = (hp.qloguniform(d.name, math.log(d.low), math.log(d.high), 1) if d.log  # type: ignore[arg-type]
                    else hp.quniform(d.name, d.low, d.high, 1))
            out[d.name] = scope.int(expr)
        elif d.log:
            out[d.name] = hp.loguniform(d.name, math.log(d.low), math.log(d.high))  # type: ignore[arg-type]
        else:
            out[d.name] = hp.uniform(d.name, d.low, d.high)
        if d.optional:
            out[d.flag] = hp.choice(d.flag, [False, True])
    return out


def hyperopt_points(recs: Any, space: Mapping[str, Any] | TunerSpace, *, family: str | None = "lightgbm",
                    strict: bool = True) -> list[dict[str, Any]]:
    """``fmin(points_to_evaluate=...)`` (with ``trials=None``; else :func:`hyperopt_trials`).

    For ``hp.choice`` the index of the value is given, as hyperopt expects; a parameter of the
    space that a recommendation does not set gets the middle of its range (hyperopt needs every
    label). Ranges are read from ``hp.uniform``/``loguniform``/``quniform``/``qloguniform``/
    ``randint`` expressions.

    Args:
        recs: a RecommendationSet, Recommendations or configuration dicts.
        space: your ``hp`` dict, or a :class:`TunerSpace` (then :func:`hyperopt_space`).
        family: only configurations of this family (``None``: any; a TunerSpace's own).
        strict: raise on what the space cannot express; ``False``: drop and clip, warn.

    Returns:
        One point per recommendation of the family.

    Raises:
        WarmStartError: ``strict`` and a recommended parameter the space cannot express.
    """
    bounds, family, inits, required = _resolve(space, family, _hyperopt_bounds)
    options = {n: b.choices for n, b in bounds.items() if b.choices is not None}
    out = []
    for params, _, _ in _mapped(recs, bounds, family, strict, "hyperopt", required):
        point = {**{n: inits.get(n, _hyperopt_default(bounds[n])) for n in bounds}, **params}
        out.append({n: options[n].index(_choice_value(options[n], v)) if n in options else v
                    for n, v in point.items()})
    return out


def _hyperopt_bounds(space: Mapping[str, Any]) -> dict[str, Bound]:
    bounds = {}
    for name, expr in space.items():
        kind, args = _hyperopt_kind(expr)
        if kind == "switch":
            bounds[name] = Bound(choices=tuple(args))
        elif kind in ("uniform", "quniform"):
            bounds[name] = Bound(args[0], args[1], integer=kind == "quniform")
        elif kind in ("loguniform", "qloguniform"):
            bounds[name] = Bound(math.exp(args[0]), math.exp(args[1]), integer=kind == "qloguniform")
        elif kind == "randint":
            bounds[name] = Bound(args[0], args[1] - 1, integer=True)
    return bounds


def hyperopt_trials(recs: Any, space: Mapping[str, Any] | TunerSpace, *, family: str | None = "lightgbm",
                    strict: bool = True) -> Any:
    """A ``Trials`` object that makes ``fmin(trials=...)`` evaluate the recommendations first
    (hyperopt ignores ``points_to_evaluate`` when it is given its own ``Trials``).

    Args:
        recs, space, family, strict: as for :func:`hyperopt_points`.

    Returns:
        ``hyperopt.Trials``.

    Raises:
        WarmStartError: as :func:`hyperopt_points`.
    """
    from hyperopt.fmin import generate_trials_to_calculate

    return generate_trials_to_calculate(hyperopt_points(recs, space, family=family, strict=strict))


def _hyperopt_default(b: Bound) -> Any:
    if b.choices is not None:
        return b.choices[0]
    mid = (b.low + b.high) / 2 if b.low is not None and b.high is not None else 0.0
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
