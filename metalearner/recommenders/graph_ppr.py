"""Personalised PageRank on the dataset–configuration graph, from the nearest datasets."""

from __future__ import annotations

import networkx as nx
import pandas as pd

from metalearner.knowledge import MetaData
from metalearner.recommenders.base import BaseRecommender, Query
from metalearner.recommenders.nearest import NearestDatasetsRecommender

__all__ = ["GraphRecommender"]


class GraphRecommender(BaseRecommender):
    """Random walks restart at the query's nearest datasets and flow to configurations in
    proportion to how well they did there (edge weight = normalised score ** ``sharpness``).

    Args:
        k: nearest datasets the walk restarts from.
        alpha: PageRank damping.
        sharpness: exponent on normalised scores (higher favours the best configurations).
    """

    def __init__(self, *, k: int = 10, alpha: float = 0.85, sharpness: float = 4.0) -> None:
        self.k = k
        self.alpha = alpha
        self.sharpness = sharpness

    def _fit(self, meta: MetaData) -> None:
        self.nearest_ = NearestDatasetsRecommender(k=self.k).fit(meta)
        g = nx.Graph()
        for d in meta.datasets:
            g.add_node(("d", d))
        for c in self.config_ids_:
            g.add_node(("c", c))
        norm = meta.norm.fillna(0.0)
        for d in meta.datasets:
            row = norm.loc[d]
            for c, v in row.items():
                if v > 0:
                    g.add_edge(("d", d), ("c", c), weight=float(v) ** self.sharpness)
        self.graph_ = g

    def neighbours(self, query: Query) -> pd.Series:
        return self.nearest_.neighbours(query)

    def score(self, query: Query) -> pd.Series:
        sim = self.neighbours(query)
        person = {("d", d): float(s) for d, s in sim.items() if s > 0}
        if not person:  # no similar dataset to start from: no signal
            return pd.Series(0.0, index=self.config_ids_)
        try:
            pr = nx.pagerank(self.graph_, alpha=self.alpha, personalization=person,
                             weight="weight", tol=1e-6, max_iter=300)
        except nx.PowerIterationFailedConvergence:  # tiny or degenerate graphs
            from metalearner.recommenders.base import neighbour_weights

            return neighbour_weights(sim, self.meta_.norm).reindex(self.config_ids_).fillna(0.0)
        return pd.Series({c: pr.get(("c", c), 0.0) for c in self.config_ids_})
