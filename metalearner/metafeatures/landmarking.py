"""Landmarking: cross-validated scores of cheap learners on a bounded subsample.

Classification: accuracy of 1-NN, a decision stump, Gaussian naive Bayes and LDA.
Regression: R² of 1-NN, a depth-1 tree and ridge regression.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from metakg.metalearner.metafeatures._base import Feature, NotApplicable
from metakg.metalearner.metafeatures._table import PreparedTable

__all__ = ["LANDMARKING", "MAX_ROWS"]

MAX_ROWS = 1000
_MAX_COLS = 200


def _matrix(t: PreparedTable) -> np.ndarray:
    """Median-imputed, standardised numeric columns and ordinal categorical codes."""
    num = t.numeric
    if num.shape[1]:
        med = np.nanmedian(np.where(np.isfinite(num), num, np.nan), axis=0)
        num = np.where(np.isfinite(num), num, np.nan_to_num(med))
    X = np.concatenate([num, t.categorical.astype(float)], axis=1)
    if X.shape[1] == 0:
        raise NotApplicable("the table has no feature columns")
    sd = X.std(0)
    X = (X[:, sd > 0] - X[:, sd > 0].mean(0)) / sd[sd > 0]
    if X.shape[1] == 0:
        raise NotApplicable("every feature column is constant")
    if X.shape[1] > _MAX_COLS:
        X = X[:, np.random.default_rng(0).choice(X.shape[1], _MAX_COLS, replace=False)]
    return X


def _cv(t: PreparedTable) -> object:
    if t.task_type == "classification":
        counts = np.bincount(t.y.astype(int))
        if counts[counts > 0].min() >= 3:
            return StratifiedKFold(3, shuffle=True, random_state=0)
    return KFold(3, shuffle=True, random_state=0)


def _landmarks(t: PreparedTable) -> dict[str, float]:
    t = t.subsample(MAX_ROWS)
    if t.n_rows < 6:
        raise NotApplicable(f"only {t.n_rows} rows; landmarking needs at least 6")
    X, y, cv = _matrix(t), t.y, _cv(t)
    if t.task_type == "classification":
        learners = {"lm_1nn": KNeighborsClassifier(1), "lm_stump": DecisionTreeClassifier(
            max_depth=1, random_state=0), "lm_naive_bayes": GaussianNB(),
            "lm_lda": LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")}
        scoring = "accuracy"
    else:
        learners = {"lm_1nn": KNeighborsRegressor(1), "lm_stump": DecisionTreeRegressor(
            max_depth=1, random_state=0), "lm_ridge": Ridge(1.0)}
        scoring = "r2"
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, est in learners.items():
            out[name] = float(np.mean(cross_val_score(est, X, y, cv=cv, scoring=scoring,
                                                      error_score=np.nan)))
    for name in ("lm_naive_bayes", "lm_lda", "lm_ridge"):
        if name not in out:
            out[name] = f"{name} applies to {'regression' if name == 'lm_ridge' else 'classification'} only"  # type: ignore[assignment]
    return out


LANDMARKING = (
    Feature(("lm_1nn", "lm_stump", "lm_naive_bayes", "lm_lda", "lm_ridge"), _landmarks),
)
