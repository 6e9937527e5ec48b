"""SMAC3: metakg's space as a ConfigSpace, and its initial design."""

from __future__ import annotations

from typing import Any

from metakg.metalearner.warmstart.space import (
    Bound,
    TunerSpace,
    _mapped,
    require_space,
)


def smac_configspace(space: TunerSpace, *, seed: int = 0) -> Any:
    """A ``ConfigurationSpace`` of metakg's space; an optional parameter is active only when
    its ``__set`` flag is ``True`` (``EqualsCondition``).

    Args:
        space: from :func:`family_space`.
        seed: the space's seed.

    Returns:
        ``ConfigSpace.ConfigurationSpace``; ``space.config(dict(config))`` in the target.

    Raises:
        TypeError: ``space`` is not metakg's space of a family (:func:`family_space`).
    """
    require_space(space, "smac_configspace")
    from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer

    cs = ConfigurationSpace(seed=seed)
    conditions = []
    for d in space.dims:
        if d.kind == "choice":
            hp = Categorical(d.name, list(d.choices or ()))
        elif d.kind == "int":
            hp = Integer(d.name, (int(d.low), int(d.high)), log=d.log)  # type: ignore[arg-type]
        else:
            hp = Float(d.name, (d.low, d.high), log=d.log)  # type: ignore[arg-type]
        cs.add(hp)
        if d.optional:
            flag = Categorical(d.flag, [False, True], default=False)
            cs.add(flag)
            conditions.append(EqualsCondition(hp, flag, True))
    cs.add(conditions)
    return cs


def smac_configurations(recs: Any, configspace: Any, *, family: str | None = "lightgbm",
                        strict: bool = True) -> list[Any]:
    """``Configuration`` objects for SMAC's initial design (``additional_configs=...``).

    Parameters the space has but a recommendation lacks take the space's default; those
    made inactive by a condition are left out. ConfigSpace keeps floats to 13 decimal places.

    Args:
        recs: a RecommendationSet, Recommendations or configuration dicts.
        configspace: your ``ConfigurationSpace``, or a :class:`TunerSpace` (then
            :func:`smac_configspace`).
        family: only configurations of this family (``None``: any; a TunerSpace's own).
        strict: raise on what the space cannot express; ``False``: drop and clip, warn.

    Returns:
        One ``Configuration`` per recommendation of the family.

    Raises:
        WarmStartError: ``strict`` and a recommended parameter the space cannot express.
    """
    from ConfigSpace.util import deactivate_inactive_hyperparameters

    required: frozenset[str] = frozenset()
    if isinstance(configspace, TunerSpace):
        required, family = configspace.required, configspace.family
        configspace = smac_configspace(configspace)
    bounds = {}
    for hp in configspace.values():
        if hasattr(hp, "choices"):
            bounds[hp.name] = Bound(choices=tuple(hp.choices))
        elif hasattr(hp, "sequence"):
            bounds[hp.name] = Bound(choices=tuple(hp.sequence))
        elif hasattr(hp, "lower"):
            bounds[hp.name] = Bound(float(hp.lower), float(hp.upper),
                                    integer="Integer" in type(hp).__name__)
    default = dict(configspace.get_default_configuration())
    return [deactivate_inactive_hyperparameters({**default, **params}, configspace)
            for params, _, _ in _mapped(recs, bounds, family, strict, "ConfigSpace", required)]
