"""Evaluation measures known to the graph and their direction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metakg.kg.errors import InvalidData

__all__ = ["HIGHER_IS_BETTER", "IN_TARGET_UNITS", "MEASURES", "at_least_as_good", "check_measure",
           "primary_metric", "target_scale"]

#: measure name → True when higher values are better.
HIGHER_IS_BETTER: dict[str, bool] = {
    "roc_auc": True,
    "log_loss": False,
    "accuracy": True,
    "balanced_accuracy": True,
    "rmse": False,
    "mae": False,
    "r2": True,
    "fit_time": False,
    "predict_time": False,
    "peak_memory_mb": False,
}
MEASURES = tuple(HIGHER_IS_BETTER)

#: Measures in the units of the target (an RMSE of 3 is good for miles per gallon and
#: meaningless for house prices): one dataset's value says nothing of another's until both are
#: divided by their target's standard deviation (:func:`target_scale`).
IN_TARGET_UNITS: frozenset[str] = frozenset({"rmse", "mae"})


def target_scale(y: pd.Series) -> float | None:
    """A regression target's standard deviation over the rows that have one (the population
    form, as R² uses it), the scale of the measures in :data:`IN_TARGET_UNITS`.

    Returns:
        ``None`` when the target is not numeric or has fewer than two values.
    """
    values = pd.to_numeric(y, errors="coerce").dropna().to_numpy(dtype=float)
    return float(np.std(values)) if len(values) >= 2 else None


def check_measure(name: str) -> str:
    """Return ``name`` if it is a known measure.

    Raises:
        InvalidData: unknown measure, with the list of known ones.
    """
    if name not in HIGHER_IS_BETTER:
        raise InvalidData(f"Unknown measure {name!r}; known measures: {', '.join(MEASURES)}.")
    return name


def at_least_as_good(score: float, other: float, measure: str) -> bool:
    """Whether ``score`` is at least as good as ``other`` under ``measure`` (ties count).

    Raises:
        KeyError: unknown measure (see :func:`check_measure` for a message).
    """
    return score >= other if HIGHER_IS_BETTER[measure] else score <= other


def primary_metric(task_type: str, n_classes: int | None) -> str:
    """The primary metric of a task, as in the AutoML Benchmark.

    ROC AUC for binary classification, log loss for multiclass, RMSE for regression.
    """
    if task_type == "regression":
        return "rmse"
    return "roc_auc" if (n_classes or 2) <= 2 else "log_loss"
