"""Evaluation measures known to the graph and their direction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metakg.kg.errors import InvalidData

__all__ = ["HIGHER_IS_BETTER", "IN_TARGET_UNITS", "MEASURES", "MEASURES_OF_COST", "QUALITY_MEASURES",
           "at_least_as_good", "check_fold_scores", "check_measure", "check_quality_measure",
           "check_score", "is_possible_score", "primary_metric", "target_scale"]

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

#: task type → the measures of a model's quality on it (the others measure cost, any task).
QUALITY_MEASURES: dict[str, tuple[str, ...]] = {
    "classification": ("roc_auc", "log_loss", "accuracy", "balanced_accuracy"),
    "regression": ("rmse", "mae", "r2"),
}

#: measures of a run's cost, meaningful for any task type
MEASURES_OF_COST: tuple[str, ...] = ("fit_time", "predict_time", "peak_memory_mb")

#: measure → the (lowest, highest) value it can take; the rest are at least 0.
_RANGES: dict[str, tuple[float, float]] = {
    "roc_auc": (0.0, 1.0), "accuracy": (0.0, 1.0), "balanced_accuracy": (0.0, 1.0),
    "r2": (-np.inf, 1.0),
}

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


def check_quality_measure(name: str, task_type: str) -> str:
    """Return ``name`` if it measures a model's quality on a task of ``task_type``.

    Args:
        name: the measure.
        task_type: ``classification`` or ``regression``.

    Returns:
        ``name``.

    Raises:
        InvalidData: an unknown measure, a cost (``fit_time``), or a measure of the other task
            type (``rmse`` for a classification task), with the measures that fit.
    """
    check_measure(name)
    fitting = QUALITY_MEASURES.get(task_type, ())
    if name not in fitting:
        raise InvalidData(f"{name!r} does not measure a {task_type} model's quality; use one of: "
                          f"{', '.join(fitting)}.")
    return name


def check_score(name: str, value: float) -> float:
    """Return ``value`` as a float if it is a possible value of measure ``name``.

    Args:
        name: the measure.
        value: one of its values (a fold's score, a mean, an outcome).

    Returns:
        ``value`` as a float.

    Raises:
        InvalidData: an unknown measure, or a value that is not finite or outside the
            measure's range (ROC AUC and accuracies in [0, 1], R² at most 1, losses, errors,
            times and memory at least 0).
    """
    check_measure(name)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidData(f"Scores of {name!r} must be numbers, got {value!r:.120}.") from None
    low, high = _RANGES.get(name, (0.0, np.inf))
    if not np.isfinite(v) or not low <= v <= high:
        span = (f"in [{low:g}, {high:g}]" if np.isfinite(low) and np.isfinite(high)
                else f"at most {high:g}" if np.isfinite(high) else f"at least {low:g}")
        raise InvalidData(f"{name}={value!r} is not a possible {name}: it must be finite and "
                          f"{span}.")
    return v


def is_possible_score(name: str, value: float) -> bool:
    """Whether ``value`` is a possible value of measure ``name`` (:func:`check_score` without
    the exception: for importers that leave an impossible value out).

    Args:
        name: a known measure.
        value: one of its values.

    Returns:
        ``True`` when :func:`check_score` accepts it.
    """
    try:
        check_score(name, value)
    except InvalidData:
        return False
    return True


def check_fold_scores(fold_scores: dict[str, list[float]], *, task_type: str, folds: int
                      ) -> dict[str, list[float]]:
    """Check a run's scores before anything is written: each measure fits the task type, has
    at least one value and at most one per fold of the task, and each value is possible
    (:func:`check_score`). ``KnowledgeGraph.log_runs`` holds every run to it (the CLI and the
    HTTP API log through it); the MLflow importer calls it first, to skip a run the graph would
    refuse rather than stop the sync.

    Args:
        fold_scores: measure → one value per fold.
        task_type: the task's type (``classification`` or ``regression``).
        folds: the task's folds.

    Returns:
        ``fold_scores``, each value a float.

    Raises:
        InvalidData: the first problem, naming the measure.
    """
    out = {}
    for name, values in fold_scores.items():
        if name not in MEASURES_OF_COST:
            check_quality_measure(name, task_type)
        if not values:
            raise InvalidData(f"{name}: no value given; give one per fold (measure=v1,v2,...).")
        if len(values) > folds:
            raise InvalidData(f"{name}: {len(values)} values for a task of {folds} folds; give "
                              "one per fold, at most, or log the run on a task of "
                              f"{len(values)} folds (`folds` in an HTTP request, `--folds` for "
                              "`metakg run`).")
        out[name] = [check_score(name, v) for v in values]
    return out


def at_least_as_good(score: float, other: float, measure: str) -> bool:
    """Whether ``score`` is at least as good as ``other`` under ``measure`` (ties count).

    Raises:
        KeyError: unknown measure (see :func:`check_measure` for a message).
    """
    return score >= other if HIGHER_IS_BETTER[measure] else score <= other


def primary_metric(task_type: str, n_classes: int | None) -> str:
    """The primary metric of a task, as in the AutoML Benchmark.

    ROC AUC for binary classification, log loss for multiclass, RMSE for regression.

    Args:
        task_type: ``classification`` or ``regression`` (anything but ``regression`` is
            taken as classification).
        n_classes: the number of classes (``None``: taken as binary).

    Returns:
        The metric's name: ``roc_auc``, ``log_loss`` or ``rmse``.
    """
    if task_type == "regression":
        return "rmse"
    return "roc_auc" if (n_classes or 2) <= 2 else "log_loss"
