"""Probe features: which family's small model does best on a table, and by how much.

The probes (:mod:`metalearner.metafeatures.probing`) are out-of-fold scores of small members
of the configuration families. A ranker learns from them as given, from the best of them,
from each one's gap to the best, and from how much the best linear-style model (linear, LDA,
SVM) beats or trails the best tree ensemble (feature group ``probes``). On binary ROC AUC
they made the former default's choices better (decision 0005); the binary policy reads them.

One more feature belongs to a (table, configuration) pair rather than to the table: the
*family probe gap* (:func:`family_probe_gaps`), the best probe of the configuration's own
family (:data:`FAMILY_PROBES`) minus the best probe of all. A tree model would need several
splits (the configuration's family, then that family's probe, then the best probe) to learn
"a configuration does well where its family's small model did"; this feature hands it over
in one column, and :func:`family_gap_columns` splits it by probe group so that each group's
threshold is one split too.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from metakg.metalearner.metafeatures.probing import PROBES

__all__ = ["FAMILY_PROBES", "FAMILY_PROBE_GROUPS", "HEDGE_PROBES", "PROBE_FEATURES",
           "family_gap_columns", "family_probe_gaps", "near_best_probes", "probe_features",
           "query_probe_features", "table_probe_features"]

_LINEAR = [PROBES.index(p) for p in ("pr_linear", "pr_lda", "pr_svm")]
_TREES = [PROBES.index(p) for p in ("pr_forest", "pr_boosting")]

#: Configuration family → the probes that are small members of it (an MLP: the linear model
#: and the RBF SVM, the smooth models among the probes). A family not named has no probe.
FAMILY_PROBES: dict[str, tuple[str, ...]] = {
    "hist_gradient_boosting": ("pr_boosting",), "lightgbm": ("pr_boosting",),
    "xgboost": ("pr_boosting",), "catboost": ("pr_boosting",),
    "random_forest": ("pr_forest",), "extra_trees": ("pr_forest",),
    "linear": ("pr_linear",), "svm": ("pr_svm",), "knn": ("pr_knn",),
    "mlp": ("pr_linear", "pr_svm"),
}

#: The distinct probe sets of :data:`FAMILY_PROBES`, in order: boosted trees, forests, linear,
#: SVM, k-NN, MLP. The families sharing one (HGB, LightGBM, XGBoost, CatBoost) form a group.
FAMILY_PROBE_GROUPS: tuple[tuple[str, ...], ...] = tuple(dict.fromkeys(FAMILY_PROBES.values()))

#: The probes that each stand for one group of families (boosted trees, forests, linear, SVM,
#: k-NN), which a top k can hedge over (:func:`near_best_probes`); the MLP's pair is not one.
HEDGE_PROBES: tuple[str, ...] = tuple(g[0] for g in FAMILY_PROBE_GROUPS if len(g) == 1)

#: Names of the columns :func:`probe_features` returns, in order.
PROBE_FEATURES = (*PROBES, "pr_best", *(f"{p}-pr_best" for p in PROBES), "pr_linear-trees")


def _nanmax(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # a row without probes: NaN, said once by numpy
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(values, axis=1)


def probe_features(probes: np.ndarray) -> np.ndarray:
    """The probe features of rows of probe values.

    Args:
        probes: rows × :data:`~metalearner.metafeatures.probing.PROBES` (NaN where missing).

    Returns:
        rows × :data:`PROBE_FEATURES`: the probes, the best of them, each one's difference to
        the best (NaN where it is missing) and the best linear-style probe minus the best tree
        ensemble.
    """
    values = np.asarray(probes, dtype=float).reshape(-1, len(PROBES))
    best = _nanmax(values)
    gap = _nanmax(values[:, _LINEAR]) - _nanmax(values[:, _TREES])
    return np.column_stack([values, best, values - best[:, None], gap])


def query_probe_features(metafeatures: Mapping[str, float | None]) -> np.ndarray:
    """:func:`probe_features` of one task's meta-features (missing ones count as NaN)."""
    row = [metafeatures.get(name) for name in PROBES]
    return probe_features(np.array([[np.nan if v is None else v for v in row]], dtype=float))[0]


