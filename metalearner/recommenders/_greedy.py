"""Greedy best-of-k ordering shared by the portfolio recommenders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Gains closer than this to the largest are ties (scores are relative, of order 1).
_TIE = 1e-12


def greedy_order(scores: np.ndarray, size: int, *, weights: np.ndarray | None = None,
                 first: int | Sequence[int] | None = None) -> list[int]:
    """Columns of ``scores`` (datasets × configurations) in greedy order: each next one most
    raises the (weighted) mean over datasets of the best score reached so far.

    Args:
        scores: per dataset and configuration, higher is better (no NaN).
        size: how many columns to order.
        weights: per dataset, summing to 1 (``None``: the plain mean).
        first: a column forced to come first, or columns forced to come first in that order
            (the best-so-far starts from them, not from 0).
    """
    chosen = [] if first is None else [int(first)] if np.isscalar(first) else [int(c) for c in first]
    best = scores[:, chosen].max(axis=1) if chosen else np.zeros(scores.shape[0])
    if weights is not None:
        return _weighted_greedy(scores, size, weights, chosen, best)
    while len(chosen) < min(size, scores.shape[1]):
        reached = np.maximum(scores, best[:, None])
        gain = reached.mean(axis=0)
        gain[chosen] = -np.inf
        j = int(np.argmax(gain))
        chosen.append(j)
        best = np.maximum(best, scores[:, j])
    return chosen


def _weighted_greedy(scores: np.ndarray, size: int, weights: np.ndarray, chosen: list[int],
                     best: np.ndarray) -> list[int]:
    """The weighted greedy, with each step's gains updated only on the datasets the last
    choice improved (the others' terms do not change), instead of recomputing
    ``weights @ max(scores, best)`` at every step, which over 2,000 datasets x 1,000
    configurations took most of a recommendation's time.

    Updated sums carry rounding that recomputed ones do not, so gains within ``_TIE`` of the
    largest count as tied and the first column among them is taken, as ``argmax`` takes the
    first of exact ties: once nothing is left to improve, every gain is the same number."""
    gain = weights @ np.maximum(scores, best[:, None])
    while len(chosen) < min(size, scores.shape[1]):
        masked = gain.copy()
        masked[chosen] = -np.inf
        j = int(np.flatnonzero(masked >= masked.max() - _TIE)[0])
        chosen.append(j)
        rows = np.flatnonzero(scores[:, j] > best)
        if rows.size:
            part, new = scores[rows], scores[rows, j]
            gain += weights[rows] @ (np.maximum(part, new[:, None]) - np.maximum(part, best[rows, None]))
            best[rows] = new
    return chosen
