"""Regime contrasts: what a table's regime probes say, as differences a tree splits on once.

The regime probes (:mod:`metalearner.metafeatures.regime_probing`) score small models at
opposite ends of a family's space. What tells a configuration's hyperparameters apart is the
difference: slow against the plain boosting probe, deep against it, strongly against weakly
regularised linear models, a narrow against a wide RBF kernel, smoothed against greedy extra
trees. A ranker whose policy reads them (feature group ``regimes``,
:class:`~metalearner.features.FeatureBuilder`) learns from the six probes and these four
differences, placed after its other meta-features.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from metakg.metalearner.metafeatures.regime_probing import REGIME_PROBES

__all__ = ["REGIME_CONTRASTS", "REGIME_FEATURES", "query_with_regime_contrasts",
           "with_regime_contrasts"]

#: contrast name → (probe, probe it is measured against)
REGIME_CONTRASTS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "rc_boost_slow": ("rp_boost_slow", "pr_boosting"),
    "rc_boost_deep": ("rp_boost_deep", "pr_boosting"),
    "rc_linear_reg": ("rp_linear_strong", "rp_linear_weak"),
    "rc_svm_reach": ("rp_svm_narrow", "rp_svm_wide"),
    "rc_forest_smooth": ("rp_forest_smooth", "rp_forest_greedy"),
})
#: What a ranker reading the regimes adds to its meta-features, in this order: the probes
#: and contrasts of meta-feature version 3 (the forest probes of version 4 served the former
#: default's regime re-choice within families; as features they did not measure better).
REGIME_FEATURES: tuple[str, ...] = (*(p for p in REGIME_PROBES if not p.startswith("rp_forest")),
                                    *(c for c in REGIME_CONTRASTS if c != "rc_forest_smooth"))


def with_regime_contrasts(metafeatures: pd.DataFrame) -> pd.DataFrame:
    """``metafeatures`` with the :data:`REGIME_CONTRASTS` columns (NaN where either probe is
    missing) replacing any of that name.

    Args:
        metafeatures: one row per table; missing probe columns count as NaN.
    """
    out = metafeatures.drop(columns=list(REGIME_CONTRASTS), errors="ignore").copy()
    for name, (a, b) in REGIME_CONTRASTS.items():
        out[name] = (metafeatures.reindex(columns=[a])[a].astype(float)
                     - metafeatures.reindex(columns=[b])[b].astype(float))
    return out


def query_with_regime_contrasts(metafeatures: Mapping[str, float | None]) -> dict[str, float | None]:
    """One table's meta-features with its :data:`REGIME_CONTRASTS` (``None`` where either
    probe is missing), as :func:`with_regime_contrasts` computes them for many."""
    out: dict[str, float | None] = dict(metafeatures)
    for name, (a, b) in REGIME_CONTRASTS.items():
        x, y = metafeatures.get(a), metafeatures.get(b)
        ok = x is not None and y is not None and np.isfinite(x) and np.isfinite(y)
        out[name] = float(x) - float(y) if ok else None
    return out
