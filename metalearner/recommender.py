"""MetaRecommender: FeatureBuilder → Ranker → Portfolio, with the evidence an Explainer shows.

The default recommender (decision 0011), in four readable steps:

1. :class:`~metalearner.features.FeatureBuilder` turns the training tables and the query
   into rows (table features, configuration features, pair features), by one path.
2. :class:`~metalearner.ranker.Ranker` learns a configuration's relative score on a table
   (1 = the table's best, 0 = its median) and predicts it for the query.
3. :class:`~metalearner.portfolio_step.Portfolio` chooses the top k greedily over the
   training tables that behave like the prediction, under the policy's constraints.
4. The explanation (expected score, interval, evidence) is built from the neighbours and the
   :class:`~metalearner.score_model.ScoreModel` in :mod:`metalearner.recommend`.

What differs between metrics is a policy file (:mod:`metalearner.policy`), not a branch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metakg.metalearner.candidate_forest import CandidateForest
from metakg.metalearner.features import FeatureBuilder
from metakg.metalearner.knowledge import MetaData, learning_targets, relative_scores
from metakg.metalearner.policy import Policy, load_policy
from metakg.metalearner.portfolio_step import Portfolio
from metakg.metalearner.ranker import Ranker, from_top
from metakg.metalearner.recommenders.base import BaseRecommender, Query
from metakg.metalearner.recommenders.nearest import NearestDatasetsRecommender
from metakg.metalearner.recommenders.probe_contrasts import family_gap_columns
from metakg.metalearner.score_model import ScoreModel

__all__ = ["MetaRecommender"]


class MetaRecommender(BaseRecommender):
    """FeatureBuilder → Ranker → Portfolio under a per-metric policy (see the module
    docstring); the default recommender (decision 0011).

    Args:
        policy: the policy to follow (``None``: the fitted metric's file,
            :func:`~metalearner.policy.load_policy`).
        random_state: seed of the ranker's first model.

    Fitted attributes: ``policy_``, ``features_``, ``ranker_``, ``portfolio_``, ``nearest_``
    (the evidence shown with a recommendation), ``score_model_`` (expected scores and
    intervals where the metric has one), ``table_ids_`` (the training tables).
    """

    def __init__(self, *, policy: Policy | None = None, random_state: int = 0) -> None:
        self.policy = policy
        self.random_state = random_state

    def _fit(self, meta: MetaData) -> None:
        self.policy_ = self._policy_for(_metric(meta))
        meta = _dense(meta, self.policy_.portfolio.min_coverage)
        # the ranker learns each cell's own score, a weak one at its weight (decision 0012);
        # the portfolio reads the scores shrunk towards each configuration's mean elsewhere
        own, weights = self._learning_targets(meta)
        own = own.reindex(columns=self.config_ids_)
        if weights is None:  # no weak cell: both read the same scores
            self._fit_ranker(meta, own)
            relative = own
        else:
            self._fit_ranker(meta, own, weights.reindex(columns=self.config_ids_))
            relative = relative_scores(meta, floor=-1.0).reindex(columns=self.config_ids_)
        q = self.policy_.portfolio
        rows = relative
        if q.auxiliary and meta.auxiliary is not None:
            extra = relative_scores(_dense(meta.auxiliary, q.min_coverage), floor=-1.0)
            rows = pd.concat([relative, extra.reindex(columns=self.config_ids_)])
        self.portfolio_ = Portfolio(tau=q.tau, first_blend=q.first_blend,
                                    prediction_weight=q.prediction_weight,
                                    incumbent=self._incumbent(q.incumbent), margin=q.margin,
                                    max_collapse_risk=q.max_collapse_risk,
                                    cover_families=q.cover_families,
                                    cover_within=q.cover_within
                                    ).fit(rows, self.features_.families_, primary=len(relative))
        self.table_ids_ = list(rows.index)
        self.nearest_ = NearestDatasetsRecommender().fit(meta)
        self.score_model_ = self._fit_score_model(meta)

    def _fit_ranker(self, meta: MetaData, relative: pd.DataFrame,
                    weights: pd.DataFrame | None = None) -> None:
        """Fit ``features_`` and ``ranker_`` on every (table, configuration) score
        (``weights``: each cell's row weight, like ``relative``; ``None``: equal)."""
        p = self.policy_
        tables = meta.metafeatures.reindex(index=relative.index)
        configs = {c: meta.configs[c] for c in self.config_ids_}
        self.features_ = FeatureBuilder(p.features).fit(tables, configs)
        cells = relative.stack().dropna()
        table_rows = relative.index.get_indexer(cells.index.get_level_values(0))
        config_rows = relative.columns.get_indexer(cells.index.get_level_values(1))
        X = self.features_.rows(tables, table_rows, config_rows)
        r = p.ranker
        self.ranker_ = Ranker(temperature=r.temperature, n_bags=r.n_bags,
                              n_estimators=r.n_estimators, learning_rate=r.learning_rate,
                              num_leaves=r.num_leaves, random_state=self.random_state
                              ).fit(X, cells.to_numpy(), sample_weight=None if weights is None
                                    else weights.to_numpy()[table_rows, config_rows])

    def _learning_targets(self, meta: MetaData) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The ranker's targets and row weights (:func:`~metalearner.knowledge.learning_targets`)."""
        return learning_targets(meta, floor=-1.0)

    def _policy_for(self, metric: str) -> Policy:
        """The policy followed for ``metric``: ``policy`` if given, else the metric's file."""
        return self.policy or load_policy(metric)

    def _fit_score_model(self, meta: MetaData) -> ScoreModel | None:
        """The expected-score model the explanations read (a benchmark of the ranking alone
        may skip it)."""
        return ScoreModel().fit(meta)

    def _incumbent(self, name: str | None) -> int | None:
        """Position of the policy's incumbent among the candidates: a family's default, or a
        published configuration by its name (``catboost-default``); ``None`` when it is not a
        candidate here."""
        if name is None:
            return None
        from metakg.kg.graph import make_configuration
        from metakg.kg.identity import configuration_id
        from metakg.kg.published import published_configurations
        from metakg.kg.spaces import FAMILIES, default_configuration

        if name in FAMILIES:
            config_id = make_configuration(default_configuration(name)).id
        else:  # a published configuration (the policy checked the name)
            config_id = next(configuration_id(p.config) for p in published_configurations()
                             if p.name == name)
        return self.config_ids_.index(config_id) if config_id in self.config_ids_ else None

    def predicted(self, query: Query) -> np.ndarray:
        """The ranker's relative score of every candidate on the query (``config_ids_`` order)."""
        return self._for_query(query)[0]

    def _for_query(self, query: Query) -> tuple[np.ndarray, np.ndarray]:
        """(the ranker's prediction, each candidate's family probe gap) for the query, kept for
        the last query: a recommendation ranks, then explains, the same query."""
        key = tuple(sorted(query.metafeatures.items()))
        last = self.__dict__.get("_last_query")
        if last is not None and last[0] == key:
            return last[1], last[2]
        mf, features = query.metafeatures, self.features_
        gaps = features.family_gaps(mf)
        forest = self._compiled()
        if forest is None:
            predicted = self.ranker_.predict(features.query_rows(mf))
        else:  # the same predictions as the boosters', several times faster
            mixed = family_gap_columns(gaps, features.families_) if features.pair_ else None
            predicted = from_top(forest.predict(features.table_matrix(mf)[0], mixed),
                                 self.ranker_.temperature)
        self._last_query = (key, predicted, gaps)  # one assignment: a reader sees a whole entry
        return predicted, gaps

    def _compiled(self) -> CandidateForest | None:
        """The ranker's bag compiled for the candidates (:mod:`metalearner.candidate_forest`),
        on the first query; ``None`` where its trees are too large for that form."""
        if "_forest" not in self.__dict__:
            try:
                self._forest: CandidateForest | None = CandidateForest.compile(
                    [m.booster_ for m in self.ranker_.models_],
                    n_query=len(self.features_.table_columns_),
                    candidates=self.features_.config_matrix_)
            except ValueError:  # trees of more than 64 leaves: the boosters predict themselves
                self._forest = None
        return self._forest

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # a copy: pickling leaves this object as it is
        for derived in ("_last_query", "_forest"):  # rebuilt on use, not fitted state
            state.pop(derived, None)
        return state

    def bag_predictions(self, metafeatures: Mapping[str, float | None]) -> np.ndarray:
        """Each of the ranker's models' relative score of every candidate on a table: bags ×
        candidates (``config_ids_`` order). Where they disagree, the graph does not know the
        configuration's score there (:mod:`metalearner.active`). Their mean on the relative
        scale is a little below :meth:`predicted`, which averages on the sharpened target's
        scale."""
        return self.ranker_.predict_bags(self.features_.query_rows(metafeatures))

    def score_configurations(self, query: Query, configs: Sequence[Mapping[str, Any]]
                             ) -> np.ndarray:
        """The ranker's relative score of any configurations on the query, candidates or not
        (a tuner's draws from a family's space, :mod:`metalearner.warmstart.transfer`).

        Args:
            query: the new task.
            configs: ``{"family", "params"}`` dicts.

        Returns:
            One relative score per configuration (1 = as good as the table's best).
        """
        if not configs:
            return np.empty(0)
        return self.ranker_.predict(self.features_.configuration_rows(query.metafeatures,
                                                                      configs))

    def score(self, query: Query) -> pd.Series:
        return self._ranked(query, None)

    def score_among(self, query: Query, candidates: pd.Index) -> pd.Series:
        """The portfolio chosen among ``candidates`` only (e.g. one family for a tuner): each
        next pick covers what the candidates chosen before it miss."""
        position = {c: i for i, c in enumerate(self.config_ids_)}
        allowed = np.array([position[c] for c in candidates if c in position], dtype=np.intp)
        if allowed.size == 0:
            return pd.Series(np.nan, index=candidates)
        return self._ranked(query, allowed).reindex(candidates)

    def _ranked(self, query: Query, allowed: np.ndarray | None) -> pd.Series:
        order = self.portfolio_.select(self.predicted(query), allowed, self._for_query(query)[1])
        values = np.full(len(self.config_ids_), np.nan)
        values[order] = (len(order) - np.arange(len(order))) / len(order)
        return pd.Series(values, index=self.config_index_)

    def neighbours(self, query: Query) -> pd.Series:
        return self.nearest_.neighbours(query)

    def reasons(self, query: Query, chosen: list[str],
                candidates: pd.Index | None = None) -> dict[str, str]:
        """Why each chosen configuration is at its place (configuration id → reason), for
        the top k as the recommendation shows it.

        Args:
            query: the new task.
            chosen: configuration ids in rank order.
            candidates: the configurations they were chosen among (``None``: all).

        Returns:
            Configuration id → reason.
        """
        position = {c: i for i, c in enumerate(self.config_ids_)}
        picks = [position[c] for c in chosen if c in position]
        allowed = (None if candidates is None else
                   np.array([position[c] for c in candidates if c in position], dtype=np.intp))
        names = [self.meta_.names.get(d, d) for d in self.table_ids_]
        text = self.portfolio_.reasons(self.predicted(query), picks, names, allowed,
                                       self._for_query(query)[1])
        return {self.config_ids_[j]: t for j, t in zip(picks, text, strict=True)}


def _metric(meta: MetaData) -> str:
    """The metric of the training tables (their most common one)."""
    metrics = pd.Series(meta.metric).reindex(meta.datasets).dropna()
    return str(metrics.mode().iloc[0]) if len(metrics) else "*"


def _dense(meta: MetaData, min_coverage: float) -> MetaData:
    """``meta`` without the tables on which fewer than ``min_coverage`` of the candidates were
    run (a team's few logged runs: their median and best say little). Unchanged when no
    table is that complete."""
    covered = meta.norm.notna().mean(axis=1)
    sparse = set(covered.index[covered < min_coverage])
    return meta if len(sparse) == len(covered) else meta.drop(sparse)
