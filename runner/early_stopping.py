"""Early stopping for the boosting libraries on an inner validation split.

LightGBM, XGBoost and CatBoost stop adding trees when the loss on a validation set has not
improved for ``rounds`` rounds; their tree count then only caps the ensemble. Held-out rows
come from the training part of each fold (stratified for classification), so the outer
test part is never seen. The model kept is the one at the best round, trained on the rest
of the training part, as pytabkit's and AutoGluon's defaults do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import train_test_split

__all__ = ["EarlyStopped"]


class EarlyStopped(BaseEstimator):
    """Fit a boosting model with early stopping on a held-out part of the training rows.

    Args:
        estimator: an unfitted ``LGBMClassifier``/``LGBMRegressor``, ``XGBClassifier``/
            ``XGBRegressor`` or ``CatBoostClassifier``/``CatBoostRegressor``.
        rounds: rounds without improvement of the validation loss before stopping.
        validation_fraction: share of the training rows held out.
        classification: stratify the split by the (encoded) target.
        random_state: seed of the split.
    """

    def __init__(self, estimator: Any, *, rounds: int = 100, validation_fraction: float = 0.2,
                 classification: bool = True, random_state: int = 0) -> None:
        self.estimator = estimator
        self.rounds = rounds
        self.validation_fraction = validation_fraction
        self.classification = classification
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> EarlyStopped:
        """Split, fit with early stopping, keep the best round.

        Raises:
            TypeError: the estimator is not one of the supported boosting models.
        """
        y = np.asarray(y)
        train, valid = _split(len(y), y if self.classification else None,
                              self.validation_fraction, self.random_state)
        model = clone(self.estimator)
        fit = _FITS.get(type(model).__module__.split(".")[0])
        if fit is None:
            raise TypeError(f"Early stopping supports LightGBM, XGBoost and CatBoost models, "
                            f"not {type(model).__name__}.")
        fit(model, _rows(X, train), y[train], _rows(X, valid), y[valid], self.rounds)
        self.estimator_ = model
        if self.classification:
            self.classes_ = np.asarray(model.classes_)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The early-stopped model's predictions."""
        return self.estimator_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """The early-stopped model's class probabilities (classification)."""
        return self.estimator_.predict_proba(X)


def _split(n: int, y: np.ndarray | None, fraction: float, seed: int,
           ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the kept and held-out rows. Classification: one row of every class always
    stays in the kept part (every class must be learnt, and a booster refuses labels it did
    not learn); the rest is split stratified when the held-out part can hold every class
    that has rows left, else plain."""
    idx = np.arange(n)
    if y is None:
        train, valid = train_test_split(idx, test_size=fraction, random_state=seed)
        return np.sort(train), np.sort(valid)
    _, first = np.unique(y, return_index=True)
    rest = np.setdiff1d(idx, first)
    if rest.size < 2:
        return idx, rest
    _, counts = np.unique(y[rest], return_counts=True)
    held = max(1, round(rest.size * fraction))
    strat = y[rest] if counts.min() >= 2 and held >= counts.size else None
    train, valid = train_test_split(rest, test_size=held, random_state=seed, stratify=strat)
    return np.sort(np.concatenate([train, first])), np.sort(valid)


def _rows(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def _fit_lightgbm(model: Any, X: Any, y: Any, Xv: Any, yv: Any, rounds: int) -> None:
    import lightgbm as lgb

    model.fit(X, y, eval_X=Xv, eval_y=yv,
              callbacks=[lgb.early_stopping(rounds, first_metric_only=True, verbose=False)])


def _fit_xgboost(model: Any, X: Any, y: Any, Xv: Any, yv: Any, rounds: int) -> None:
    model.set_params(early_stopping_rounds=rounds)
    model.fit(X, y, eval_set=[(Xv, yv)], verbose=False)


def _fit_catboost(model: Any, X: Any, y: Any, Xv: Any, yv: Any, rounds: int) -> None:
    model.fit(X, y, eval_set=(Xv, yv), early_stopping_rounds=rounds, use_best_model=True,
              verbose=False)


_FITS = {"lightgbm": _fit_lightgbm, "xgboost": _fit_xgboost, "catboost": _fit_catboost}
