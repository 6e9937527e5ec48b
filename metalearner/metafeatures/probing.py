"""Probing: out-of-fold scores of small members of the configuration families.

The landmarkers (:mod:`.landmarking`) say how separable a table is; the probes say which
*kind of model* suits it, the question a recommender has to answer. Each probe is a small,
fixed member of a family the runner tunes (boosted trees, a random forest, a linear model,
an RBF SVM, k-nearest neighbours, one tree, naive Bayes), cross-validated (3 folds) on the
same bounded subsample as the landmarkers, single-threaded.

Classification: the mean over folds of the held-out rows' ROC AUC (multiclass: the mean of
each class's one-against-the-rest ROC AUC; a fold without two classes is skipped), which
ranks models by how well they order rows rather than by thresholds. Regression: the mean
over folds of R² (target standardised).

Why they exist: on binary ROC AUC a ranker that also learns from them chooses better first
configurations and better top 10s (the former default's surrogate in ``bench/lodo.py``,
decision 0005); the boosted-trees probe carries most of it (random forest, logistic
regression and 10-NN landmarkers alone do not help). For log loss and RMSE they do not help
as table features. The binary and RMSE policies also read each configuration's *family probe
gap* (its family's probe minus the best one,
:func:`~metalearner.recommenders.family_probe_gaps`), and the log-loss policy reads the
boosting probe through the regime contrasts (:mod:`.regime_probing`); which groups each
metric's ranker reads is in ``metalearner/policies/``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from metakg.metalearner.metafeatures._base import Feature, NotApplicable
from metakg.metalearner.metafeatures._table import PreparedTable
from metakg.metalearner.metafeatures.landmarking import MAX_ROWS, _cv, _matrix

__all__ = ["PROBES", "PROBING", "Models", "class_auc", "probe_feature"]

_BOOSTING = dict(max_iter=25, learning_rate=0.2, max_leaf_nodes=15, early_stopping=False,
                 random_state=0)
_FOREST = dict(n_estimators=50, min_samples_leaf=3, random_state=0, n_jobs=1)

#: probe name → (classification model, regression model); ``None``: does not apply.
_MODELS: dict[str, tuple[Callable[[], BaseEstimator] | None, Callable[[], BaseEstimator] | None]] = {
    "pr_boosting": (lambda: HistGradientBoostingClassifier(**_BOOSTING),
                    lambda: HistGradientBoostingRegressor(**_BOOSTING)),
    "pr_forest": (lambda: RandomForestClassifier(**_FOREST), lambda: RandomForestRegressor(**_FOREST)),
    "pr_linear": (lambda: LogisticRegression(C=0.1, max_iter=300), lambda: Ridge(1.0)),
    "pr_lda": (lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"), None),
    "pr_svm": (lambda: SVC(C=1.0), lambda: SVR(C=1.0)),
    "pr_knn": (lambda: KNeighborsClassifier(15), lambda: KNeighborsRegressor(15)),
    "pr_tree": (lambda: DecisionTreeClassifier(max_depth=4, random_state=0),
                lambda: DecisionTreeRegressor(max_depth=4, random_state=0)),
    "pr_naive_bayes": (lambda: GaussianNB(), None),
}
#: The probe meta-features, in the order they are computed (the time budget cuts the last).
PROBES = tuple(_MODELS)


def class_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of scores for class codes ``y``: binary (one score column, or the second of
    two), or the mean over classes of one-against-the-rest ROC AUC (classes with rows on
    both sides only).

    Raises:
        NotApplicable: no class has rows on both sides.
    """
    classes = np.unique(y)
    scores = np.asarray(scores, dtype=float)
    if len(classes) == 2:
        column = scores if scores.ndim == 1 else scores[:, -1]
        return float(roc_auc_score(y == classes[-1], column))
    aucs = [roc_auc_score(y == k, scores[:, i]) for i, k in enumerate(classes)
            if 0 < int(np.sum(y == k)) < len(y)]
    if not aucs:
        raise NotApplicable("no class has rows on both sides of a one-against-the-rest split")
    return float(np.mean(aucs))


def _columns_of(scores: np.ndarray, fitted: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A model's score columns for the classes present in ``y`` (in sorted order); a class the
    model never saw scores lowest."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        return scores
    present = np.unique(y)
    if len(present) == 2 and np.array_equal(present, fitted):
        return scores[:, 1]
    index = {k: i for i, k in enumerate(fitted)}
    floor = np.nanmin(scores) - 1.0
    return np.column_stack([scores[:, index[k]] if k in index else np.full(len(scores), floor)
                            for k in present])


#: probe name → (classification model, regression model), as :data:`_MODELS`.
Models = dict[str, tuple[Callable[[], BaseEstimator] | None, Callable[[], BaseEstimator] | None]]


def probe_feature(name: str, models: Models = _MODELS) -> Callable[[PreparedTable], dict[str, float | str]]:
    """The feature function of probe ``name`` of ``models``: its mean held-out score over 3
    folds of the landmarkers' subsample (ROC AUC, or R² of the standardised target).

    Args:
        name: the probe's (and meta-feature's) name, a key of ``models``.
        models: probe name → (classification model, regression model) factories; ``None``
            where the probe does not apply to that task type.

    Returns:
        A function of a prepared table to ``{name: score}`` (or ``{name: reason}`` when the
        probe does not apply); it raises ``NotApplicable`` when no fold can be scored.
    """

    def compute(t: PreparedTable) -> dict[str, float | str]:
        clf, reg = models[name]
        make = clf if t.task_type == "classification" else reg
        if make is None:
            other = "classification" if reg is None else "regression"
            return {name: f"{name} applies to {other} only"}
        t = t.subsample(MAX_ROWS)
        if t.n_rows < 6:
            raise NotApplicable(f"only {t.n_rows} rows; probing needs at least 6")
        X, y = _matrix(t), t.y
        regression = t.task_type == "regression"
        y = (y - np.mean(y)) / (float(np.std(y)) or 1.0) if regression else y.astype(int)
        scores = []
        with threadpool_limits(1):
            for train, test in _cv(t).split(X, y):
                model = make().fit(X[train], y[train])
                if regression:
                    scores.append(r2_score(y[test], model.predict(X[test])))
                    continue
                if len(np.unique(y[test])) < 2 or len(np.unique(y[train])) < 2:
                    continue
                out = (model.decision_function(X[test]) if name == "pr_svm"
                       else model.predict_proba(X[test]))
                scores.append(class_auc(y[test], _columns_of(out, model.classes_, y[test])))
        if not scores:
            raise NotApplicable("no fold has two classes on both its training and test rows")
        return {name: float(np.mean(scores))}

    return compute


PROBING = tuple(Feature((name,), probe_feature(name)) for name in PROBES)
