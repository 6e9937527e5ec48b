"""A greedy portfolio built for the datasets that behave like the query, found by a surrogate.

A surrogate alone ranks near-copies of one good configuration on top: fine for the first
trial, wasteful for the next four, which should cover the cases where the first is wrong.
A greedy portfolio covers cases, but for the average training dataset, not for this one.

This recommender does both. The surrogate's predicted scores of all configurations form a
*performance profile* of the query, and each training dataset is weighted by how much its
real profile resembles it (``exp(tau × Spearman correlation)``): "datasets on which the same
configurations do well". The configurations are then chosen greedily to raise the weighted
mean, over those datasets, of the best score reached so far (scores relative to each
dataset's median configuration, 1 = best, floored at −1: the scale the LODO table measures).
The first is the one with the best mix of two estimates of its relative score on the query
(``first="blend"``): the weighted mean over those datasets and the surrogate's own prediction,
each half. They err differently (the weights are only as good as the predicted profile; the
surrogate's favourite is one model's guess), and in ``bench/lodo.py`` their mean makes the
better first trial (rows "first by the weighted portfolio" and "first by the surrogate" in
docs/benchmarks.md). ``first="portfolio"`` takes the weighted mean alone,
``first="surrogate"`` the surrogate's favourite.

For binary ROC AUC and RMSE the greedy step also covers the query itself: the surrogate's
predicted relative scores of the query join the training datasets as one more row, of weight
``prediction_weight`` (0.2; the datasets share the rest). The next trials then also lean to
configurations the surrogate expects to beat the first on this table, not only to those
that rescue similar datasets where the first fails. There the surrogate reads the family
probe gaps, from cheap models fitted on the table itself, and knows the query better than the
weights alone convey: with the row, binary best@5 and regression best@5 and best@10 are
higher in every bag of surrogate seeds (``bench/lodo_variants.py``). For log loss it changes
nothing beyond the seed-to-seed spread, so it is off there; it needs the family probe gaps
(without them it lowers regression best@3 and best@5).

For the same metrics the top k also *hedges over the probes*: where the small
models of several family groups (boosted trees, forests, linear, SVM, k-NN) score within
``probe_hedge`` (0.005) of the best one on the new table, the probes say which families are in
the running but not which one wins, so the next picks after the first cover the groups it does
not, up to ``hedges`` (2) of them, best probe first, each with its configuration that most
raises the weighted best-so-far; then the greedy step goes on. Over four bags of surrogate
seeds it gives higher binary and regression best@3 and best@10 (row "no probe hedge" in
docs/benchmarks.md); it is a trade rather than a free gain: the hedging picks push picks 4
and 5 of the greedy order out, and the binary best@5 gain comes mostly from tables where a
family wins by a probe margin of a few thousandths.

Last, for the same metrics, each pick's *configuration* is chosen again within its family by
the regime probes (:mod:`former_default.regime_choice`): the families
come in the order chosen above, and each pick becomes the configuration of its family that most
raises the best-so-far over the training datasets weighted by their profile weights times a
kernel on how close their regime contrasts for that family (smoothed against greedy trees,
slow or deep against plain boosting, strong against weak regularisation, narrow against wide
kernels) are to the new table's. The families of a top 5 are usually right (had each pick
been its family's best configuration, binary best@5 would be about 0.98); the configurations
within them are what the top k misses.

One guard: the configuration a team would try anyway, HistGradientBoosting's default, keeps
the first place unless another configuration is expected to beat it by ``margin`` (in that
relative scale: 0.3 = three tenths of the gap between the median and the best configuration).
Replacing a strong default on an estimate within its error is a bad trade: in
``bench/lodo.py`` the guard raises how often the top-1 is at least as good as that default.

And one veto: a configuration that *collapsed* (scored a whole median-to-best gap or more
below the median) on more than ``max_collapse_risk`` of the weighted training datasets is
not recommended first. The surrogate learns a target that is flat below the median, so it
cannot see that risk; with log loss, one overconfident first pick can score dozens of gaps
below the median. Later picks are unaffected: a best-of-k is hurt by a collapse only when
all k collapse.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from metakg.metalearner.knowledge import MetaData, relative_scores
from metakg.metalearner.recommenders._greedy import greedy_order
from metakg.metalearner.recommenders.base import BaseRecommender, Query
from metakg.metalearner.recommenders.nearest import NearestDatasetsRecommender
from metakg.metalearner.recommenders.probe_contrasts import FAMILY_PROBES, near_best_probes
from metakg.metalearner.recommenders.regime_contrasts import (
    REGIME_CONTRASTS,
    query_with_regime_contrasts,
    with_regime_contrasts,
)

from .regime_choice import (
    FAMILY_REGIMES,
    rechoose_within_families,
    regime_kernel,
)
from .surrogate import SurrogateRecommender

__all__ = ["SurrogatePortfolioRecommender"]

#: How the first configuration can be chosen (see the class's ``first``).
_FIRST = ("portfolio", "surrogate", "blend")

#: Default ``prediction_weight``: metric -> weight of the surrogate's own prediction in the
#: greedy step (0 for any other metric). Chosen by ``bench/lodo.py`` (docs/benchmarks.md).
PREDICTION_WEIGHT: Mapping[str, float] = MappingProxyType({"roc_auc": 0.2, "rmse": 0.2})

#: Default ``probe_hedge``: metric -> how close to the best probe a probe group must be for the
#: top k to cover it (no hedge for any other metric). Chosen by ``bench/lodo_variants.py``
#: from 0.001 / 0.003 / 0.005 / 0.01 / 0.03.
PROBE_HEDGE: Mapping[str, float] = MappingProxyType({"roc_auc": 0.005, "rmse": 0.005})

#: Default ``regime_choice``: metric -> the regime kernel's width (no regime choice for any
#: other metric). Chosen by ``bench/lodo_variants.py`` from 0.005 / 0.01 / 0.02 / 0.05 (a
#: narrow kernel leaves too few datasets to choose from).
REGIME_CHOICE: Mapping[str, float] = MappingProxyType({"roc_auc": 0.02, "rmse": 0.05})


class SurrogatePortfolioRecommender(BaseRecommender):
    """The most promising first configuration, then a greedy portfolio over training datasets
    weighted by the similarity of their performance profile to the surrogate's prediction.

    Args:
        size: configurations ordered greedily (the rest follow by the surrogate's score).
        tau: sharpness of the weights (0: every training dataset counts the same; 10, chosen
            by `bench/lodo.py`: best mean best@5/10/25 over the three groups, same best@1).
        surrogate: the surrogate to fit (``None``: :class:`SurrogateRecommender` defaults).
        incumbent: family whose default configuration keeps the first place unless another
            is predicted to beat it by ``margin``, or metric → family (``"*"``: any other
            metric); ``None``: no guard (also off when that configuration is not a candidate
            or the surrogate learns ranks).
        margin: expected advantage, on the relative scale, needed to replace the incumbent
            (0.3, chosen by ``bench/lodo.py`` from 0.2 / 0.3 over five surrogate seeds: 0.3
            keeps the top-1 at least as good as the HGB default more often, the rest within
            ±0.01; with ``first="surrogate"``, 0.2 does best of 0.1 / 0.2 / 0.3).
        first: how the first configuration is chosen: ``portfolio`` (the best weighted mean
            relative score over the similar training datasets), ``surrogate`` (the
            surrogate's favourite) or ``blend`` (the default: the best mix of the two
            estimates, the portfolio's weighted by ``blend``; a ``rank`` surrogate has no
            relative scale, so there it is ``portfolio``).
        blend: weight of the portfolio's estimate in ``first="blend"`` (the surrogate's gets
            ``1 - blend``); 0.5, chosen by ``bench/lodo.py`` from 0.25 / 0.5 / 0.75 (0.25 and
            0.75 give lower best@1 in all three groups).
        max_collapse_risk: weighted share of training datasets on which a configuration may
            have collapsed and still be recommended first (``None``: no veto). 0.02, chosen
            by ``bench/lodo.py`` over five surrogate seeds: without it multiclass log-loss
            best@1 falls to about a third of its value (log loss punishes one overconfident
            model without bound), other cells within their seed-to-seed spread.
        auxiliary: also weight and cover the views' auxiliary datasets (other datasets of
            the task type under another metric, :func:`~metalearner.knowledge.with_auxiliary`)
            in the greedy step; the surrogate learns from the primary datasets only.
        min_coverage: least share of the candidate configurations run on a training dataset
            for it to take part in the weights, the greedy step and the veto (a dataset with
            a team's five logged runs still teaches the surrogate).
        first_family_gaps: whether the first configuration, too, is chosen with a surrogate
            that reads the family probe gaps (where the surrogate reads them: binary ROC AUC
            and RMSE, see :class:`SurrogateRecommender`). ``False`` (the default): a second surrogate,
            the same without them, predicts for the first choice, and the gaps shape the
            weights of the rest. Chosen with the ``bench/lodo.py`` protocol: with the gaps the
            first pick is worse (lower best@1, and the top-1 at least as good as FLAML
            zero-shot under the goal of 75%), while the gaps make the rest of the top k
            better (row "first pick with the family probe gaps too" in docs/benchmarks.md).
        prediction_weight: weight of the surrogate's own predicted relative scores of the
            query, one more row in the greedy step (the training datasets share the rest;
            0: the datasets alone; ignored for a ``rank`` surrogate), or metric -> weight
            (``"*"``: any other metric; a metric not named gets 0); ``None``:
            :data:`PREDICTION_WEIGHT`, 0.2 for ROC AUC and RMSE, chosen with the
            ``bench/lodo.py`` protocol from 0.1 / 0.2 / 0.3 / 0.4 over four bags of surrogate
            seeds: binary best@5 higher in every bag, best@10 and best@25 the same; for RMSE
            (with its family probe gaps) best@5 and best@10 higher, best@3 about 0.016 lower.
            For log loss it moves every k by 0.004 or less.
        probe_hedge: after the first pick, the next ones cover each probe group
            (:data:`~metalearner.recommenders.probe_contrasts.HEDGE_PROBES`) whose probe on the
            query is within this much of its best probe and whose families the picks so far
            do not include, best probe first, each with the group's configuration that most
            raises the greedy step's weighted best-so-far; or metric -> that distance (a metric
            not named: no hedge); ``None``: :data:`PROBE_HEDGE`, 0.005 for ROC AUC and RMSE
            (R²). A log-loss query is never hedged. Chosen with the ``bench/lodo.py`` protocol
            over four bags of surrogate seeds: binary best@3 and best@5 higher or equal in
            every bag, regression best@3 to best@10 a little higher (see the module's
            docstring for what it costs). 0.01, 0.003 and 0.001 do about as well, 0.03 no
            better.
        hedges: at most this many hedging picks (2, from 1 / 2 / 4: one hedge gives a lower
            binary best@3, four do no better than two).
        regime_choice: the width of the regime kernel with which each pick, in the order
            chosen above, is re-chosen among its family's configurations
            (:func:`~former_default.regime_choice.rechoose_within_families`: the
            training datasets' profile weights times ``exp(-mean |regime contrast
            difference| / width)`` over the family's regime contrasts); or metric -> width (a
            metric not named, or a graph or table without regime probes: the picks stay as
            chosen); ``None``: :data:`REGIME_CHOICE`. See the module's docstring.

    Raises:
        ValueError: (from :meth:`fit`) an unknown ``first``, ``blend`` outside [0, 1], a
            ``prediction_weight`` outside [0, 1), a negative ``probe_hedge`` or ``hedges``, a
            ``regime_choice`` not above 0.
    """

    def __init__(self, *, size: int = 25, tau: float = 10.0,
                 surrogate: SurrogateRecommender | None = None,
                 incumbent: str | Mapping[str, str] | None = "hist_gradient_boosting",
                 margin: float = 0.3,
                 max_collapse_risk: float | None = 0.02, auxiliary: bool = True,
                 first: str = "blend", blend: float = 0.5, min_coverage: float = 0.5,
                 first_family_gaps: bool = False,
                 prediction_weight: float | Mapping[str, float] | None = None,
                 probe_hedge: float | Mapping[str, float] | None = None,
                 hedges: int = 2,
                 regime_choice: float | Mapping[str, float] | None = None) -> None:
        self.size = size
        self.tau = tau
        self.surrogate = surrogate
        self.incumbent = incumbent
        self.margin = margin
        self.max_collapse_risk = max_collapse_risk
        self.auxiliary = auxiliary
        self.first = first
        self.blend = blend
        self.min_coverage = min_coverage
        self.first_family_gaps = first_family_gaps
        self.prediction_weight = prediction_weight
        self.probe_hedge = probe_hedge
        self.hedges = hedges
        self.regime_choice = regime_choice

    def _fit(self, meta: MetaData) -> None:
        if self.first not in _FIRST:
            raise ValueError(f"Unknown first={self.first!r}; use one of {', '.join(map(repr, _FIRST))}.")
        if not 0.0 <= self.blend <= 1.0:
            raise ValueError(f"blend must be between 0 and 1, got {self.blend!r}.")
        setting = PREDICTION_WEIGHT if self.prediction_weight is None else self.prediction_weight
        weights = setting.values() if isinstance(setting, Mapping) else [setting]
        if not all(isinstance(w, (int, float)) and 0.0 <= w < 1.0 for w in weights):
            raise ValueError("prediction_weight must be at least 0 and below 1 (the training "
                             f"datasets share the rest), got {self.prediction_weight!r}.")
        hedge = PROBE_HEDGE if self.probe_hedge is None else self.probe_hedge
        distances = hedge.values() if isinstance(hedge, Mapping) else [hedge]
        if not all(isinstance(d, (int, float)) and d >= 0.0 for d in distances):
            raise ValueError(f"probe_hedge must be at least 0, got {self.probe_hedge!r}.")
        if not isinstance(self.hedges, int) or self.hedges < 0:
            raise ValueError(f"hedges must be a whole number of at least 0, got {self.hedges!r}.")
        regime = REGIME_CHOICE if self.regime_choice is None else self.regime_choice
        widths = regime.values() if isinstance(regime, Mapping) else [regime]
        if not all(isinstance(w, (int, float)) and w > 0.0 for w in widths):
            raise ValueError(f"regime_choice must be above 0, got {self.regime_choice!r}.")
        base = self.surrogate if self.surrogate is not None else SurrogateRecommender()
        self.surrogate_ = type(base)(**base.get_params()).fit(meta)
        self.first_surrogate_ = self.surrogate_
        if getattr(self.surrogate_, "family_probes_", False) and not self.first_family_gaps:
            self.first_surrogate_ = type(base)(**{**base.get_params(),
                                                  "family_probe_metrics": ()}).fit(meta)
        sources = [self._dense(meta)] + ([self._dense(meta.auxiliary)] if self.auxiliary
                                         and meta.auxiliary is not None else [])
        # a configuration not run on a dataset is unknown there (its median), not a collapse
        self.relative_ = pd.concat([relative_scores(m, floor=-1.0) for m in sources]).reindex(
            columns=self.config_ids_).fillna(0.0).to_numpy()
        profiles = pd.concat([m.norm for m in sources]).reindex(columns=self.config_ids_)
        self.profile_ranks_ = _centred_ranks(profiles.fillna(0.0).to_numpy())
        self.profile_norms_ = np.linalg.norm(self.profile_ranks_, axis=1)
        self.dataset_ids_ = list(profiles.index)
        self.n_primary_ = len(sources[0].norm)  # rows after these are auxiliary datasets
        # where each configuration collapsed, under the query's own metric only (the primary
        # rows): an overconfident model's log loss on a multiclass table says nothing of its
        # ROC AUC on a binary one
        self.collapsed_ = (self.relative_[:self.n_primary_] <= -1.0).astype(float)
        # meta-feature neighbours: the evidence shown with a recommendation
        self.nearest_ = NearestDatasetsRecommender().fit(meta)
        self.incumbent_index_ = self._incumbent_index()
        self.prediction_weight_ = float(self._for_metric(setting, 0.0))
        distance = self._for_metric(hedge, None)
        self.probe_hedge_ = None if distance is None else float(distance)
        # the hedge probe that stands for each candidate's family (None: an MLP, or no probe)
        single = {f: p[0] for f, p in FAMILY_PROBES.items() if len(p) == 1}  # as HEDGE_PROBES
        self.config_families_ = [meta.configs.get(c, {}).get("family", "") for c in self.config_ids_]
        self.config_probes_ = [single.get(f) for f in self.config_families_]
        width = self._for_metric(regime, None)
        tables = pd.concat([m.metafeatures for m in sources])
        tables = with_regime_contrasts(tables[~tables.index.duplicated()])
        contrasts = tables.reindex(index=self.dataset_ids_, columns=list(REGIME_CONTRASTS))
        # a graph whose tables have no regime probes (meta-features before version 3) has no
        # regimes to match; one before version 4 lacks the forests' only
        self.regime_choice_ = (None if width is None or contrasts.isna().to_numpy().all()
                               else float(width))
        self.regime_table_ = contrasts.to_numpy(dtype=float)

    def _dense(self, meta: MetaData) -> MetaData:
        """``meta`` without the datasets on which fewer than ``min_coverage`` of the candidate
        configurations were run (a team's few logged runs): their median and best say little,
        and what was not run is unknown. Unchanged when no dataset is that complete."""
        covered = meta.norm.reindex(columns=self.config_ids_).notna().mean(axis=1)
        sparse = set(covered.index[covered < self.min_coverage])
        return meta if len(sparse) == len(covered) else meta.drop(sparse)

    def _incumbent_index(self) -> int | None:
        family = self.incumbent_family()
        if family is None or (self.first == "surrogate"
                              and getattr(self.surrogate_, "target", None) != "top"):
            return None
        from metakg.kg.graph import make_configuration
        from metakg.kg.spaces import default_configuration

        config_id = make_configuration(default_configuration(family)).id
        return self.config_ids_.index(config_id) if config_id in self.config_ids_ else None

    def incumbent_family(self) -> str | None:
        """The family whose default guards the first place for the fitted metric (the
        training datasets' most common one): ``incumbent`` itself, or its entry for that
        metric (``"*"``: any other)."""
        if self.incumbent is None or isinstance(self.incumbent, str):
            return self.incumbent
        return self._for_metric(self.incumbent, None)

    def _for_metric(self, setting: object, default: object) -> object:
        """``setting`` itself, or (a mapping) its entry for the fitted metric (the training
        datasets' most common one; ``"*"``: any other; ``default`` when neither is there)."""
        if not isinstance(setting, Mapping):
            return setting
        metrics = pd.Series(self.meta_.metric).reindex(self.meta_.datasets).dropna()
        metric = metrics.mode().iloc[0] if len(metrics) else "*"
        return setting.get(metric, setting.get("*", default))

    def first_choice(self, predicted: np.ndarray, weights: np.ndarray | None = None,
                     columns: np.ndarray | None = None) -> int:
        """Index of the first configuration: the best weighted mean relative score (the
        surrogate's favourite, ``first="surrogate"``, or the best mix of both, ``first="blend"``),
        among those the collapse veto allows, unless the incumbent is expected to be within
        ``margin`` of it.

        Args:
            predicted: the surrogate's scores of every candidate configuration.
            weights: per training dataset (as :meth:`weights_for` returns); ``None``: the
                surrogate's favourite, without the collapse veto.
            columns: positions (in ``config_ids_``) allowed to come first (``None``: all);
                the incumbent guards the first place only when it is one of them.
        """
        top = getattr(self.surrogate_, "target", None) == "top"
        if self.first == "blend" and weights is not None and top:
            value = (self.blend * (weights @ self.relative_)
                     + (1.0 - self.blend) * self.surrogate_.relative(predicted))
        elif self.first in ("portfolio", "blend") and weights is not None:
            value = weights @ self.relative_
        elif top:
            value = self.surrogate_.relative(predicted)
        else:  # percentile ranks: no relative scale (and no guard, see _incumbent_index)
            value = np.asarray(predicted, dtype=float)
        if columns is not None:
            allowed_only = np.full(len(value), np.nan)
            allowed_only[columns] = value[columns]
            value = allowed_only
        n = self.n_primary_
        if weights is not None and self.max_collapse_risk is not None and weights[:n].sum() > 0:
            risk = weights[:n] @ self.collapsed_ / weights[:n].sum()
            allowed = np.where(risk <= self.max_collapse_risk, value, np.nan)
            if not np.isnan(allowed).all():
                value = allowed
        best = int(np.nanargmax(value))
        h = self.incumbent_index_
        if h is None or h == best or np.isnan(value[h]):
            return best
        return h if value[best] - value[h] < self.margin else best

    def profile_weights(self, query: Query) -> pd.Series:
        """Training dataset → weight (sums to 1): how much its performance profile resembles
        the surrogate's prediction for the query."""
        return pd.Series(self.weights_for(self._predicted(self.surrogate_, query)),
                         index=self.dataset_ids_)

    def weights_for(self, profile: np.ndarray) -> np.ndarray:
        """Weights (summing to 1) of the training datasets for a performance profile of the
        candidate configurations (higher = better; NaN = worst): ``exp(tau × Spearman)``.

        Args:
            profile: one value per candidate configuration, in ``config_ids_`` order.
        """
        q = _centred_ranks(np.nan_to_num(profile, nan=np.nanmin(profile))[None, :])[0]
        denom = self.profile_norms_ * np.linalg.norm(q)
        corr = np.divide(self.profile_ranks_ @ q, denom, out=np.zeros(len(denom)),
                         where=denom > 0)
        w = np.exp(self.tau * (corr - corr.max()))
        return w / w.sum()

    def neighbours(self, query: Query) -> pd.Series:
        return self.nearest_.neighbours(query)

    def score(self, query: Query) -> pd.Series:
        return self._portfolio(query, None)

    def score_among(self, query: Query, candidates: pd.Index) -> pd.Series:
        """The first configuration and the greedy portfolio chosen among ``candidates`` only
        (the weights still come from the predicted profile of every configuration).

        Choosing among one family's configurations this way instead of keeping them in the
        order of the portfolio over all families (where a configuration's place says what it
        adds to the other families' choices) gives a better best of a family's top 1 / 3 / 5
        in `bench/lodo_families.py` (docs/benchmarks.md).
        """
        if len(candidates) == len(self.config_index_):
            return self.score(query).reindex(candidates)
        position = {c: i for i, c in enumerate(self.config_ids_)}
        columns = np.array([position[c] for c in candidates if c in position], dtype=np.intp)
        if columns.size == 0:
            return pd.Series(np.nan, index=candidates)
        return self._portfolio(query, columns).reindex(candidates)

    def _portfolio(self, query: Query, columns: np.ndarray | None) -> pd.Series:
        """First choice, then greedy order, among ``columns`` (positions in ``config_ids_``;
        ``None``: all, without copying the score matrix)."""
        predicted = self._predicted(self.surrogate_, query)
        weights = self.weights_for(predicted)
        profile_weights = weights
        if self.first_surrogate_ is self.surrogate_:
            first = self.first_choice(predicted, weights, columns)
        else:
            for_first = self._predicted(self.first_surrogate_, query)
            first = self.first_choice(for_first, self.weights_for(for_first), columns)
        scores, weights = self._greedy_rows(predicted, weights)
        allowed = np.arange(len(self.config_ids_)) if columns is None else columns
        start = [first, *self.hedge_picks(query, scores, weights, first, allowed)][:max(1, self.size)]
        if columns is None:
            chosen = greedy_order(scores, self.size, weights=weights, first=start)
            chosen = self.regime_picks(query, chosen, profile_weights, None)
            return self._ranked(chosen, predicted, allowed)
        position = {int(c): j for j, c in enumerate(columns)}
        chosen = greedy_order(scores[:, columns], self.size, weights=weights,
                              first=[position[c] for c in start])
        chosen = self.regime_picks(query, [int(columns[j]) for j in chosen], profile_weights, columns)
        return self._ranked(chosen, predicted, columns)

    def regime_picks(self, query: Query, chosen: list[int], weights: np.ndarray,
                     allowed: np.ndarray | None) -> list[int]:
        """``chosen`` with each pick re-chosen within its family by the regime probes
        (:func:`~former_default.regime_choice.rechoose_within_families`), where
        ``regime_choice`` applies to the fitted metric; else ``chosen`` itself.

        Args:
            query: the new task (its regime probes are read from its meta-features).
            chosen: positions (in ``config_ids_``), best first.
            weights: the profile weights of the training datasets.
            allowed: positions the picks may come from (``None``: all).
        """
        if self.regime_choice_ is None:
            return chosen
        values = query_with_regime_contrasts(query.metafeatures)
        mine = np.array([np.nan if (v := values.get(c)) is None else v for c in REGIME_CONTRASTS],
                        dtype=float)
        column = {c: i for i, c in enumerate(REGIME_CONTRASTS)}
        kernels = {}
        for family, contrasts in FAMILY_REGIMES.items():
            at = [column[c] for c in contrasts]
            kernels[family] = regime_kernel(self.regime_table_[:, at], mine[at], self.regime_choice_)
        # the guard's choice stays: re-choosing within its family would undo what it is for
        guarded = {self.incumbent_index_} if chosen and chosen[0] == self.incumbent_index_ else set()
        return rechoose_within_families(chosen, self.config_families_, self.relative_, weights,
                                        kernels, allowed, keep=guarded)

    def hedge_picks(self, query: Query, scores: np.ndarray, weights: np.ndarray, first: int,
                    allowed: np.ndarray) -> list[int]:
        """The picks that follow the first to cover the probe groups close to the best probe
        (``probe_hedge``), at most ``hedges`` of them, best probe first.

        Args:
            query: the new task (its probes are read from its meta-features).
            scores: the greedy step's rows (datasets and the prediction row) × configurations.
            weights: one per row of ``scores``.
            first: position (in ``config_ids_``) of the first pick.
            allowed: positions the picks may come from.

        Returns:
            Positions in ``config_ids_``; empty without probes or without a hedge for the metric.
        """
        if self.probe_hedge_ is None or self.hedges == 0:
            return []
        near = near_best_probes(query.metafeatures, self.probe_hedge_)
        picks: list[int] = []
        best = scores[:, first].copy()
        covered = {self.config_probes_[first]}
        for probe in near:
            if len(picks) == self.hedges:
                break
            if probe in covered:
                continue
            group = np.array([j for j in allowed if self.config_probes_[j] == probe], dtype=np.intp)
            if group.size == 0:
                continue
            gain = weights @ np.maximum(scores[:, group], best[:, None])
            j = int(group[int(np.argmax(gain))])
            picks.append(j)
            covered.add(probe)
            best = np.maximum(best, scores[:, j])
        return picks

    def _greedy_rows(self, predicted: np.ndarray,
                     weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows the greedy step covers and their weights: the training datasets' relative
        scores, and, with ``prediction_weight``, the surrogate's predicted relative scores of
        the query as one more row of that weight (the datasets share the rest). Without a
        relative scale (a ``rank`` surrogate) the datasets alone."""
        weight = self.prediction_weight_
        if not weight or getattr(self.surrogate_, "target", None) != "top":
            return self.relative_, weights
        own = np.clip(np.nan_to_num(self.surrogate_.relative(predicted), nan=-1.0), -1.0, 1.0)
        return np.vstack([self.relative_, own]), np.append((1.0 - weight) * weights, weight)

    def _predicted(self, surrogate: SurrogateRecommender, query: Query) -> np.ndarray:
        """A fitted surrogate's scores of the candidates, in ``config_ids_`` order."""
        return surrogate.score(query).reindex(self.config_index_).to_numpy(dtype=float)

    def _ranked(self, chosen: list[int], predicted: np.ndarray, columns: np.ndarray) -> pd.Series:
        """Scores that rank ``chosen`` first, in order, then the rest of ``columns`` by the
        surrogate's prediction; NaN outside ``columns``."""
        taken = set(chosen)
        by_prediction = columns[np.argsort(-np.nan_to_num(predicted[columns], nan=-np.inf),
                                           kind="stable")]
        order = chosen + [int(j) for j in by_prediction if j not in taken]
        n = len(order)
        values = np.full(len(self.config_ids_), np.nan)
        values[order] = (n - np.arange(n)) / n
        return pd.Series(values, index=self.config_index_)


def _centred_ranks(values: np.ndarray) -> np.ndarray:
    """Row-wise ranks minus their mean: the dot product of two rows, over their norms, is
    Spearman's correlation."""
    ranks = pd.DataFrame(values).rank(axis=1).to_numpy()
    return ranks - ranks.mean(axis=1, keepdims=True)
