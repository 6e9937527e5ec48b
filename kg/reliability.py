"""How much one run counts when the recommenders learn: its reliability weight.

Runs reach the graph from several protocols. The seed build and the runner (``metakg run``,
``--run``, the published portfolios, active acquisition) evaluate a configuration by the
task's cross-validation, 5 folds by default, on the same code. Others arrive as one score
(a hand-logged result, a recommendation's feedback outcome), from MLflow or OpenML (another
split, another preprocessing, another library version), or by any protocol of their own.
They are evidence too, but weaker, and a learner that treats them as equals of a
cross-validated run learns their noise and their bias.

The rule, ``w = protocol weight × fold weight`` in (0, 1]:

- fold weight ``min(1, folds / task folds)``: a mean over the 5 folds of the seed protocol
  has about a fifth of one fold's variance; a single score logged against a 5-fold task is
  one fold's worth of evidence (0.2). Relative to the run's task, so that a graph built with
  another fold count (``metakg seed build --folds 3``) is not weak throughout; 5 when the
  task's folds are not known;
- protocol weight 1 for this project's own protocol (:data:`PROTOCOL_SOURCES`), else
  :data:`OTHER_PROTOCOL_WEIGHT` (0.5): a score measured elsewhere may differ by the split or
  the preprocessing, by an amount nobody knows;
- an outcome reported for a recommendation (a run tagged ``recommendation=<id>``, logged by
  ``metakg feedback --score`` or the API) has protocol weight 1: it is the recommended
  configuration's score on the team's own table, the evidence the feedback loop is for;
  being one score, its fold weight still applies (1/3 on a 3-fold task);
- whoever logs a run may set it outright with the tag ``reliability=<0..1>`` (e.g. an MLflow
  experiment known to follow the same 5-fold protocol: ``reliability=1``); it replaces the
  protocol weight, the fold weight still applies.

:func:`kg.views.performance_table` averages a (task, configuration) cell's runs weighted by
``w`` and gives the cell the reliability ``min(1, Σ w)``; :func:`metalearner.knowledge.
load_metadata` then shrinks a weak cell's normalised score towards what the configuration
scores on the other datasets, by the empirical-Bayes factor of :func:`shrinkage`
(``w (1 + κ) / (w + κ)``, κ = :data:`NOISE_RATIO`), while the default recommender's ranker
learns the cell's own score with that factor as its row weight
(:func:`metalearner.knowledge.learning_targets`, decision 0012). On a graph of the seed
protocol's runs every weight is 1 and nothing changes. ``bench/weak_supervision.py``
measures the rule (leave-one-dataset-out with and without weak runs).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FULL_FOLDS", "NOISE_RATIO", "OTHER_PROTOCOL_WEIGHT", "OUTCOME_TAG", "PROTOCOL_SOURCES",
           "RELIABILITY_TAG", "fold_weight", "protocol_weight", "run_weight", "shrinkage"]

#: Sources (``mkg:source``) of runs evaluated by this project's runner and cross-validation
#: protocol: the seed build, ``metakg run``/``--run``, the published portfolios, active
#: acquisition.
PROTOCOL_SOURCES = frozenset({"seed", "runner", "published", "active"})
#: The protocol weight of every other run (MLflow, OpenML, hand-logged, feedback outcomes).
OTHER_PROTOCOL_WEIGHT = 0.5
#: Folds of the seed protocol's cross-validation: a run of this many folds has fold weight 1.
FULL_FOLDS = 5
#: The run tag (``key=value``) that sets a run's protocol weight.
RELIABILITY_TAG = "reliability"
#: κ: the noise variance of a full cross-validated cell over the variance of a configuration's
#: normalised score across datasets, measured on the seed graph's binary ROC AUC (3 folds: one
#: fold's percentile rank moves by 0.20 in standard deviation, ``0.042 / 3`` against 0.061).
NOISE_RATIO = 0.23
#: The tag of a recommendation's outcome run (:data:`kg.recommendations.RECOMMENDATION_TAG`).
OUTCOME_TAG = "recommendation"


def fold_weight(folds: int | None, task_folds: int | None = None) -> float:
    """``min(1, folds / task_folds)``; a run whose folds are not recorded (means only)
    counts as one fold.

    Args:
        folds: the number of folds the run's mean is over (``None`` or 0: not recorded).
        task_folds: the folds of its task's protocol (``None``: :data:`FULL_FOLDS`).

    Returns:
        The weight in (0, 1].
    """
    n = int(folds) if folds is not None and _known(folds) else 0
    full = int(task_folds) if task_folds is not None and _known(task_folds) else 0
    return min(1.0, max(n, 1) / (full if full > 0 else FULL_FOLDS))


def protocol_weight(source: str | None, tag: str | float | None = None, *,
                    outcome: bool = False) -> float:
    """1 for this project's protocol and for a recommendation's outcome,
    :data:`OTHER_PROTOCOL_WEIGHT` otherwise; ``tag`` (the value of a ``reliability`` run tag)
    replaces it when it is a number in (0, 1].

    A run without a source is one written before sources were recorded or by a bulk import
    of the seed protocol (``log_runs`` without a source): it counts as the protocol's.

    Args:
        source: the run's ``mkg:source``.
        tag: the run's ``reliability`` tag value, if any (an unreadable one is ignored).
        outcome: the run is a recommendation's outcome (tagged ``recommendation=<id>``).

    Returns:
        The weight in (0, 1].
    """
    if tag is not None:
        try:
            value = float(tag)
        except (TypeError, ValueError):
            value = math.nan
        if 0.0 < value <= 1.0:
            return value
    if outcome or source is None or _nan(source) or source in PROTOCOL_SOURCES:
        return 1.0
    return OTHER_PROTOCOL_WEIGHT


def run_weight(source: str | None, folds: int | None, tag: str | float | None = None,
               task_folds: int | None = None, *, outcome: bool = False) -> float:
    """A run's reliability: :func:`protocol_weight` × :func:`fold_weight`.

    Args:
        source: the run's ``mkg:source``.
        folds: the number of folds of its mean (``None``: not recorded).
        tag: its ``reliability`` tag value, if any.
        task_folds: the folds of its task (``None``: :data:`FULL_FOLDS`).
        outcome: the run is a recommendation's outcome (tagged ``recommendation=<id>``).

    Returns:
        The weight in (0, 1].
    """
    return protocol_weight(source, tag, outcome=outcome) * fold_weight(folds, task_folds)


def shrinkage(reliability: float | np.ndarray, noise_ratio: float | None = None) -> float | np.ndarray:
    """How far a cell of this reliability is trusted against the prior, relative to a full run.

    Empirical Bayes: a cell whose evidence is ``w`` full runs has noise variance ``σ²/w``;
    with the prior's variance ``τ²`` its estimate is ``prior + w/(w + κ) · (score − prior)``,
    ``κ = σ²/τ²``. Relative to a full run's factor ``1/(1 + κ)``, so that a full run is taken
    as measured: ``w (1 + κ) / (w + κ)``. ``κ → ∞`` gives ``w`` itself, ``κ = 0`` no shrinkage.

    Args:
        reliability: ``w`` in (0, 1] (a scalar or an array).
        noise_ratio: κ (``None``: :data:`NOISE_RATIO` as it is at the call).

    Returns:
        The factor in (0, 1], 1 where ``w`` is 1.
    """
    w = np.clip(reliability, 1e-9, 1.0)
    if noise_ratio is None:
        noise_ratio = NOISE_RATIO
    if np.isinf(noise_ratio):
        return w
    return w * (1.0 + noise_ratio) / (w + noise_ratio)


def _nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _known(value: object) -> bool:
    return value is not None and not _nan(value)
