"""Regime probes: out-of-fold scores of small models at opposite ends of a family's space.

The probes (:mod:`.probing`) are one small model per family and say which *families* are in
the running on a table. A regime probe asks the same one level down: does this table reward
strongly regularised, slow boosting or deep, fast boosting; a strongly or a weakly
regularised linear model; an RBF kernel of narrow or of wide reach; strongly randomised,
smoothed extra trees (a tenth of the features per split, leaves of 10 rows) or greedy, fully
grown ones (every feature, leaves of one row; since version 4)? Those are the
hyperparameters that separate the configurations of one family. Same protocol as the probes
(the landmarkers' bounded subsample, 3 folds, single-threaded; ROC AUC, the mean of the
classes' one-against-the-rest ROC AUC for multiclass tables, or R² of the standardised
target).

Why they exist: the multiclass log-loss policy's ranker reads them and their contrasts
(:mod:`metalearner.recommenders.regime_contrasts`, feature group ``regimes``); they made the
former default's log-loss surrogate choose better at every k (decision 0005). For binary ROC
AUC and RMSE they moved best@5 within the noise as features
(``bench/policies/cover3-regimes.json``, decision 0011), so ``recommend()`` does not compute
them there.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.svm import SVC, SVR

from metakg.metalearner.metafeatures._base import Feature
from metakg.metalearner.metafeatures.probing import Models, probe_feature

__all__ = ["REGIME_PROBES", "REGIME_PROBING"]


class _KernelScores(SVC):
    """An RBF SVM whose ``predict_proba`` is its decision function, in one column per class
    it was fitted on (what a probe ranks rows by; no Platt scaling)."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray:  # type: ignore[override]
        d = self.decision_function(X)
        return np.column_stack([-d, d]) if d.ndim == 1 else d


def _boosting(slow: bool, cls: type) -> object:
    if slow:  # strongly regularised: shallow trees, small steps, large leaves
        return cls(max_iter=100, learning_rate=0.05, max_leaf_nodes=4, min_samples_leaf=20,
                   l2_regularization=1.0, early_stopping=False, random_state=0)
    return cls(max_iter=25, learning_rate=0.2, max_leaf_nodes=63, min_samples_leaf=2,
               early_stopping=False, random_state=0)


def _forest(smooth: bool, cls: type) -> object:
    if smooth:  # strongly randomised and smoothed: a tenth of the features per split, large leaves
        return cls(n_estimators=60, max_features=0.1, min_samples_leaf=10, bootstrap=True,
                   random_state=0, n_jobs=1)
    return cls(n_estimators=60, max_features=1.0, min_samples_leaf=1, random_state=0, n_jobs=1)


#: regime probe name → (classification model, regression model)
_REGIME_MODELS: Models = {
    "rp_boost_slow": (lambda: _boosting(True, HistGradientBoostingClassifier),
                      lambda: _boosting(True, HistGradientBoostingRegressor)),
    "rp_boost_deep": (lambda: _boosting(False, HistGradientBoostingClassifier),
                      lambda: _boosting(False, HistGradientBoostingRegressor)),
    "rp_linear_strong": (lambda: LogisticRegression(C=0.003, max_iter=300), lambda: Ridge(300.0)),
    "rp_linear_weak": (lambda: LogisticRegression(C=30.0, max_iter=1000), lambda: Ridge(0.01)),
    "rp_svm_narrow": (lambda: _KernelScores(C=1.0, gamma=0.5), lambda: SVR(C=1.0, gamma=0.5)),
    "rp_svm_wide": (lambda: _KernelScores(C=10.0, gamma=0.003), lambda: SVR(C=10.0, gamma=0.003)),
    "rp_forest_smooth": (lambda: _forest(True, ExtraTreesClassifier),
                         lambda: _forest(True, ExtraTreesRegressor)),
    "rp_forest_greedy": (lambda: _forest(False, ExtraTreesClassifier),
                         lambda: _forest(False, ExtraTreesRegressor)),
}
#: The regime probe meta-features, in the order they are computed (the time budget cuts the last).
REGIME_PROBES = tuple(_REGIME_MODELS)

REGIME_PROBING = tuple(Feature((name,), probe_feature(name, _REGIME_MODELS)) for name in REGIME_PROBES)
