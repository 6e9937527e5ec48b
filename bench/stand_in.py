"""The recommender that the active-learning and weak-supervision benches refit many times on
partial or mixed-quality training views (``--recommender``).

- ``default``: the default :class:`~metakg.metalearner.recommender.MetaRecommender` with its
  metric's policy, ranking as it ships (the portfolio step). Two changes keep it to the
  benches: the policy's ``min_coverage`` is 0, because a partly run graph has no complete
  table (and a strategy that completes a few would otherwise drop the rest from training);
  and no expected-score model is fitted (the figures read the ranking only).
- ``shrunk-ranker``: the default as it was before decision 0012 was adopted: its ranker learns
  weak cells' scores shrunk towards each configuration's mean elsewhere, unweighted.
- ``weighted-ranker``: the default with each weak cell's row weighted by its reliability ``w``
  itself instead of the empirical-Bayes factor (decision 0012's first candidate).
- ``shrunk-weighted``: the default's row weights with the shrunk scores as the ranker's
  targets (both halves of the estimate: less noise in a weak cell's target, less weight).
- ``full-portfolio``: the default whose portfolio step reads the full runs' cells only (weak
  cells as not run), while its ranker learns every cell as the default's does: whether weak
  runs' noise in the first pick is what costs best@1 (decision 0012, "Left").
- ``full-ranker``: the converse: the default whose ranker learns the full runs' cells only
  (weak cells are not training rows), while its portfolio step reads every cell, weak ones
  shrunk as the default's are: whether the ranker's prediction, fitted on weak cells, is
  what costs best@1 (decision 0012, "Left").
- ``former``: the lighter stand-in these benches used before the default changed: the former
  default's bagged surrogate (``bench/former_default/``, five members) with 100 trees per
  member instead of 300, ranking by its score.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from former_default import SurrogateRecommender

from metakg.metalearner.knowledge import MetaData, learning_targets, relative_scores, weak_cells
from metakg.metalearner.policy import Policy
from metakg.metalearner.recommender import MetaRecommender

#: trees per member of the former stand-in
N_ESTIMATORS = 100

RECOMMENDERS = {
    "default": "the default MetaRecommender (its metric's policy with min_coverage 0, no "
               "expected-score model), ranking as it ships",
    "shrunk-ranker": "as 'default', but its ranker learns weak cells' shrunk scores, unweighted "
                     "(the default before decision 0012)",
    "weighted-ranker": "as 'default', each weak cell's row weighted by its reliability w instead "
                       "of the empirical-Bayes factor w(1+κ)/(w+κ) (decision 0012)",
    "shrunk-weighted": "as 'default', its ranker learning the shrunk scores with the default's row weights",
    "full-portfolio": "as 'default', its portfolio step reading the full runs' cells only",
    "full-ranker": "as 'default', its ranker learning the full runs' cells only",
    "former": f"the former default's bagged surrogate (5 members, {N_ESTIMATORS} trees each "
              "instead of 300), ranking by its score",
}


class PartialGraphRecommender(MetaRecommender):
    """The default recommender as these benches refit it: no table left out for being
    sparse, no expected-score model."""

    def _policy_for(self, metric: str) -> Policy:
        policy = super()._policy_for(metric)
        return replace(policy, portfolio=replace(policy.portfolio, min_coverage=0.0))

    def _fit_score_model(self, meta: MetaData) -> None:
        return None


class ShrunkTargetRanker(PartialGraphRecommender):
    """The same, its ranker learning the shrunk scores unweighted (before decision 0012)."""

    def _learning_targets(self, meta: MetaData) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        return relative_scores(meta, floor=-1.0), None


class ReliabilityWeightedRanker(PartialGraphRecommender):
    """The same, a weak cell's row weighted by its reliability ``w`` itself."""

    def _learning_targets(self, meta: MetaData) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        own, weights = learning_targets(meta, floor=-1.0)
        weak = weak_cells(meta)
        if weak is None:
            return own, weights
        return own, weak.reindex(index=own.index, columns=own.columns).fillna(1.0)


class ShrunkWeightedRanker(PartialGraphRecommender):
    """The same, its ranker learning the shrunk scores with the default's row weights."""

    def _learning_targets(self, meta: MetaData) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        _, weights = learning_targets(meta, floor=-1.0)
        return relative_scores(meta, floor=-1.0), weights


class FullRunPortfolio(PartialGraphRecommender):
    """The same, its portfolio step (and evidence) reading the full runs' cells only; the
    ranker learns from every cell."""

    def _fit(self, meta: MetaData) -> None:
        weak = weak_cells(meta)
        self._all_cells = meta
        if weak is None:
            super()._fit(meta)
            return
        full = weak.reindex(index=meta.raw.index, columns=meta.raw.columns).fillna(1.0) >= 1.0
        super()._fit(replace(meta, raw=meta.raw.where(full), norm=meta.norm.where(full),
                             reliability=None))

    def _learning_targets(self, meta: MetaData) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        own, weights = learning_targets(self._all_cells, floor=-1.0)
        return own.reindex(index=meta.raw.index), (
            None if weights is None else weights.reindex(index=meta.raw.index))


class FullRunRanker(PartialGraphRecommender):
    """The same, its ranker learning the full runs' cells only; the portfolio step reads
    every cell, weak ones shrunk."""

    def _learning_targets(self, meta: MetaData) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        own, weights = learning_targets(meta, floor=-1.0)
        weak = weak_cells(meta)
        if weak is None:
            return own, weights
        full = weak.reindex(index=own.index, columns=own.columns).fillna(1.0) >= 1.0
        # weights stay a frame (not None), so the portfolio reads the shrunk scores
        return own.where(full), full.astype(float).where(full)


def fit_stand_in(meta: MetaData, seed: int, recommender: str = "default"
                 ) -> MetaRecommender | SurrogateRecommender:
    """A bench's recommender fitted on its training views.

    Args:
        meta: the training views (partly run, or with weak cells).
        seed: the recommender's random state.
        recommender: a key of :data:`RECOMMENDERS`.

    Returns:
        The fitted recommender.

    Raises:
        ValueError: an unknown ``recommender``.
    """
    if recommender not in RECOMMENDERS:
        raise ValueError(f"recommender must be one of {', '.join(RECOMMENDERS)}, not {recommender!r}")
    if recommender == "former":
        return SurrogateRecommender(n_estimators=N_ESTIMATORS, random_state=seed).fit(meta)
    if recommender == "shrunk-ranker":
        return ShrunkTargetRanker(random_state=seed).fit(meta)
    if recommender == "weighted-ranker":
        return ReliabilityWeightedRanker(random_state=seed).fit(meta)
    if recommender == "shrunk-weighted":
        return ShrunkWeightedRanker(random_state=seed).fit(meta)
    if recommender == "full-portfolio":
        return FullRunPortfolio(random_state=seed).fit(meta)
    if recommender == "full-ranker":
        return FullRunRanker(random_state=seed).fit(meta)
    return PartialGraphRecommender(random_state=seed).fit(meta)
