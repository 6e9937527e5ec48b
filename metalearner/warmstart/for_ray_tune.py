"""Ray Tune: metakg's space as Tune domains, and points to evaluate first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metakg.metalearner.warmstart.space import (
    TunerSpace,
    _domain_bounds,
    _mapped,
    _resolve,
    require_space,
)


def ray_tune_space(space: TunerSpace) -> dict[str, Any]:
    """Ray Tune's ``param_space`` of metakg's space.

    Args:
        space: from :func:`family_space`.

    Returns:
        Name → Ray Tune domain; ``space.config(config)`` in the trainable.

    Raises:
        TypeError: ``space`` is not metakg's space of a family (:func:`family_space`).
    """
    require_space(space, "ray_tune_space")
    from ray import tune

    out: dict[str, Any] = {}
    for d in space.dims:
        if d.kind == "choice":
            out[d.name] = tune.choice(list(d.choices or ()))
        elif d.kind == "int":  # upper bound exclusive
            out[d.name] = (tune.lograndint if d.log else tune.randint)(int(d.low), int(d.high) + 1)  # type: ignore[arg-type]
        else:
            out[d.name] = (tune.loguniform if d.log else tune.uniform)(d.low, d.high)
        if d.optional:
            out[d.flag] = tune.choice([False, True])
    return out


def ray_tune_points(recs: Any, param_space: Mapping[str, Any] | TunerSpace, *,
                    family: str | None = "lightgbm", strict: bool = True) -> list[dict[str, Any]]:
    """``points_to_evaluate`` for a Ray Tune search algorithm (e.g. ``BasicVariantGenerator``).

    Args:
        recs: a RecommendationSet, Recommendations or configuration dicts.
        param_space: your ``param_space``, or a :class:`TunerSpace` (then :func:`ray_tune_space`).
        family: only configurations of this family (``None``: any; a TunerSpace's own).
        strict: raise on what the space cannot express; ``False``: drop and clip, warn.

    Returns:
        One dict per recommendation of the family.

    Raises:
        WarmStartError: ``strict`` and a recommended parameter the space cannot express.
    """
    bounds, family, inits, required = _resolve(param_space, family, _domain_bounds)
    return [{**inits, **p} for p, _, _ in _mapped(recs, bounds, family, strict, "Ray Tune", required)]
