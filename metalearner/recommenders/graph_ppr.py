"""Personalised PageRank on the dataset–configuration graph, from the nearest datasets."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.recommenders.base import BaseRecommender, Query
from metakg.metalearner.recommenders.nearest import NearestDatasetsRecommender

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
        import scipy.sparse as sp

        self.nearest_ = NearestDatasetsRecommender(k=self.k).fit(meta)
        g = nx.Graph()
        g.add_nodes_from(("d", d) for d in meta.datasets)
        g.add_nodes_from(("c", c) for c in self.config_ids_)
        norm = meta.norm.fillna(0.0)
        for d in meta.datasets:
            for c, v in norm.loc[d].items():
                if v > 0:
                    g.add_edge(("d", d), ("c", c), weight=float(v) ** self.sharpness)
        self.graph_ = g
        # The walk's transition matrix, built once: scoring is a few sparse products.
        nodes = list(g.nodes)
        self.index_ = {n: i for i, n in enumerate(nodes)}
        A = nx.to_scipy_sparse_array(g, nodelist=nodes, weight="weight", format="csr")
        out = np.asarray(A.sum(axis=1)).ravel()
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        # stored transposed in CSR so that each step is one fast row-major product
        self.transition_t_ = sp.csr_array((sp.diags(inv) @ A).T)
        self.dangling_ = out == 0
        self.config_rows_ = np.array([self.index_[("c", c)] for c in self.config_ids_])

    def neighbours(self, query: Query) -> pd.Series:
        return self.nearest_.neighbours(query)

    def score(self, query: Query, *, iterations: int = 40, tol: float = 1e-6) -> pd.Series:
        sim = self.neighbours(query)
        p = np.zeros(len(self.index_))
        for d, s in sim.items():
            if s > 0 and ("d", d) in self.index_:
                p[self.index_[("d", d)]] = s
        if p.sum() == 0:  # no similar dataset to start from: no signal
            return pd.Series(0.0, index=self.config_ids_)
        p /= p.sum()
        x = p.copy()
        for _ in range(iterations):  # power iteration with restarts at the neighbours
            walk = self.transition_t_ @ x
            nxt = self.alpha * (walk + x[self.dangling_].sum() * p) + (1 - self.alpha) * p
            done = np.abs(nxt - x).sum() < tol
            x = nxt
            if done:
                break
        return pd.Series(x[self.config_rows_], index=self.config_ids_)
