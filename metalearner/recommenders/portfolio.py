"""Greedy portfolio that needs no meta-features (auto-sklearn 2.0 / TabRepo zero-shot)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metalearner.knowledge import MetaData
from metalearner.recommenders._greedy import greedy_order
from metalearner.recommenders.base import BaseRecommender, Query

__all__ = ["GreedyPortfolioRecommender", "SingleBestRecommender"]


class GreedyPortfolioRecommender(BaseRecommender):
    """Order configurations so that each next one most improves the mean best-so-far
    normalised score over the training datasets.

    Args:
        size: configurations ordered greedily (the rest follow by mean score).
    """

    def __init__(self, *, size: int = 25) -> None:
        self.size = size

    def _fit(self, meta: MetaData) -> None:
        N = meta.norm.fillna(0.0).to_numpy()
        chosen = greedy_order(N, self.size)
        rest = [j for j in np.argsort(-N.mean(axis=0)) if j not in chosen]
        order = chosen + rest
        n = len(order)
        self.order_ = [self.config_ids_[j] for j in order]
        self.scores_ = pd.Series({c: (n - i) / n for i, c in enumerate(self.order_)})

    def score(self, query: Query) -> pd.Series:
        return self.scores_.reindex(self.config_ids_)


class SingleBestRecommender(BaseRecommender):
    """Configurations by their mean normalised score over all datasets (a baseline)."""

    def _fit(self, meta: MetaData) -> None:
        self.scores_ = meta.norm.fillna(0.0).mean(axis=0)

    def score(self, query: Query) -> pd.Series:
        return self.scores_.reindex(self.config_ids_)
