"""Greedy best-of-k ordering shared by the portfolio recommenders."""

from __future__ import annotations

import numpy as np


def greedy_order(scores: np.ndarray, size: int, *, weights: np.ndarray | None = None,
                 first: int | None = None) -> list[int]:
    """Columns of ``scores`` (datasets × configurations) in greedy order: each next one most
    raises the (weighted) mean over datasets of the best score reached so far.

    Args:
        scores: per dataset and configuration, higher is better (no NaN).
        size: how many columns to order.
        weights: per dataset, summing to 1 (``None``: the plain mean).
        first: a column forced to come first (the best-so-far starts from it, not from 0).
    """
    chosen = [] if first is None else [first]
    best = np.zeros(scores.shape[0]) if first is None else scores[:, first].copy()
    while len(chosen) < min(size, scores.shape[1]):
        reached = np.maximum(scores, best[:, None])
        gain = reached.mean(axis=0) if weights is None else weights @ reached
        gain[chosen] = -np.inf
        j = int(np.argmax(gain))
        chosen.append(j)
        best = np.maximum(best, scores[:, j])
    return chosen
