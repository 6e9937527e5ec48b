"""Greedy portfolio that needs no meta-features (auto-sklearn 2.0 / TabRepo zero-shot)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.recommenders._greedy import greedy_order
from metakg.metalearner.recommenders.base import BaseRecommender, Query

__all__ = ["GreedyPortfolioRecommender", "SingleBestRecommender"]


class GreedyPortfolioRecommender(BaseRecommender):
    """Order configurations so that each next one most improves the mean best-so-far
    normalised score over the training datasets.

    Args:
        size: configurations ordered greedily (the rest follow by mean score).
        auxiliary: also cover the views' auxiliary datasets (other datasets of the task type
            under another metric, :func:`~metalearner.knowledge.with_auxiliary`); off by
            default, the classical baseline.
    """

    def __init__(self, *, size: int = 25, auxiliary: bool = False) -> None:
        self.size = size
        self.auxiliary = auxiliary

    def _fit(self, meta: MetaData) -> None:
        norm = meta.norm
        if self.auxiliary and meta.auxiliary is not None:
            norm = pd.concat([norm, meta.auxiliary.norm.reindex(columns=norm.columns)])
        N = norm.fillna(0.0).to_numpy()
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