def table_probe_features(metafeatures: pd.DataFrame) -> pd.DataFrame:
    """:func:`probe_features` of tables' meta-features (one row each; missing columns count as
    NaN), as a frame with the :data:`PROBE_FEATURES` columns."""
    values = metafeatures.reindex(columns=list(PROBES)).to_numpy(dtype=float)
    return pd.DataFrame(probe_features(values), index=metafeatures.index,
                        columns=list(PROBE_FEATURES))


def family_probe_gaps(probes: np.ndarray, families: Sequence[str]) -> np.ndarray:
    """For each table and configuration family: the best probe of that family
    (:data:`FAMILY_PROBES`) minus the best probe of all.

    Args:
        probes: rows × :data:`~metalearner.metafeatures.probing.PROBES` (NaN where missing).
        families: one configuration family per output column.

    Returns:
        rows × ``len(families)``: 0 where the family's probe is the best, negative where it
        trails; NaN where the family has no probe or its probes are missing.
    """
    values = np.asarray(probes, dtype=float).reshape(-1, len(PROBES))
    best = _nanmax(values)
    by_family: dict[str, np.ndarray] = {}
    for family in set(families):
        columns = [PROBES.index(p) for p in FAMILY_PROBES.get(family, ())]
        own = _nanmax(values[:, columns]) if columns else np.full(len(values), np.nan)
        by_family[family] = own - best
    if not families:
        return np.empty((len(values), 0))
    return np.column_stack([by_family[f] for f in families])


def family_gap_columns(gaps: np.ndarray, families: Sequence[str]) -> np.ndarray:
    """The family probe gap of (table, configuration) rows, split by probe group.

    One shared column lets a tree model read "the configuration's family probe trails the best
    by this much", with one threshold for every family; but a probe is a small member of its
    family, and how far it falls short of the family's tuned configurations may differ from
    family to family. The split columns hand each group its own gap, so one split learns a
    group's own threshold. That is the reasoning; the measurement is the row "one family probe
    gap column" of ``bench/lodo.py`` in docs/benchmarks.md.

    Args:
        gaps: one family probe gap per row (:func:`family_probe_gaps`).
        families: the configuration family of each row.

    Returns:
        rows × (1 + len(:data:`FAMILY_PROBE_GROUPS`)): the gap, then per group the gap where
        the row's family belongs to that group and NaN elsewhere.

    Raises:
        ValueError: ``gaps`` and ``families`` differ in length.
    """
    gaps = np.asarray(gaps, dtype=float).ravel()
    if len(gaps) != len(families):
        raise ValueError(f"{len(gaps)} gaps but {len(families)} families: one family per row.")
    position = {g: i for i, g in enumerate(FAMILY_PROBE_GROUPS)}
    group_of = {f: position.get(FAMILY_PROBES.get(f, ()), -1) for f in set(families)}
    groups = np.array([group_of[f] for f in families], dtype=int)
    out = np.full((len(gaps), 1 + len(FAMILY_PROBE_GROUPS)), np.nan)
    out[:, 0] = gaps
    rows = np.flatnonzero(groups >= 0)
    out[rows, 1 + groups[rows]] = gaps[rows]
    return out


def near_best_probes(values: Mapping[str, float], delta: float) -> list[str]:
    """The :data:`HEDGE_PROBES` of a table within ``delta`` of its best one, best first.

    Where several families' small models score that close, the probes say which families are
    in the running but not which one wins: on the binary group of the seed, the winning
    configuration's probe group is within 0.01 of the best probe on 22 of 30 tables, and two or
    three groups usually are.

    Args:
        values: probe name → the table's probe score (higher is better; missing or NaN: not
            probed).
        delta: how far below the best probe a probe may be.

    Returns:
        The probes' names, best first (ties in :data:`HEDGE_PROBES` order); empty when the
        table has none of them.
    """
    scores = {p: float(values[p]) for p in HEDGE_PROBES
              if values.get(p) is not None and np.isfinite(float(values[p]))}
    if not scores:
        return []
    top = max(scores.values())
    return sorted((p for p, v in scores.items() if v >= top - delta), key=lambda p: -scores[p])
