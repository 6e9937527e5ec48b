"""A learned model of a configuration's score on a new table, with an interval that adapts to it.

Without this model, a recommendation's expected score is the similarity-weighted mean of the
configuration's scores on the most similar datasets, and its interval their range. That
transfers poorly: a table's log loss depends on its number of classes, their balance and how
separable they are, which its neighbours share only in part. This model learns the score itself
from meta-features (with the landmark contrasts, which say how separable the table is) and the
configuration's features, so a table's own characteristics set the level. It learns the score
relative to the table's own reference level, that of its best landmarker (:func:`_baseline`):
on an unseen table most of the error is the level of the whole table, and a cheap model's
cross-validated score on the table itself places it better than its meta-features do
(``bench/interval_coverage.py``: a smaller median error for ROC AUC, log loss and RMSE alike).

The interval is normalised (locally weighted) split-conformal. Out-of-fold residuals ``r`` of
the score model on training datasets (folds of datasets, a derived task always in its source's
fold) train a second, small model ``σ̂(x)`` of how large the error is (of ``log |r|``, from the
same features and the out-of-fold prediction), itself cross-fitted over the same folds so that
no calibration residual is scored by a ``σ̂`` that saw it. The conformity score is
``|r| / σ̂(x)`` over configurations above their dataset's median (the kind a recommendation is)
on datasets not derived from another (the kind a query is), and over full runs only when the
graph has weak ones (:mod:`kg.reliability`: a single fold's own noise is not the model's error;
both models weigh a weak cell by the empirical-Bayes factor of its reliability); ``q`` is its
``⌈(n + 1) coverage⌉ / n`` empirical quantile and the interval ``inverse(p ± q σ̂(x))``: wide
where the model errs much (a kind of table, a family, a level of score), narrow where it does
not, instead of one band for every table.

Scores are learnt in a transformed space (:data:`_TRANSFORMS`): log loss and RMSE in logs (they
span orders of magnitude and are positive), ROC AUC and accuracy as ``log((1 - s) / s)``
(bounded scores: good ones, near 1, spread out, and any prediction maps back into (0, 1)). An
RMSE is learnt as a share of its target's standard deviation (``MetaData.target_sd``) and
predicted as that share times the new table's (``Query.target_sd``; without it, no prediction).

Measured by ``bench/interval_coverage.py`` (held-out datasets never trained on, against
a global conformal band (one pair of residual quantiles for every table) and the
neighbours' range on the same recommendations; figures
in ``bench/results/interval_coverage.json``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from metakg.kg.measures import IN_TARGET_UNITS
from metakg.kg.reliability import shrinkage
from metakg.metalearner.config_features import config_features
from metakg.metalearner.fitted import NotFittedGuard
from metakg.metalearner.knowledge import MetaData, weak_cells
from metakg.metalearner.recommenders.base import Query
from metakg.metalearner.recommenders.landmark_contrasts import (
    LANDMARKERS,
    query_with_landmark_contrasts,
    with_landmark_contrasts,
)
from metakg.metalearner.recommenders.nearest import DEFAULT_FEATURES

__all__ = ["ScoreModel"]

#: A bounded score is clipped this far inside (0, 1) before its log-odds: a perfect 1.0 would
#: otherwise be infinitely far from a 0.999.
_EDGE = 1e-3


def _log_odds_of_error(score: np.ndarray) -> np.ndarray:
    """``log((1 - s) / s)`` of a score in [0, 1] (higher is worse, good scores spread out)."""
    s = np.clip(score, _EDGE, 1.0 - _EDGE)
    return np.log1p(-s) - np.log(s)


def _from_log_odds_of_error(z: np.ndarray) -> np.ndarray:
    """The score whose :func:`_log_odds_of_error` is ``z`` (always in (0, 1))."""
    return 1.0 / (1.0 + np.exp(z))


#: Metric → (transform, inverse): the model learns the transformed score and forms its
#: interval there. A score in the target's units (:data:`~kg.measures.IN_TARGET_UNITS`) is
#: first divided by its target's standard deviation, and the prediction multiplied by the new
#: table's.
_TRANSFORMS = {"log_loss": (np.log, np.exp), "rmse": (np.log, np.exp), "mae": (np.log, np.exp),
               "roc_auc": (_log_odds_of_error, _from_log_odds_of_error),
               "accuracy": (_log_odds_of_error, _from_log_odds_of_error)}


def _baseline(metric: str, best_landmarker: np.ndarray) -> np.ndarray:
    """The table's own reference level, in the metric's transformed space, from its best
    landmarker (a cross-validated accuracy, or R² for regression): the log error rate for log
    loss, the log-odds of error for ROC AUC and accuracy, the log of ``sqrt(1 - R²)`` (that
    landmarker's RMSE as a share of the target's standard deviation) for RMSE and MAE. The
    model learns the score relative to it: a table's level, which dominates the error on an
    unseen table, is then read from the table itself rather than from a few similar ones."""
    lm = np.asarray(best_landmarker, dtype=float)
    if metric in IN_TARGET_UNITS:
        return 0.5 * np.log(np.clip(1.0 - lm, _EDGE, None))
    if metric == "log_loss":
        return np.log(np.clip(1.0 - lm, _EDGE, None))
    return _log_odds_of_error(lm)


class ScoreModel(NotFittedGuard, BaseEstimator):
    """Predict a configuration's score on a new table, with a cross-fitted, approximately
    normalised conformal interval (the calibration rows are (table, configuration) pairs, many
    per table, so the nominal level is a target the benchmark checks, not a guarantee).

    Args:
        metrics: metrics the model is fitted for; for others it stays inactive (``active_``
            False) and recommendations keep the neighbours' mean and range.
        coverage: nominal share of scores inside the interval.
        min_datasets: fewest training datasets with the metric to fit on; below it, or with
            fewer independent tables (a derived task counts with its source) than ``folds``,
            the model stays inactive (its folds and quantile need many datasets).
        folds: folds of datasets for the out-of-fold residuals (and the cross-fitted scale).
        max_rows: most (dataset, configuration) scores learnt from; a larger graph is sampled
            (the model and its refits then take seconds, not minutes).
        n_estimators: boosting rounds of the score model.
        random_state: seed of the boosting and of the fold assignment.
    """

    fit_hint = "fit(load_metadata(graph, task_type, metric))"

    def __init__(self, *, metrics: tuple[str, ...] = ("roc_auc", "log_loss", "rmse"), coverage: float = 0.90,
                 min_datasets: int = 20, folds: int = 5, max_rows: int = 100_000,
                 n_estimators: int = 300, random_state: int = 0) -> None:
        self.metrics = metrics
        self.coverage = coverage
        self.min_datasets = min_datasets
        self.folds = folds
        self.max_rows = max_rows
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, meta: MetaData) -> ScoreModel:
        """Learn the scores of ``meta``'s datasets (those scored by its metric) and the scale
        of the model's error.

        Args:
            meta: the training views (one metric).

        Returns:
            This model; ``active_`` says whether it predicts (its metric is in ``metrics``,
            with enough datasets and independent tables).

        Raises:
            ValueError: ``coverage`` not in (0, 1), ``folds`` below 2 or a metric without a
                known transform.
        """
        if not 0.0 < self.coverage < 1.0:
            raise ValueError(f"coverage must be in (0, 1), got {self.coverage!r}.")
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
        # learnt relative to the table's landmark level (a table without landmarkers gets the
        # training tables' median level)
        landmarks = meta.metafeatures.reindex(index=datasets, columns=list(LANDMARKERS))
        level = self._level(landmarks.to_numpy(dtype=float))
        self.level_fill_ = float(np.nanmedian(level)) if np.isfinite(level).any() else 0.0
        level = pd.Series(np.where(np.isfinite(level), level, self.level_fill_), index=datasets)
        base = level.loc[rows].to_numpy()
        y = forward(long.to_numpy(dtype=float)) - base
        # a weak cell (a single fold, another protocol: ``meta.reliability``) counts by the
        # empirical-Bayes factor of its reliability, as in the ranker (decision 0012)
        weak = weak_cells(meta)
        weight = None if weak is None else shrinkage(
            weak.stack().reindex(long.index).fillna(1.0).to_numpy(dtype=float))
        self.model_ = self._booster().fit(X, y, sample_weight=weight)
        # out-of-fold predictions, a derived task in its source's fold (they share a table)
        root = pd.Index([meta.derived_from.get(d, d) for d in rows])
        roots = np.unique(root)
        order = np.random.default_rng(self.random_state).permutation(len(roots))
        fold_of = dict(zip(roots, order % self.folds, strict=True))
        fold = np.array([fold_of[r] for r in root])
        oof = np.full(len(y), np.nan)
        for k in range(self.folds):
            test = fold == k
            if test.any() and (~test).any():
                oof[test] = self._booster().fit(
                    X[~test], y[~test], sample_weight=None if weight is None else weight[~test]
                ).predict(X[test])
        residual = y - oof
        seen = ~np.isnan(residual)
        good = meta.norm.loc[datasets].stack().reindex(long.index).to_numpy(dtype=float) >= 0.5
        good &= seen
        # calibrated on tables as users bring them: derived tasks (binary variants of a
        # multiclass table) are most of the log-loss views but not what a query looks like
        primary = np.array([d not in meta.derived_from for d in rows])
        if len(set(rows[primary])) >= self.folds:
            good &= primary
        # ... and on full runs: a weak cell's own noise is not the model's error on a table
        if weight is not None and len(set(rows[good & (weight == 1.0)])) >= self.folds:
            good &= weight == 1.0
        self.residuals_ = residual[good]
        if len(roots) < self.folds or self.residuals_.size == 0:
            # too few independent tables to measure the model's error on unseen ones: no
            # interval can be given, so the neighbours' mean and range stay
            self.active_ = False
            return self
        # the scale model learns from every out-of-fold residual (more rows than the
        # calibration set; the configuration's features say which kind it is), with the
        # prediction itself as an input (the error's size depends on the score's level)
        Xs = np.column_stack([X, oof + base])
        self.floor_ = self._floor(residual[seen])
        target = np.log(np.maximum(np.abs(residual), self.floor_))
        sigma = np.full(len(y), np.nan)
        for k in range(self.folds):  # cross-fitted: a residual is scored by a σ̂ that never saw it
            test, train = (fold == k) & good, (fold != k) & seen
            if test.any() and train.any():
                scale = self._scale_booster().fit(
                    Xs[train], target[train], sample_weight=None if weight is None else weight[train])
                sigma[test] = self._scale_of(scale, Xs[test])
        self.scale_model_ = self._scale_booster().fit(
            Xs[seen], target[seen], sample_weight=None if weight is None else weight[seen])
        self.conformity_ = np.abs(residual[good]) / np.maximum(sigma[good], self.floor_)
        n = self.conformity_.size
        rank = min(int(np.ceil((n + 1) * self.coverage)), n)  # the finite-sample quantile
        self.quantile_ = float(np.sort(self.conformity_)[rank - 1])
        return self

    def predict(self, query: Query, config_ids: list[str]) -> pd.DataFrame:
        """Expected score and interval of each configuration on the query's table.

        Args:
            query: the table's meta-features (and, for a measure in the target's units, its
                target's standard deviation).
            config_ids: configurations (those the model was not fitted with get NaN).

        Returns:
            One row per configuration (index ``config_ids``), columns ``expected``, ``low``,
            ``high`` (``low <= expected <= high``); NaN throughout when the model is inactive,
            or its metric is in the target's units and the query has no ``target_sd``.
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
            p, half = self.transformed(query, position[known])
            _, inverse = _TRANSFORMS[self.metric_]
            ends = np.sort(np.column_stack([inverse(p - half), inverse(p + half)]), axis=1)
            columns["expected"][known] = scale * inverse(p)
            columns["low"][known] = scale * ends[:, 0]
            columns["high"][known] = scale * ends[:, 1]
        return pd.DataFrame(columns, index=index)

    def transformed(self, query: Query, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The prediction and the interval's half-width ``q σ̂(x)``, in the transformed space.

        Args:
            query: the table's meta-features.
            positions: rows of ``config_matrix_`` (configurations the model was fitted with).

        Returns:
            (prediction, half-width), one of each per configuration.
        """
        row = query_with_landmark_contrasts(query.metafeatures, self.features_)
        configs = self.config_matrix_.to_numpy(dtype=float)[positions]
        X = np.hstack([np.tile(row, (len(configs), 1)), configs])
        # the boosters themselves: model.predict's input checks cost more than the prediction
        landmarks = np.array([[np.nan if query.metafeatures.get(n) is None
                                else query.metafeatures[n] for n in LANDMARKERS]], dtype=float)
        level = self._level(landmarks)[0]
        p = self.model_.booster_.predict(X) + (level if np.isfinite(level) else self.level_fill_)
        sigma = np.maximum(self._scale_of(self.scale_model_, np.column_stack([X, p])), self.floor_)
        return p, self.quantile_ * sigma

    def _level(self, landmarks: np.ndarray) -> np.ndarray:
        """Each table's reference level (:func:`_baseline` of its best landmarker; NaN without
        any), from rows × :data:`LANDMARKERS`."""
        best = np.full(len(landmarks), np.nan)
        some = ~np.isnan(landmarks).all(axis=1)
        best[some] = np.nanmax(landmarks[some], axis=1)
        return _baseline(self.metric_, best)

    @staticmethod
    def _floor(residuals: np.ndarray) -> float:
        """Smallest error scale: the 5th percentile of the absolute residuals (an exact fit
        on some rows would otherwise make a zero-width interval and an infinite score)."""
        return max(float(np.quantile(np.abs(residuals), 0.05)), 1e-6)

    @staticmethod
    def _scale_of(model: Any, X: np.ndarray) -> np.ndarray:
        return np.exp(model.booster_.predict(X))

    def _booster(self) -> Any:  # an LGBMRegressor (lightgbm is imported lazily)
        import lightgbm as lgb

        return lgb.LGBMRegressor(n_estimators=self.n_estimators, learning_rate=0.05,
                                 num_leaves=31, min_child_samples=10, subsample=0.8,
                                 subsample_freq=1, colsample_bytree=0.8,
                                 random_state=self.random_state, n_jobs=1, verbose=-1)

    def _scale_booster(self) -> Any:
        """A small, strongly regularised model of ``log |r|``: a log of one absolute residual
        is a noisy target (its spread is about one unit whatever the true scale)."""
        import lightgbm as lgb

        return lgb.LGBMRegressor(n_estimators=100, learning_rate=0.05, num_leaves=7,
                                 min_child_samples=100, subsample=0.8, subsample_freq=1,
                                 colsample_bytree=0.8, random_state=self.random_state, n_jobs=1,
                                 verbose=-1)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({args})"
