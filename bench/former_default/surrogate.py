"""A learned surrogate: (meta-features, configuration) → normalised score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metakg.metalearner.candidate_forest import CandidateForest
from metakg.metalearner.config_features import config_features
from metakg.metalearner.knowledge import MetaData, relative_scores
from metakg.metalearner.metafeatures.probing import PROBES
from metakg.metalearner.metafeatures.regime_probing import REGIME_PROBES
from metakg.metalearner.recommenders.base import BaseRecommender, Query
from metakg.metalearner.recommenders.landmark_contrasts import (
    query_with_landmark_contrasts,
    with_landmark_contrasts,
)
from metakg.metalearner.recommenders.nearest import DEFAULT_FEATURES
from metakg.metalearner.recommenders.probe_contrasts import (
    family_gap_columns,
    family_probe_gaps,
    query_probe_features,
    table_probe_features,
)
from metakg.metalearner.recommenders.regime_contrasts import (
    REGIME_FEATURES,
    query_with_regime_contrasts,
    with_regime_contrasts,
)

__all__ = ["SurrogateRecommender", "surrogate_target"]


def surrogate_target(meta: MetaData, target: str, temperature: float) -> pd.DataFrame:
    """What the surrogate learns, per dataset and configuration.

    ``rank``: the percentile rank (``meta.norm``). ``top``: ``exp(temperature × (r − 1))``
    of the score ``r`` relative to the median (1 = best, 0 = median, floored at −1; see
    :func:`~metalearner.knowledge.relative_scores`), which spends the model's capacity on
    telling the best configurations apart rather than ordering the bad ones.
    """
    if target == "rank":
        return meta.norm
    if target == "top":
        return np.exp(temperature * (relative_scores(meta, floor=-1.0) - 1.0))
    raise ValueError(f"Unknown surrogate target {target!r}; use 'top' or 'rank'.")


class SurrogateRecommender(BaseRecommender):
    """Gradient-boosted regression of a per-dataset score on meta-features and
    configuration features; ranks every configuration for a new task.

    Args:
        n_estimators, learning_rate, num_leaves: LightGBM settings.
        features: meta-features used (``None``: the nearest-neighbour defaults).
        target: ``top`` (default; emphasises the best configurations) or ``rank``
            (percentile ranks), see :func:`surrogate_target`. Chosen by ``bench/lodo.py``.
        temperature: how sharply ``top`` emphasises the best. 2, chosen by ``bench/lodo.py``
            from 2 / 3 over three surrogate seeds: best@5 higher in every group, the top-1
            rates against FLAML zero-shot and the HGB default the same or better.
        random_state: seed (bag ``b`` uses ``random_state + b``).
        n_bags: boosted models fitted with different seeds (row and feature subsamples),
            whose predictions are averaged. One model's choices move with its seed (over
            30-41 held-out datasets a group's best@5 moved by up to 0.03 from seed to seed);
            5, with ``first="blend"`` in :class:`SurrogatePortfolioRecommender`, chosen by
            ``bench/lodo.py`` (row "one surrogate model" in docs/benchmarks.md).
        contrast_metrics: metrics whose surrogate also learns from the landmark contrasts
            (:mod:`~metalearner.recommenders.landmark_contrasts`): log loss, where they help
            in ``bench/lodo.py``; ``()``: never.
        probe_metrics: metrics whose surrogate also learns from the probes (small members
            of the families, cross-validated on the table:
            :mod:`~metalearner.metafeatures.probing`, with the features of
            :mod:`~metalearner.recommenders.probe_contrasts`); ``()``: never. ROC AUC, where
            they help in ``bench/lodo.py`` (row "no probes" in docs/benchmarks.md).
        family_probe_metrics: metrics whose surrogate also learns from each configuration's
            *family probe gap* (:func:`~metalearner.recommenders.probe_contrasts.family_probe_gaps`:
            its family's probe minus the best probe on the table); ``()``: never. Off, too,
            when no training table was probed. ROC AUC and RMSE (the latter with the
            prediction row of :class:`~metalearner.recommenders.SurrogatePortfolioRecommender`),
            where they help in ``bench/lodo.py`` (row "no family probe gaps" in
            docs/benchmarks.md).
        regime_metrics: metrics whose surrogate also learns from the regime probes (small
            models at opposite ends of a family's space:
            :mod:`~metalearner.metafeatures.regime_probing`) and their contrasts
            (:mod:`~metalearner.recommenders.regime_contrasts`), after its other
            meta-features; ``()``: never. Off, too, when no training table has them. Log
            loss, where best@1, best@5 and best@25 are higher in two bags of seeds; for ROC
            AUC and RMSE they move best@5 within noise.
        split_family_gaps: besides the shared family probe gap, one column per probe group
            (:func:`~metalearner.recommenders.probe_contrasts.family_gap_columns`) holding the
            gap of that group's configurations only. Chosen by ``bench/lodo.py`` (row "one
            family probe gap column" in docs/benchmarks.md).

    Fitted attributes include ``models_`` (the bag of ``LGBMRegressor``) and ``forest_``, the
    bag compiled by :class:`~metalearner.candidate_forest.CandidateForest`,
    which scores the portfolio for a query with the same predictions about 3x faster
    (``None`` when the trees have more than 64 leaves: the boosters then predict).
    """

    def __init__(self, *, n_estimators: int = 300, learning_rate: float = 0.05,
                 num_leaves: int = 31, features: tuple[str, ...] | None = None,
                 target: str = "top", temperature: float = 2.0, random_state: int = 0,
                 n_bags: int = 5, contrast_metrics: tuple[str, ...] = ("log_loss",),
                 probe_metrics: tuple[str, ...] = ("roc_auc",),
                 family_probe_metrics: tuple[str, ...] = ("roc_auc", "rmse"),
                 regime_metrics: tuple[str, ...] = ("log_loss",),
                 split_family_gaps: bool = True) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.features = features
        self.target = target
        self.temperature = temperature
        self.random_state = random_state
        self.n_bags = n_bags
        self.contrast_metrics = contrast_metrics
        self.probe_metrics = probe_metrics
        self.family_probe_metrics = family_probe_metrics
        self.regime_metrics = regime_metrics
        self.split_family_gaps = split_family_gaps

    def _fit(self, meta: MetaData) -> None:
        import lightgbm as lgb

        if not isinstance(self.n_bags, int) or self.n_bags < 1:
            raise ValueError(f"n_bags must be a positive integer, got {self.n_bags!r}.")
        metric = next(iter(meta.metric.values()), None)
        tables = meta.metafeatures.reindex(index=meta.datasets)
        # a graph whose tables have no regime probes (meta-features before version 3) has none to learn
        self.regimes_ = (metric in self.regime_metrics and bool(
            tables.reindex(columns=list(REGIME_PROBES)).notna().to_numpy().any()))
        if self.regimes_:
            tables = with_regime_contrasts(tables)
        chosen = [*(self.features or DEFAULT_FEATURES), *(REGIME_FEATURES if self.regimes_ else ())]
        feats = [f for f in dict.fromkeys(chosen) if f in tables.columns]
        self.features_ = feats
        self.contrasts_ = metric in self.contrast_metrics
        self.probes_ = metric in self.probe_metrics
        # a graph whose tables were never probed (meta-features of version 1) has no gaps to learn
        self.family_probes_ = (metric in self.family_probe_metrics and bool(
            meta.metafeatures.reindex(columns=list(PROBES)).notna().to_numpy().any()))
        C = pd.DataFrame([config_features(meta.configs[c]) for c in self.config_ids_],
                         index=self.config_ids_)
        self.config_matrix_ = C
        self.config_families_ = [meta.configs[c].get("family", "") for c in self.config_ids_]
        M = with_landmark_contrasts(tables, feats, contrasts=self.contrasts_)
        if self.probes_:
            M = pd.concat([M, table_probe_features(tables)], axis=1)
        long = surrogate_target(meta, self.target, self.temperature).stack().dropna()
        long = long.rename("y").reset_index()
        long.columns = ["dataset", "config", "y"]
        X = np.hstack([M.loc[long["dataset"]].to_numpy(), C.loc[long["config"]].to_numpy()])
        if self.family_probes_:
            probes = tables.reindex(columns=list(PROBES))
            gaps = family_probe_gaps(probes.to_numpy(dtype=float), self.config_families_)
            rows = probes.index.get_indexer(long["dataset"])
            cols = pd.Index(self.config_ids_).get_indexer(long["config"])
            X = np.column_stack([X, self._gap_columns(gaps[rows, cols], cols)])
        y = long["y"].to_numpy()
        self.models_ = [lgb.LGBMRegressor(n_estimators=self.n_estimators,
                                          learning_rate=self.learning_rate,
                                          num_leaves=self.num_leaves, min_child_samples=10,
                                          subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                                          random_state=self.random_state + b, n_jobs=1,
                                          verbose=-1).fit(X, y)
                        for b in range(self.n_bags)]
        self.model_ = self.models_[0]
        try:  # the same predictions, about 3x faster for a whole portfolio
            self.forest_: CandidateForest | None = CandidateForest.compile(
                [model.booster_ for model in self.models_], n_query=M.shape[1],
                candidates=C.to_numpy(dtype=float))
        except ValueError:  # trees of more than 64 leaves: the boosters predict themselves
            self.forest_ = None

    def score(self, query: Query) -> pd.Series:
        values = (query_with_regime_contrasts(query.metafeatures) if self.regimes_
                  else query.metafeatures)
        m = query_with_landmark_contrasts(values, self.features_, contrasts=self.contrasts_)
        if self.probes_:
            m = np.concatenate([m, query_probe_features(query.metafeatures)])
        mixed = None
        if self.family_probes_:
            probes = np.array([[np.nan if (v := query.metafeatures.get(p)) is None else v
                                for p in PROBES]], dtype=float)
            gaps = family_probe_gaps(probes, self.config_families_)[0]
            mixed = self._gap_columns(gaps, np.arange(len(gaps)))
        if self.forest_ is not None:
            predicted = self.forest_.predict(m, mixed)
        else:
            X = np.hstack([np.tile(m, (len(self.config_ids_), 1)), self.config_matrix_.to_numpy()])
            if mixed is not None:
                X = np.column_stack([X, mixed])
            # the boosters themselves: the same predictions as model.predict, without its
            # input checks, which took most of the time of a prediction for 120 configurations
            predicted = sum(model.booster_.predict(X) for model in self.models_) / len(self.models_)
        return pd.Series(predicted, index=self.config_index_)

    def _gap_columns(self, gaps: np.ndarray, configs: np.ndarray) -> np.ndarray:
        """The family probe gap input columns of rows whose configurations sit at ``configs``
        (positions in ``config_ids_``): the gap alone, or split by probe group too."""
        if not self.split_family_gaps:
            return gaps[:, None]
        return family_gap_columns(gaps, [self.config_families_[c] for c in configs])

    def relative(self, predicted: pd.Series | np.ndarray) -> np.ndarray:
        """Predictions of the ``top`` target mapped back to the relative scale (1 = the
        dataset's best configuration, 0 = its median; see :func:`surrogate_target`).

        Raises:
            ValueError: the surrogate learns ``rank``, which has no relative scale.
        """
        if self.target != "top":
            raise ValueError("Only the 'top' target maps back to relative scores.")
        p = np.clip(np.asarray(predicted, dtype=float), 1e-12, None)
        return 1.0 + np.log(p) / self.temperature

    def bag_predictions(self, metafeatures) -> np.ndarray:
        """Each bagged member's relative score of every configuration (members ×
        ``config_ids_``), as ``metakg.metalearner.active`` reads a bag: each member predicts
        through :meth:`score` on a shallow copy holding that member alone."""
        import copy

        query = Query(metafeatures=dict(metafeatures))
        out = []
        for model in self.models_:
            one = copy.copy(self)
            one.models_, one.forest_ = [model], None
            out.append(self.relative(one.score(query).to_numpy(dtype=float)))
        return np.vstack(out)
