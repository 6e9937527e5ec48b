"""Nearest datasets by the meaning of their descriptions and column names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.recommenders.base import BaseRecommender, Query, neighbour_weights

__all__ = ["TextSimilarityRecommender"]


class TextSimilarityRecommender(BaseRecommender):
    """Like nearest datasets, with cosine similarity of text embeddings.

    Args:
        k: neighbours.
    """

    def __init__(self, *, k: int = 5) -> None:
        self.k = k

    def _fit(self, meta: MetaData) -> None:
        ids = [d for d in meta.datasets if d in meta.embeddings]
        self.ids_ = ids
        self.E_ = np.stack([meta.embeddings[d] for d in ids]) if ids else np.zeros((0, 384))

    def neighbours(self, query: Query) -> pd.Series:
        if query.embedding is None or not self.ids_:
            return pd.Series(dtype=float)
        sim = pd.Series(self.E_ @ query.embedding, index=self.ids_).clip(lower=0.0)
        if query.dataset_id is not None:
            sim = sim.drop(query.dataset_id, errors="ignore")
        return sim.nlargest(self.k)

    def score(self, query: Query) -> pd.Series:
        sim = self.neighbours(query)
        if sim.empty:
            return pd.Series(0.0, index=self.config_ids_)
        return neighbour_weights(sim, self.meta_.norm).reindex(self.config_ids_).fillna(0.0)
