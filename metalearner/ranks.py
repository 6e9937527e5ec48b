"""Percentile ranks in numpy, equal to pandas' ``Series.rank(pct=True)`` (average ties, NaN
kept NaN, divided by the number of non-NaN values) without building a Series on the
recommendation path."""

from __future__ import annotations

import numpy as np

__all__ = ["percentile_ranks"]


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """Average-tie ranks of the non-NaN values over their count; NaN stays NaN.

    Args:
        values: 1-d floats.

    Returns:
        An array of the same length, in (0, 1] where defined.
    """
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, np.nan)
    known = ~np.isnan(values)
    n = int(known.sum())
    if n:
        out[known] = rankdata(values[known]) / n
    return out
