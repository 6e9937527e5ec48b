"""A greedy portfolio built for the query: training datasets weighted by their similarity.

The plain greedy portfolio (auto-sklearn 2.0 / TabRepo zero-shot) treats every training
dataset alike, so its first picks are the safest on average; nearest datasets
(auto-sklearn 1.0) trust a few neighbours and forget the rest. This one is in between:
the same greedy best-of-k construction, with each training dataset weighted by
``similarity ** sharpness`` to the query (``sharpness = 0`` is the plain portfolio; larger
values approach nearest neighbours). Each next configuration is the one that most raises
the weighted mean of the best-so-far normalised score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.recommenders._greedy import greedy_order
from metakg.metalearner.recommenders.base import BaseRecommender, Query
from metakg.metalearner.recommenders.nearest import NearestDatasetsRecommender

__all__ = ["LocalPortfolioRecommender"]


class LocalPortfolioRecommender(BaseRecommender):
    """Similarity-weighted greedy portfolio for each query.

    Args:
        size: configurations ordered greedily (the rest follow by weighted mean score).
        sharpness: exponent on the similarity weights (0: every dataset counts the same).
        scaling: meta-feature scaling of the similarity (see
            :class:`~metalearner.recommenders.NearestDatasetsRecommender`).
    """

    def __init__(self, *, size: int = 25, sharpness: float = 2.0, scaling: str = "rank") -> None:
        self.size = size
        self.sharpness = sharpness
        self.scaling = scaling

    def _fit(self, meta: MetaData) -> None:
        self.similarity_ = NearestDatasetsRecommender(k=len(meta.datasets),
                                                      scaling=self.scaling).fit(meta)
        self.norm_ = meta.norm.fillna(0.0).to_numpy()
        self.dataset_ids_ = list(meta.norm.index)

    def neighbours(self, query: Query) -> pd.Series:
        return self.similarity_.neighbours(query)

    def score(self, query: Query) -> pd.Series:
        sim = self.neighbours(query).reindex(self.dataset_ids_).fillna(0.0).to_numpy()
        w = sim ** self.sharpness
        w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / max(len(w), 1))
        N = self.norm_
        chosen = greedy_order(N, self.size, weights=w)
        taken = set(chosen)
        rest = [j for j in np.argsort(-(w @ N), kind="stable") if j not in taken]
        order = chosen + rest
        n = len(order)
        return pd.Series({self.config_ids_[j]: (n - i) / n for i, j in enumerate(order)}).reindex(
            self.config_ids_)
