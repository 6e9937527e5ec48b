"""A learned model of a configuration's score on a new table, with an interval that adapts to it.

Without this model, a recommendation's expected score is the similarity-weighted mean of the
configuration's scores on the most similar datasets, and its interval their range. That
transfers poorly: a table's log loss depends on its number of classes, their balance and how
separable they are, which its neighbours share only in part. This model learns the score itself
from meta-features (with the landmark contrasts, which say how separable the table is) and the
configuration's features, so a table's own characteristics set the level.

The interval is normalised (locally weighted) split-conformal. Out-of-fold residuals ``r`` of
the score model on training datasets (folds of datasets, a derived task always in its source's
fold) train a second, small model ``σ̂(x)`` of how large the error is (of ``log |r|``, from the
same features and the out-of-fold prediction), itself cross-fitted over the same folds so that
no calibration residual is scored by a ``σ̂`` that saw it. The conformity score is
``|r| / σ̂(x)`` over configurations above their dataset's median (the kind a recommendation is)
on datasets not derived from another (the kind a query is); ``q`` is its
``⌈(n + 1) coverage⌉ / n`` empirical quantile and the interval ``inverse(p ± q σ̂(x))``: wide
where the model errs much (a kind of table, a family, a level of score), narrow where it does
not, instead of one band for every table.

Scores are learnt in a transformed space (:data:`_TRANSFORMS`): log loss and RMSE in logs (they
span orders of magnitude and are positive), ROC AUC and accuracy as ``log((1 - s) / s)``
(bounded scores: good ones, near 1, spread out, and any prediction maps back into (0, 1)). An
RMSE is learnt as a share of its target's standard deviation (``MetaData.target_sd``) and
predicted as that share times the new table's (``Query.target_sd``; without it, no prediction).

Measured by ``bench/interval_coverage.py`` (held-out datasets never trained on, against
today's global conformal band and the neighbours' range on the same recommendations; figures
in ``bench/results/interval_coverage.json``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metakg.kg.measures import IN_TARGET_UNITS
from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.recommenders.base import Query
from metakg.metalearner.recommenders.landmark_contrasts import (
    query_with_landmark_contrasts,
    with_landmark_contrasts,
)
from metakg.metalearner.recommenders.nearest import DEFAULT_FEATURES
from metakg.metalearner.recommenders.surrogate import config_features

__all__ = ["ScoreModel"]

#: Metric → (transform, inverse): the model learns the transformed score (these span orders
#: of magnitude and are positive, so they are learnt and their intervals formed in logs). A
#: score in the target's units (:data:`~kg.measures.IN_TARGET_UNITS`) is first divided by
#: its target's standard deviation, and the prediction multiplied by the new table's.
_TRANSFORMS = {"log_loss": (np.log, np.exp), "rmse": (np.log, np.exp), "mae": (np.log, np.exp)}


class ScoreModel:
    """Predict a configuration's score on a new table, with a conformal interval.

    Args:
        metrics: metrics the model is fitted for; for others it stays inactive (``active_``
            False) and recommendations keep the neighbours' mean and range.
        coverage: nominal share of scores inside the interval (0.95).
        min_datasets: fewest training datasets with the metric to fit on; below it, or with
            fewer independent tables (a derived task counts with its source) than ``folds``,
            the model stays inactive (its folds and quantiles need many datasets).
        folds: folds of datasets for the out-of-fold residuals.
        calibrate_on: whose out-of-fold errors set the interval: ``primary`` (datasets not
            derived from another, when there are at least ``folds`` of them) or ``all``.
        max_rows: most (dataset, configuration) scores learnt from; a larger graph is sampled
            (the model and its ``folds`` refits then take seconds, not minutes).
        n_estimators, learning_rate, num_leaves: LightGBM settings.
        random_state: seed of the boosting and of the fold assignment.
    """

    def __init__(self, *, metrics: tuple[str, ...] = ("log_loss", "rmse"), coverage: float = 0.95,
                 min_datasets: int = 20, folds: int = 5, calibrate_on: str = "primary",
                 max_rows: int = 100_000, n_estimators: int = 300, learning_rate: float = 0.05,
                 num_leaves: int = 31, random_state: int = 0) -> None:
        self.metrics = metrics
        self.coverage = coverage
        self.min_datasets = min_datasets
        self.folds = folds
        self.calibrate_on = calibrate_on
        self.max_rows = max_rows
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.random_state = random_state

    def fit(self, meta: MetaData) -> ScoreModel:
        """Learn the scores of ``meta``'s datasets (those scored by its metric).

        Raises:
            ValueError: ``coverage`` not in (0, 1), ``folds`` below 2 or a metric without a
                known transform.
        """
        if not 0.0 < self.coverage < 1.0:
            raise ValueError(f"coverage must be in (0, 1), got {self.coverage!r}.")
        if self.calibrate_on not in ("primary", "all"):
            raise ValueError(f"calibrate_on must be 'primary' or 'all', got {self.calibrate_on!r}.")
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2, got {self.folds!r}.")
        unknown = [m for m in self.metrics if m not in _TRANSFORMS]
        if unknown:
            raise ValueError(f"No score transform for {unknown}; known: {sorted(_TRANSFORMS)}.")
        self.metric_ = next(iter(meta.metric.values()), None)
        self.in_target_units_ = self.metric_ in IN_TARGET_UNITS
        spread = pd.Series(meta.target_sd, dtype=float)
        datasets = [d for d in meta.datasets if meta.metric.get(d) == self.metric_
                    and meta.raw.loc[d].notna().any()
                    and (not self.in_target_units_ or spread.get(d, 0.0) > 0)]
        self.n_datasets_ = len(datasets)
        self.active_ = self.metric_ in self.metrics and len(datasets) >= self.min_datasets
        if not self.active_:
            return self
        forward, _ = _TRANSFORMS[self.metric_]
        self.features_ = [f for f in DEFAULT_FEATURES if f in meta.metafeatures.columns]
        configs = list(meta.raw.columns)
        self.config_matrix_ = pd.DataFrame([config_features(meta.configs[c]) for c in configs],
                                           index=configs)
        table = with_landmark_contrasts(meta.metafeatures.reindex(index=datasets), self.features_)
        scores = meta.raw.loc[datasets]
        if self.in_target_units_:  # as a share of each target's spread
            scores = scores.div(spread.reindex(datasets), axis=0)
        long = scores.stack().dropna()
        long = long[long > 0]
        if len(long) > self.max_rows:  # a large graph: a random sample of its runs is plenty
            rng = np.random.default_rng(self.random_state)
            long = long.iloc[np.sort(rng.choice(len(long), self.max_rows, replace=False))]
        self.n_rows_ = len(long)
        rows = long.index.get_level_values(0)
        cols = long.index.get_level_values(1)
        X = np.hstack([table.loc[rows].to_numpy(), self.config_matrix_.loc[cols].to_numpy()])
        y = forward(long.to_numpy(dtype=float))
        self.model_ = self._booster().fit(X, y)
        # out-of-fold residuals, a derived task in its source's fold (they share a table)
        root = pd.Index([meta.derived_from.get(d, d) for d in rows])
        roots = np.unique(root)
        order = np.random.default_rng(self.random_state).permutation(len(roots))
        fold_of = dict(zip(roots, order % self.folds, strict=True))
        fold = np.array([fold_of[r] for r in root])
        residual = np.full(len(y), np.nan)
        for k in range(self.folds):
            test = fold == k
            if test.any() and (~test).any():
                residual[test] = y[test] - self._booster().fit(X[~test], y[~test]).predict(X[test])
        good = meta.norm.loc[datasets].stack().reindex(long.index).to_numpy(dtype=float) >= 0.5
        good &= ~np.isnan(residual)
        # calibrated on tables as users bring them: derived tasks (binary variants of a
        # multiclass table) are most of the log-loss views but not what a query looks like
        primary = np.array([d not in meta.derived_from for d in rows])
        if self.calibrate_on == "primary" and len(set(rows[primary])) >= self.folds:
            good &= primary
        self.residuals_ = residual[good]
        if len(roots) < self.folds or self.residuals_.size == 0:
            # too few independent tables to measure the model's error on unseen ones: no
            # interval can be given, so the neighbours' mean and range stay
            self.active_ = False
            return self
        tail = (1.0 - self.coverage) / 2.0
        self.residual_bounds_ = (float(np.quantile(self.residuals_, tail)),
                                 float(np.quantile(self.residuals_, 1.0 - tail)))
        return self

    def predict(self, query: Query, config_ids: list[str]) -> pd.DataFrame:
        """Expected score and interval of each configuration on the query's table.

        Args:
            query: the table's meta-features.
            config_ids: configurations (those the model was not fitted with get NaN).

        Returns:
            One row per configuration (index ``config_ids``), columns ``expected``, ``low``,
            ``high``; NaN throughout when the model is inactive, or its metric is in the
            target's units and the query has no ``target_sd``.
        """
        index = pd.Index(config_ids)
        columns = {name: np.full(len(index), np.nan) for name in ("expected", "low", "high")}
        if not self.active_ or index.empty:
            return pd.DataFrame(columns, index=index)
        scale = 1.0
        if self.in_target_units_:
            scale = query.target_sd if query.target_sd and np.isfinite(query.target_sd) else np.nan
        # numpy throughout: pandas per query costs more than the prediction itself
        position = self.config_matrix_.index.get_indexer(index)
        known = position >= 0  # configurations the model was not fitted with stay NaN
        if known.any() and scale > 0:
            _, inverse = _TRANSFORMS[self.metric_]
            row = query_with_landmark_contrasts(query.metafeatures, self.features_)
            configs = self.config_matrix_.to_numpy(dtype=float)[position[known]]
            X = np.hstack([np.tile(row, (len(configs), 1)), configs])
            # the booster itself: model.predict's input checks cost more than the prediction
            p = self.model_.booster_.predict(X)
            lo, hi = self.residual_bounds_
            columns["expected"][known] = scale * inverse(p)
            columns["low"][known] = scale * inverse(p + lo)
            columns["high"][known] = scale * inverse(p + hi)
        return pd.DataFrame(columns, index=index)

    def _booster(self) -> Any:  # an LGBMRegressor (lightgbm is imported lazily)
        import lightgbm as lgb

        return lgb.LGBMRegressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                 num_leaves=self.num_leaves, min_child_samples=10, subsample=0.8,
                                 subsample_freq=1, colsample_bytree=0.8,
                                 random_state=self.random_state, n_jobs=1, verbose=-1)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({args})"
