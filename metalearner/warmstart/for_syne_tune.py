"""Syne Tune: metakg's space as Syne Tune domains, and points to evaluate first."""

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


def _syne_mixed(choices: tuple[Any, ...]) -> bool:
    return len({type(c) for c in choices}) > 1


def syne_tune_space(space: TunerSpace) -> dict[str, Any]:
    """Syne Tune's ``config_space`` of metakg's space. Syne Tune wants choices of one type:
    mixed ones (HistGradientBoosting's ``early_stopping``: ``"auto"``, ``True``, ``False``) are
    held as strings, which :meth:`TunerSpace.config` maps back.

    Args:
        space: from :func:`family_space`.

    Returns:
        Name → Syne Tune domain.

    Raises:
        TypeError: ``space`` is not metakg's space of a family (:func:`family_space`).
    """
    require_space(space, "syne_tune_space")
    from syne_tune import config_space as st

    out: dict[str, Any] = {}
    for d in space.dims:
        if d.kind == "choice":
            choices = tuple(d.choices or ())
            out[d.name] = st.choice([str(c) for c in choices] if _syne_mixed(choices) else list(choices))
        elif d.kind == "int":  # upper bound inclusive
            out[d.name] = (st.lograndint if d.log else st.randint)(int(d.low), int(d.high))  # type: ignore[arg-type]
        else:
            out[d.name] = (st.loguniform if d.log else st.uniform)(d.low, d.high)
        if d.optional:
            out[d.flag] = st.choice([False, True])
    return out


def syne_tune_points(recs: Any, config_space: Mapping[str, Any] | TunerSpace, *,
                     family: str | None = "lightgbm", strict: bool = True) -> list[dict[str, Any]]:
    """``points_to_evaluate`` for a Syne Tune scheduler or searcher.

    Args:
        recs: a RecommendationSet, Recommendations or configuration dicts.
        config_space: your ``config_space``, or a :class:`TunerSpace` (then
            :func:`syne_tune_space`).
        family: only configurations of this family (``None``: any; a TunerSpace's own).
        strict: raise on what the space cannot express; ``False``: drop and clip, warn.

    Returns:
        One dict per recommendation of the family.

    Raises:
        WarmStartError: ``strict`` and a recommended parameter the space cannot express.
    """
    mixed = set()
    if isinstance(config_space, TunerSpace):  # choices syne_tune_space holds as strings
        mixed = {d.name for d in config_space.dims if d.choices and _syne_mixed(d.choices)}
    bounds, family, inits, required = _resolve(config_space, family, _domain_bounds)
    points = [{**inits, **p} for p, _, _ in _mapped(recs, bounds, family, strict, "Syne Tune", required)]
    return [{k: str(v) if k in mixed else v for k, v in p.items()} for p in points]
