"""A configuration as numbers: the family's indicator and its hyperparameters.

The ranker, the score model and a tuner's draws read configurations through this one
encoding, so a configuration that was never run is encoded exactly as the candidates are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["config_features"]


def config_features(config: dict[str, Any]) -> dict[str, float]:
    """Numeric encoding of a configuration: family indicator + its hyperparameters
    (log scale where the space says so), named ``family.param``."""
    from metakg.kg.spaces import FAMILIES

    fam = config.get("family", "")
    out: dict[str, float] = {f"family={f}": float(f == fam) for f in FAMILIES}
    space = FAMILIES.get(fam)
    for name, value in (config.get("params") or {}).items():
        p = space.by_name.get(name) if space else None
        if isinstance(value, bool):
            v = float(value)
        elif isinstance(value, int | float):
            # log scale where the space says so; a 0 there (no regularisation) is far below
            # every positive value, not log(1) = 0
            v = (math.log(max(value, 1e-12)) if p is not None and p.log else float(value))
        else:
            v = float(p.choices.index(value)) if p is not None and p.choices and value in p.choices else np.nan
        out[f"{fam}.{name}"] = v
    return out
