"""Ranker: one learned model of a configuration's relative score on a table.

The target is the ``top`` transform of the relative score ``r`` (0 = the table's median
configuration, 1 = its best): ``exp(temperature × (r − 1))`` with ``r`` floored at −1, which
spends the model's capacity on telling the best configurations apart rather than ordering
the bad ones. A bag of gradient-boosted models with different seeds (row and column
subsamples) is averaged: one model's choices move with its seed; their spread is the
ranker's own uncertainty (what active learning asks about).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from metakg.metalearner.fitted import NotFittedGuard

__all__ = ["Ranker", "from_top", "to_top"]


def to_top(relative: np.ndarray, temperature: float) -> np.ndarray:
    """The ranker's target from relative scores (floored at −1)."""
    return np.exp(temperature * (np.maximum(relative, -1.0) - 1.0))


def from_top(predicted: np.ndarray, temperature: float) -> np.ndarray:
    """Predictions of the target mapped back to the relative scale."""
    return 1.0 + np.log(np.clip(np.asarray(predicted, dtype=float), 1e-12, None)) / temperature


class Ranker(NotFittedGuard, RegressorMixin, BaseEstimator):
    """A bag of LightGBM regressors of the ``top`` target.

    Args:
        temperature: how sharply the target emphasises the best configurations.
        n_bags: models fitted with seeds ``random_state``, ``random_state + 1``, ...
        n_estimators, learning_rate, num_leaves: LightGBM settings of each model.
        random_state: seed of the first model.

    Fitted attributes: ``models_`` (the bag), ``n_features_in_``.
    """

    fit_hint = "fit(X, relative)"

    def __init__(self, *, temperature: float = 2.0, n_bags: int = 5, n_estimators: int = 300,
                 learning_rate: float = 0.05, num_leaves: int = 31, random_state: int = 0) -> None:
        self.temperature = temperature
        self.n_bags = n_bags
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.random_state = random_state

    def fit(self, X: np.ndarray, relative: np.ndarray,
            sample_weight: np.ndarray | None = None) -> Ranker:
        """Fit the bag on rows and their relative scores.

        Args:
            X: rows from :class:`~metalearner.features.FeatureBuilder`.
            relative: each row's relative score (1 = its table's best, 0 = its median).
            sample_weight: each row's weight (e.g. its run's reliability); ``None``: equal.

        Returns:
            ``self``.

        Raises:
            ValueError: ``n_bags`` below 1, or no rows.
        """
        import lightgbm as lgb

        if not isinstance(self.n_bags, int) or self.n_bags < 1:
            raise ValueError(f"n_bags must be a positive integer, got {self.n_bags!r}.")
        X = np.asarray(X, dtype=float)
        if X.shape[0] == 0:
            raise ValueError("The ranker needs at least one row to learn from.")
        y = to_top(np.asarray(relative, dtype=float), self.temperature)
        self.models_ = [
            lgb.LGBMRegressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                              num_leaves=self.num_leaves, min_child_samples=10, subsample=0.8,
                              subsample_freq=1, colsample_bytree=0.8,
                              random_state=self.random_state + b, n_jobs=1, verbose=-1
                              ).fit(X, y, sample_weight=sample_weight)
            for b in range(self.n_bags)]
        self.n_features_in_ = X.shape[1]
        return self

    def predict_bags(self, X: np.ndarray) -> np.ndarray:
        """Each model's predicted relative score: bags × rows."""
        X = np.asarray(X, dtype=float)
        # the boosters themselves: LGBMRegressor.predict's input checks cost more than the
        # prediction of a few hundred rows, and so do threads
        return np.vstack([from_top(m.booster_.predict(X, num_threads=1), self.temperature)
                          for m in self.models_])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted relative score of each row (the bag's mean on the target's scale)."""
        X = np.asarray(X, dtype=float)
        top = np.mean([m.booster_.predict(X, num_threads=1) for m in self.models_], axis=0)
        return from_top(top, self.temperature)
