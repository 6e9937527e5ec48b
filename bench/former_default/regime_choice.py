"""Regime choice: each pick's configuration chosen within its family by the regime probes.

Which *families* a top k should hold, the surrogate portfolio chooses well: had each of its
top 5 been its family's best configuration on the held-out table, binary best@5 would be about
0.98 (`bench/lodo.py` protocol). What it misses is the configuration
*within* a family: strongly or weakly regularised, shallow or deep, smoothed or greedy trees.
The regime probes (:mod:`metalearner.metafeatures.regime_probing`) measure exactly that axis
on the new table (the extra-trees contrast correlates 0.79, Spearman over the 181 binary
tables, with how much better the family's smoothed configurations do than its greedy ones).

So, keeping the families in the order the portfolio chose them, each pick becomes the
configuration of its family that most raises the weighted best-so-far over the training
datasets, each dataset's profile weight multiplied by a kernel on how far its regime
contrasts for that family are from the new table's: ``exp(-mean |difference| / sigma)``.
Families without regime probes (k-NN, MLP), or a table without them, keep their picks, and
so does a configuration passed in ``keep`` (the recommender's guarded HistGradientBoosting
default: re-choosing it within its family would undo the guard, and lowers the top-1's rate
of being at least as good as that default by about a tenth in `bench/lodo_variants.py`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from types import MappingProxyType

import numpy as np

__all__ = ["FAMILY_REGIMES", "rechoose_within_families", "regime_kernel"]

_BOOSTING = ("rc_boost_slow", "rc_boost_deep")
#: family → the regime contrasts (:data:`~.regime_contrasts.REGIME_CONTRASTS`) that place a
#: table on its configurations' axes
FAMILY_REGIMES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "hist_gradient_boosting": _BOOSTING, "lightgbm": _BOOSTING, "xgboost": _BOOSTING,
    "catboost": _BOOSTING, "extra_trees": ("rc_forest_smooth",),
    "random_forest": ("rc_forest_smooth",), "linear": ("rc_linear_reg",),
    "svm": ("rc_svm_reach",),
})


def regime_kernel(train: np.ndarray, query: np.ndarray, sigma: float) -> np.ndarray | None:
    """One factor per training dataset: ``exp(-mean |train - query| / sigma)`` over the
    contrasts the query has; 0 for a dataset with none of them.

    Args:
        train: training datasets × contrasts (NaN: missing).
        query: the new table's contrasts (NaN: missing).
        sigma: the kernel's width, in contrast units (ROC AUC or R² differences).

    Returns:
        The factors, or ``None`` when the query has none of the contrasts.

    Raises:
        ValueError: ``sigma`` is not positive.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}.")
    have = ~np.isnan(query)
    if not have.any():
        return None
    diff = np.abs(train[:, have] - query[have])
    known = ~np.isnan(diff)
    count = known.sum(axis=1)
    mean = np.divide(np.where(known, diff, 0.0).sum(axis=1), count,
                     out=np.full(len(train), np.inf), where=count > 0)
    return np.exp(-mean / sigma)


def rechoose_within_families(order: Sequence[int], families: Sequence[str],
                             relative: np.ndarray, weights: np.ndarray,
                             kernels: Mapping[str, np.ndarray | None],
                             allowed: np.ndarray | None = None,
                             keep: Collection[int] = ()) -> list[int]:
    """The picks of ``order`` with each one re-chosen among its family's configurations.

    Args:
        order: positions of the configurations, best first (the portfolio's ranking).
        families: each configuration's family, by position.
        relative: training datasets × configurations, relative scores (higher = better).
        weights: one per training dataset (the profile weights).
        kernels: family → :func:`regime_kernel` factors per training dataset (``None`` or
            absent: that family keeps its picks).
        allowed: positions a pick may come from (``None``: all).
        keep: positions that stay picks where ``order`` has them (the HistGradientBoosting
            default that the portfolio's guard kept first).

    Returns:
        Positions, as many as ``order`` has, without repeats: families in ``order``'s
        sequence, each configuration the one of its family (not yet picked) that most
        raises the kernel-weighted mean over datasets of the best relative score so far.
    """
    pool = np.arange(len(families)) if allowed is None else np.asarray(allowed, dtype=np.intp)
    members: dict[str, list[int]] = {}
    for j in pool:
        members.setdefault(families[j], []).append(int(j))
    picks: list[int] = []
    taken: set[int] = set()
    best = np.full(relative.shape[0], -np.inf)
    for j in order:
        family = families[j]
        kernel = kernels.get(family)
        weighted = None if kernel is None else weights * kernel
        if j in keep and j not in taken:
            choice = j
        elif weighted is None or not weighted.sum() > 0:
            # no regime to match: the portfolio's pick, or its family's next one in its order
            choice = j if j not in taken else next(
                (i for i in order if families[i] == family and i not in taken), None)
        else:
            candidates = np.array([i for i in members.get(family, []) if i not in taken], dtype=np.intp)
            if candidates.size == 0:
                choice = None
            else:
                gain = (weighted / weighted.sum()) @ np.maximum(relative[:, candidates], best[:, None])
                choice = int(candidates[int(np.argmax(gain))])
        if choice is None:
            continue
        picks.append(choice)
        taken.add(choice)
        best = np.maximum(best, relative[:, choice])
    return picks
