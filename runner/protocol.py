"""The evaluation protocol: task data, seeded folds, metrics, and one fold's evaluation."""

from __future__ import annotations

import resource
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from metakg.runner.estimators import build_estimator

__all__ = ["FoldResult", "TaskSpec", "evaluate_fold", "fold_indices", "prepare_data", "score"]


@dataclass(frozen=True)
class TaskSpec:
    """What a worker needs to evaluate folds of a task (picklable, no graph handle)."""

    task_id: str
    data_path: str
    target: str
    task_type: str
    folds: int = 3
    seed: int = 0
    subsample_rows: int | None = None


@dataclass
class FoldResult:
    """The outcome of one (task, configuration, fold)."""

    task_id: str
    config_id: str
    fold: int
    scores: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    device: str = "cpu"


def prepare_data(df: pd.DataFrame, spec: TaskSpec) -> tuple[pd.DataFrame, pd.Series]:
    """Drop rows without a target, subsample (stratified, seeded) and split X / y.

    Args:
        df: the task's table, target column included.
        spec: the task (its target, type, seed and ``subsample_rows``).

    Returns:
        The features (every column but the target) and the target, both indexed 0..n-1.
    """
    df = df[df[spec.target].notna()]
    if spec.subsample_rows is not None and len(df) > spec.subsample_rows:
        strat = df[spec.target] if spec.task_type == "classification" else None
        if strat is not None and strat.value_counts().min() < 2:
            strat = None
        df, _ = train_test_split(df, train_size=spec.subsample_rows, random_state=spec.seed,
                                 stratify=strat)
    df = df.reset_index(drop=True)
    y = df[spec.target]
    X = df.drop(columns=[spec.target])
    if spec.task_type == "classification" and isinstance(y.dtype, pd.CategoricalDtype):
        y = y.cat.remove_unused_categories()
    return X, y


def fold_indices(y: pd.Series, spec: TaskSpec) -> list[tuple[np.ndarray, np.ndarray]]:
    """The task's folds: stratified k-fold for classification (when every class has at least
    ``folds`` rows, else plain k-fold), shuffled with the task's seed.

    Args:
        y: the task's target (as :func:`prepare_data` returns it).
        spec: the task (its type, number of folds and seed).

    Returns:
        One (train positions, test positions) pair of arrays per fold.
    """
    if spec.task_type == "classification" and y.value_counts().min() >= spec.folds:
        cv: Any = StratifiedKFold(spec.folds, shuffle=True, random_state=spec.seed)
    else:
        cv = KFold(spec.folds, shuffle=True, random_state=spec.seed)
    return list(cv.split(np.zeros(len(y)), y))


def score(task_type: str, y_true: pd.Series, y_pred: np.ndarray, proba: np.ndarray | None,
          classes: np.ndarray | None) -> dict[str, float]:
    """Metrics of one fold: ROC AUC (binary), log loss and accuracy (classification); RMSE and
    R² (regression)."""
    if task_type == "regression":
        yt = np.asarray(y_true, dtype=float)
        return {"rmse": float(np.sqrt(mean_squared_error(yt, y_pred))),
                "r2": float(r2_score(yt, y_pred))}
    assert proba is not None and classes is not None
    yt = np.asarray(y_true)
    out = {"accuracy": float(accuracy_score(yt, y_pred))}
    p = np.clip(proba, 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    out["log_loss"] = float(log_loss(yt, p, labels=classes))
    if len(classes) == 2:
        present = np.unique(yt)
        if len(present) == 2:
            out["roc_auc"] = float(roc_auc_score(yt == classes[1], proba[:, 1]))
    return out


def evaluate_fold(X: pd.DataFrame, y: pd.Series, spec: TaskSpec, config: dict[str, Any],
                  config_id: str, fold: int, device: str = "cpu") -> FoldResult:
    """Fit on the fold's training part, score on its test part; errors are returned, not
    raised (a failing configuration never stops a batch).

    Args:
        X: the task's features (as :func:`prepare_data` returns them).
        y: the task's target.
        spec: the task.
        config: the configuration to fit.
        config_id: the configuration's id (copied into the result).
        fold: which fold of :func:`fold_indices` to evaluate.
        device: the device to ask for (``auto``, ``cpu``, ``cuda`` or ``cuda:N``).

    Returns:
        The fold's result: its scores (metrics, fit and predict time, peak memory) and the
        device used, or an error and no scores when fitting or scoring failed.
    """
    train, test = fold_indices(y, spec)[fold]
    result = FoldResult(spec.task_id, config_id, fold, device=device)
    try:
        est = build_estimator(config, task=spec.task_type, device=device, random_state=spec.seed)
        t0 = time.perf_counter()
        est.fit(X.iloc[train], y.iloc[train])
        t1 = time.perf_counter()
        if spec.task_type == "classification":
            # Probabilities over every class of the task, also those absent from this fold's
            # training part (their probability is 0 before clipping).
            classes = np.unique(_labels(y))
            fitted = np.asarray(est.classes_)
            proba = np.zeros((len(test), len(classes)))
            proba[:, np.searchsorted(classes, fitted.astype(classes.dtype))] = est.predict_proba(
                X.iloc[test])
            pred = classes[proba.argmax(axis=1)]
        else:
            proba, classes = None, None
            pred = est.predict(X.iloc[test])
        t2 = time.perf_counter()
        y_test = pd.Series(_labels(y.iloc[test])) if spec.task_type == "classification" else y.iloc[test]
        result.scores = score(spec.task_type, y_test, pred, proba, classes)
        result.scores.update(fit_time=t1 - t0, predict_time=t2 - t1,
                             peak_memory_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        bad = [k for k, v in result.scores.items() if not np.isfinite(v)]
        if bad:
            raise ValueError(f"non-finite {', '.join(bad)}")
        result.device = getattr(est, "device_", device)
    except Exception as exc:  # recorded as a failed run, never swallowed silently
        result.scores = {}
        result.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"[:4000]
    return result


def _labels(y: pd.Series) -> np.ndarray:
    """Class labels as a plain array: strings for categorical/text targets."""
    if isinstance(y.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(y):
        return y.astype(str).to_numpy(dtype=object).astype(str)
    return y.to_numpy()
