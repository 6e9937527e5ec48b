"""The default recommender: a weighted blend of the others' rank scores."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.ranks import percentile_ranks
from metakg.metalearner.recommenders.base import BaseRecommender, Query
from metakg.metalearner.recommenders.graph_ppr import GraphRecommender
from metakg.metalearner.recommenders.nearest import NearestDatasetsRecommender
from metakg.metalearner.recommenders.portfolio import GreedyPortfolioRecommender
from metakg.metalearner.recommenders.text import TextSimilarityRecommender
from metakg.metalearner.score_model import ScoreModel

from .surrogate import SurrogateRecommender
from .surrogate_portfolio import SurrogatePortfolioRecommender

__all__ = ["DEFAULT_WEIGHTS", "EnsembleRecommender"]

#: Weights chosen by bench/lodo.py (the table in docs/benchmarks.md): the surrogate portfolio alone
#: beat every blend of the others at k = 1, 3, 10 and tied at 5 and 25.
DEFAULT_WEIGHTS: dict[str, float] = {"surrogate portfolio": 1.0, "surrogate": 0.0,
                                     "portfolio": 0.0, "nearest": 0.0, "graph": 0.0,
                                     "text": 0.0}

_MEMBERS = {"nearest": NearestDatasetsRecommender, "surrogate": SurrogateRecommender,
            "graph": GraphRecommender, "portfolio": GreedyPortfolioRecommender,
            "text": TextSimilarityRecommender,
            "surrogate portfolio": SurrogatePortfolioRecommender}


class EnsembleRecommender(BaseRecommender):
    """Blend members by their per-query percentile ranks, weighted.

    Args:
        weights: member name → weight (members with weight 0 are not fitted).
        score_model: also fit a :class:`~metalearner.score_model.ScoreModel` (``score_model_``),
            which gives recommendations their expected score and interval for the metrics it
            covers (log loss, RMSE); ``False``: the nearest datasets' mean and range throughout.
    """

    def __init__(self, *, weights: dict[str, float] | None = None,
                 score_model: bool = True) -> None:
        self.weights = weights
        self.score_model = score_model

    def _fit(self, meta: MetaData) -> None:
        w = self.weights if self.weights is not None else DEFAULT_WEIGHTS
        self.members_ = {name: _MEMBERS[name]().fit(meta) for name, wt in w.items() if wt > 0}
        self.weights_ = {n: w[n] for n in self.members_}
        # the nearest datasets are the evidence shown with every recommendation, weighed or not
        self.evidence_ = self.members_.get("nearest") or NearestDatasetsRecommender().fit(meta)
        self.score_model_ = ScoreModel().fit(meta) if self.score_model else None

    def neighbours(self, query: Query) -> pd.Series:
        return self.evidence_.neighbours(query)

    def score(self, query: Query) -> pd.Series:
        return self._blend(lambda member: member.score(query), self.config_index_)

    def score_among(self, query: Query, candidates: pd.Index) -> pd.Series:
        """The members' :meth:`~BaseRecommender.score_among`, blended as in :meth:`score`."""
        return self._blend(lambda member: member.score_among(query, candidates), candidates)

    def _blend(self, scores: Callable[[BaseRecommender], pd.Series], index: pd.Index) -> pd.Series:
        total = np.zeros(len(index))
        for name, member in self.members_.items():
            s = scores(member)
            if s.index is not index:
                s = s.reindex(index)
            v = s.to_numpy(dtype=float)
            if np.unique(v[~np.isnan(v)]).size <= 1:
                continue  # no signal (e.g. no text embedding)
            total += self.weights_[name] * np.nan_to_num(percentile_ranks(v), nan=0.0)
        return pd.Series(total, index=index)
