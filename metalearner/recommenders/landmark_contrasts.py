"""Landmark contrasts: how much better one cheap model does than another on a table.

The landmarkers (1-nearest-neighbour, a decision stump, naive Bayes, LDA, ridge) are
cross-validated scores of cheap models; their differences say which kind of model suits the
table (``lm_lda - lm_1nn`` > 0: linear structure; ``lm_best - lm_stump``: how much there is to
gain over one split). A tree ensemble can learn such differences from the raw landmarkers only
with many splits; given outright, they helped the former default's multiclass surrogate
(``bench/lodo.py`` protocol, four bags of surrogate seeds: higher best@5 and best@10, and a
top-1 at least as good as the HGB default and FLAML zero-shot more often, best@1 the same).
For binary ROC AUC (fewer top-1s at least as good as FLAML zero-shot) and regression (lower
best@5) they did not, so only the log-loss policy reads them (feature group
``landmark_contrasts``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["LANDMARKERS", "LANDMARK_CONTRASTS", "landmark_contrasts", "query_contrasts",
           "query_with_landmark_contrasts", "with_landmark_contrasts"]

#: The landmarker meta-features (``metalearner.metafeatures.landmarking``); NaN where one
#: does not apply (LDA and naive Bayes to regression, ridge to classification).
LANDMARKERS = ("lm_1nn", "lm_stump", "lm_naive_bayes", "lm_lda", "lm_ridge")
_PAIRS = tuple((i, j) for i in range(len(LANDMARKERS)) for j in range(i + 1, len(LANDMARKERS)))
#: Names of the contrasts, in the order :func:`landmark_contrasts` returns them: every pair's
#: difference, the best landmarker and its gain over the stump.
LANDMARK_CONTRASTS = (*(f"{LANDMARKERS[i]}-{LANDMARKERS[j]}" for i, j in _PAIRS),
                      "lm_best", "lm_best-lm_stump")


def landmark_contrasts(landmarks: np.ndarray) -> np.ndarray:
    """The contrasts of rows of landmarker values.

    Args:
        landmarks: rows × :data:`LANDMARKERS` (NaN where missing).

    Returns:
        rows × :data:`LANDMARK_CONTRASTS` (NaN where a landmarker it uses is missing).
    """
    values = np.asarray(landmarks, dtype=float)
    pairs = [values[:, i] - values[:, j] for i, j in _PAIRS]
    with warnings.catch_warnings():  # a row without landmarkers: NaN, said once by numpy
        warnings.simplefilter("ignore", RuntimeWarning)
        best = np.nanmax(values, axis=1)
    return np.column_stack([*pairs, best, best - values[:, LANDMARKERS.index("lm_stump")]])


def query_contrasts(metafeatures: Mapping[str, float | None]) -> np.ndarray:
    """:func:`landmark_contrasts` of one task's meta-features (missing ones count as NaN)."""
    row = [metafeatures.get(name) for name in LANDMARKERS]
    return landmark_contrasts(np.array([[np.nan if v is None else v for v in row]], dtype=float))[0]


def query_with_landmark_contrasts(metafeatures: Mapping[str, float | None], features: list[str],
                                  *, contrasts: bool = True) -> np.ndarray:
    """One task's row of :func:`with_landmark_contrasts`, as a float array (missing
    meta-features count as NaN)."""
    plain = np.array([np.nan if (v := metafeatures.get(f)) is None else v for f in features],
                     dtype=float)
    return np.concatenate([plain, query_contrasts(metafeatures)]) if contrasts else plain


def with_landmark_contrasts(metafeatures: pd.DataFrame, features: list[str], *,
                            contrasts: bool = True) -> pd.DataFrame:
    """Tables' chosen meta-features as floats, followed by their landmark contrasts.

    Args:
        metafeatures: one row per table (missing columns count as NaN).
        features: the meta-features to keep, in this order.
        contrasts: append the :data:`LANDMARK_CONTRASTS` columns.
    """
    plain = metafeatures.reindex(columns=features).astype(float)
    if not contrasts:
        return plain
    marks = metafeatures.reindex(columns=list(LANDMARKERS)).to_numpy(dtype=float)
    return pd.concat([plain, pd.DataFrame(landmark_contrasts(marks), index=plain.index,
                                          columns=list(LANDMARK_CONTRASTS))], axis=1)
