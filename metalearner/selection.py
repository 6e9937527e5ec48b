"""Choose the top k as a set: good on their own, complementary together, never near-copies."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.ranks import percentile_ranks

__all__ = ["select_top_k"]


def select_top_k(
    meta: MetaData,
    scores: pd.Series,
    neighbours: pd.Series,
    k: int,
    *,
    coverage: float = 1.0,
    too_close: Callable[[str, str], bool] | None = None,
    pool: int = 60,
) -> list[str]:
    """Greedy choice of ``k`` configurations.

    Each step takes the configuration with the highest ``percentile rank of its score +
    coverage × (similarity-weighted mean over the nearest datasets of the best normalised
    score reached with it and those already chosen)``. With ``coverage=0`` this is the plain
    ranking; larger values favour configurations that are strong where the chosen ones are
    weak, which is what the best of the top k needs.

    Args:
        meta: the views (normalised scores of the neighbours).
        scores: recommender scores of the candidates (higher is better).
        neighbours: nearest training datasets → similarity.
        k: how many to choose.
        coverage: weight of the complementarity term.
        too_close: ``too_close(a, b)`` rejects near-identical configurations.
        pool: only the ``pool`` best-scored candidates are considered.
    """
    # numpy, not pandas, on the hot path: descending and stable, ties in their given order
    values = scores.to_numpy(dtype=float)
    top = np.argsort(-values, kind="stable")[:max(pool, k)]
    order = [str(c) for c in scores.index[top]]
    pct = np.nan_to_num(percentile_ranks(values)[top], nan=0.0)
    nb = neighbours[neighbours.index.isin(meta.norm.index)] if coverage > 0 else neighbours.iloc[:0]
    if nb.empty:
        N = np.zeros((1, len(order)))
        w = np.ones(1)
    else:
        N = meta.norm.reindex(index=nb.index, columns=order).fillna(0.0).to_numpy()
        w = nb.to_numpy(dtype=float)
        w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
    best = np.zeros(N.shape[0])
    chosen: list[str] = []
    taken = np.zeros(len(order), dtype=bool)
    while len(chosen) < k and not taken.all():
        gain = (np.maximum(N, best[:, None]) * w[:, None]).sum(axis=0)
        value = pct + coverage * gain
        value[taken] = -np.inf
        for j in np.argsort(-value, kind="stable"):
            if taken[j]:
                break
            taken[j] = True
            c = order[j]
            if too_close is None or all(not too_close(c, o) for o in chosen):
                chosen.append(c)
                best = np.maximum(best, N[:, j])
                break
    return chosen
