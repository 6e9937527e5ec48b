"""Nearest datasets in meta-feature space, and their best configurations (auto-sklearn 1.0)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.recommenders.base import BaseRecommender, Query, neighbour_weights

__all__ = ["DEFAULT_FEATURES", "NearestDatasetsRecommender"]

#: Meta-features used for distances (by default); chosen by bench/lodo.py.
DEFAULT_FEATURES = (
    "log_nr_inst", "log_nr_attr", "log_attr_to_inst", "frac_cat", "missing_frac", "nr_class",
    "class_prob_min", "class_balance_entropy", "skewness.mean", "kurtosis.mean", "cor.mean",
    "pca_95_frac", "attr_ent.mean", "mut_inf.mean", "lm_1nn", "lm_stump", "lm_naive_bayes",
    "lm_lda", "lm_ridge", "target_skewness",
)


class NearestDatasetsRecommender(BaseRecommender):
    """Score configurations by their normalised scores on the ``k`` nearest datasets.

    Args:
        k: neighbours.
        features: meta-features for the distance (``None``: :data:`DEFAULT_FEATURES`).
        scaling: ``rank`` (each feature mapped to its quantile among training datasets) or
            ``standard`` (z-scores).
        weighting: ``inverse`` (1 / (1 + d)) or ``uniform``.
    """

    #: the last query and its neighbours (reused when the same query asks again); ``fit``
    #: resets it, and before ``fit`` the lookup goes on to a fitted attribute, which says so
    _last: tuple[Query, pd.Series] | None = None

    def __init__(self, *, k: int = 10, features: tuple[str, ...] | None = None,
                 scaling: str = "rank", weighting: str = "inverse") -> None:
        self.k = k
        self.features = features
        self.scaling = scaling
        self.weighting = weighting

    def _fit(self, meta: MetaData) -> None:
        feats = [f for f in (self.features or DEFAULT_FEATURES) if f in meta.metafeatures.columns]
        X = meta.metafeatures.reindex(index=meta.datasets, columns=feats).astype(float)
        self.features_ = feats
        self.ids_ = list(X.index)
        self.index_ = X.index
        self.id_array_ = np.array(self.ids_, dtype=object)  # == on it is ~20x cheaper
        self.median_ = np.nan_to_num(X.median().to_numpy(dtype=float))
        values = X.to_numpy(dtype=float)
        if self.scaling == "standard":
            self.center_ = self.median_
            sd = np.nan_to_num(np.nanstd(values, axis=0), nan=1.0)
            self.scale_ = np.where(sd > 0, sd, 1.0)
        else:  # each feature's sorted training values, for quantile (rank) scaling
            self.sorted_ = [np.sort(col[np.isfinite(col)]) for col in values.T]
        self.Z_ = self._transform(values)
        self._last = None

    def _transform(self, values: np.ndarray) -> np.ndarray:
        """Rows of raw meta-feature values (NaN missing) → scaled coordinates."""
        X = np.where(np.isfinite(values), values, self.median_)
        if self.scaling == "standard":
            return (X - self.center_) / self.scale_
        cols = [np.searchsorted(ref, X[:, j], side="left") / max(ref.size, 1) if ref.size
                else np.zeros(len(X)) for j, ref in enumerate(self.sorted_)]
        return np.column_stack(cols) if cols else np.zeros((len(X), 0))

    def neighbours(self, query: Query) -> pd.Series:
        last = self._last  # read once: another thread may answer its own query meanwhile
        if last is not None and last[0] is query:  # same call, reused
            return last[1]
        q = np.array([[np.nan if (v := query.metafeatures.get(f)) is None else v
                       for f in self.features_]], dtype=float)
        z = self._transform(q)[0]
        d = np.sqrt(((self.Z_ - z) ** 2).mean(axis=1))
        sim = 1.0 / (1.0 + 4.0 * d)
        if query.dataset_id is not None:
            sim[self.id_array_ == query.dataset_id] = -np.inf  # never its own neighbour
        # the k largest, ties in training order (as Series.nlargest), on numpy: cheaper
        best = np.argsort(-sim, kind="stable")[:self.k]
        best = best[np.isfinite(sim[best])]
        top = pd.Series(sim[best], index=self.index_[best])
        top = top if self.weighting == "inverse" else top * 0 + 1.0
        self._last = (query, top)
        return top

    def score(self, query: Query) -> pd.Series:
        return neighbour_weights(self.neighbours(query), self.meta_.norm)
