"""The recommender interface: fit on :class:`MetaData`, score configurations for a query."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from metakg.kg.errors import InvalidData
from metakg.metalearner.fitted import NotFittedGuard
from metakg.metalearner.knowledge import MetaData

__all__ = ["BaseRecommender", "Query", "neighbour_weights"]


@dataclass(frozen=True)
class Query:
    """A new task as the recommenders see it.

    Attributes:
        metafeatures: meta-feature name → value (NaN/None where missing).
        embedding: text embedding of its description and columns, if any.
        dataset_id: its id when it is already in the graph (excluded from its own evidence).
        target_sd: the standard deviation of its regression target, which puts the similar
            datasets' RMSE (each in its own target's units) on this table's scale.
    """

    metafeatures: dict[str, float | None] = field(default_factory=dict)
    embedding: np.ndarray | None = None
    dataset_id: str | None = None
    target_sd: float | None = None


class BaseRecommender(NotFittedGuard, BaseEstimator, ABC):
    """A scikit-learn estimator: ``__init__`` stores arguments, ``fit`` validates and learns,
    fitted attributes end in ``_``, ``fit`` returns ``self``, ``clone`` works; scoring before
    ``fit`` raises ``NotFittedError``."""

    fit_hint = "fit(load_metadata(graph, task_type, metric))"

    def fit(self, meta: MetaData) -> BaseRecommender:
        """Learn from the graph's views.

        Raises:
            TypeError: ``meta`` is not the graph's views.
            InvalidData: no datasets or no configurations to learn from, or a single (table,
                configuration) result.
        """
        if not isinstance(meta, MetaData):
            raise TypeError(f"fit(meta): expected the graph's views, load_metadata(graph, "
                            f"task_type, metric), not {type(meta).__name__}.")
        if not meta.datasets or meta.norm.shape[1] == 0:
            from metakg.kg.default_graph import no_runs_advice

            raise InvalidData(f"No {meta.task_type} runs in the graph to learn from; "
                              + no_runs_advice())
        if int(meta.norm.notna().to_numpy().sum()) < 2:  # a ranker learns from two or more
            raise InvalidData(f"The graph's {meta.task_type} runs give one (table, "
                              "configuration) result, and a recommender needs two or more to "
                              "learn from: log a run of another configuration or on another "
                              "table, or fill the store with the seed graph.")
        self.meta_ = meta
        self.config_ids_ = list(meta.norm.columns)
        # the same ids as a pandas index, built once: a new index per prediction (from a list of
        # strings) cost more than the prediction
        self.config_index_ = meta.norm.columns
        self._fit(meta)
        return self

    @abstractmethod
    def _fit(self, meta: MetaData) -> None: ...

    @abstractmethod
    def score(self, query: Query) -> pd.Series:
        """Higher is better: a score per configuration id (index = ``config_ids_``)."""

    def score_among(self, query: Query, candidates: pd.Index) -> pd.Series:
        """Scores for choosing among ``candidates`` only (e.g. one family, for a tuner that
        searches that family; or those within a time budget).

        This default ranks them as :meth:`score` does. A portfolio recommender rebuilds its
        portfolio over the candidates, so that each next one covers what the candidates chosen
        before it miss, rather than what the other families' choices miss.

        Args:
            query: the new task.
            candidates: configuration ids, a subset of ``config_ids_``.

        Returns:
            Higher is better, indexed by ``candidates``.
        """
        return self.score(query).reindex(candidates)

    def neighbours(self, query: Query) -> pd.Series:
        """Training datasets most similar to the query, id → similarity in [0, 1]."""
        return pd.Series(dtype=float)


def neighbour_weights(sim: pd.Series, norm: pd.DataFrame) -> pd.Series:
    """Similarity-weighted mean of the neighbours' normalised scores per configuration."""
    w = sim[sim.index.isin(norm.index) & (sim > 0)]
    if w.empty:
        return pd.Series(0.0, index=norm.columns)
    vals = norm.loc[w.index].to_numpy()
    mask = ~np.isnan(vals)
    wv = w.to_numpy()[:, None]
    num = (np.nan_to_num(vals) * wv).sum(axis=0)
    den = (mask * wv).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, 0.0)
    return pd.Series(out, index=norm.columns)
