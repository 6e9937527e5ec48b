"""FeatureBuilder: the ranker's input rows, one path for training tables and the query.

A row describes a (table, configuration) pair: the table's features (the groups its policy
names), the configuration's features (family indicator and parameters, log scale where the
space says so) and the pair's own features (its family's probe gap on that table, split by
probe group). Training rows and the query's rows go through the same code: a query is a
one-row table of meta-features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from metakg.metalearner.config_features import config_features
from metakg.metalearner.fitted import NotFittedGuard
from metakg.metalearner.metafeatures.probing import PROBES
from metakg.metalearner.recommenders.landmark_contrasts import with_landmark_contrasts
from metakg.metalearner.recommenders.nearest import DEFAULT_FEATURES
from metakg.metalearner.recommenders.probe_contrasts import (
    family_gap_columns,
    family_probe_gaps,
    table_probe_features,
)
from metakg.metalearner.recommenders.regime_contrasts import REGIME_FEATURES, with_regime_contrasts

__all__ = ["FeatureBuilder", "tables_frame"]


def tables_frame(metafeatures: Mapping[str, float | None] | pd.DataFrame) -> pd.DataFrame:
    """Meta-features as a float frame, one row per table (a mapping: one table); a value that
    is not a number (``None``, text) is NaN."""
    if isinstance(metafeatures, pd.DataFrame):
        return metafeatures.apply(pd.to_numeric, errors="coerce").astype(float)
    # one table, the query of every recommendation: built directly (a column-wise to_numeric
    # over a one-row frame costs more than the ranker's prediction)
    return pd.DataFrame([{k: _number(v) for k, v in metafeatures.items()}], dtype=float)


def _number(value: object) -> float:
    """``value`` as a float, NaN where it is none (``None``, text that is no number)."""
    if value is None:
        return np.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return np.nan


class FeatureBuilder(NotFittedGuard, BaseEstimator):
    """Input rows of the ranker.

    Args:
        groups: table feature groups (:data:`~metalearner.policy.FEATURE_GROUPS`): ``base``
            (size, types, class balance, correlation, landmarkers), ``landmark_contrasts``
            (differences between the landmarkers), ``probes`` (small members of the families
            cross-validated on the table, and their differences to the best), ``regimes``
            (small models at opposite ends of a family's space, and their contrasts) and
            ``family_probe_gaps`` (a pair feature: how far the configuration's family probe
            trails the best probe on the table).

    Fitted attributes: ``table_columns_`` (the table features present in the training
    tables), ``config_ids_``, ``config_columns_`` (the configuration features),
    ``config_matrix_`` (configurations × configuration features), ``families_``.
    """

    fit_hint = "fit(tables, configs)"

    def __init__(self, groups: Sequence[str] = ("base",)) -> None:
        self.groups = groups

    def fit(self, tables: pd.DataFrame, configs: Mapping[str, dict[str, Any]]) -> FeatureBuilder:
        """Learn which table features exist and encode the candidate configurations.

        Args:
            tables: training tables' meta-features (one row each).
            configs: configuration id → configuration, in candidate order.

        Returns:
            ``self``.
        """
        frame = self._table_features(tables_frame(tables), columns=None)
        self.table_columns_ = [c for c in frame.columns if frame[c].notna().any()]
        self.config_ids_ = list(configs)
        matrix = pd.DataFrame([config_features(configs[c]) for c in self.config_ids_],
                              index=self.config_ids_)
        self.config_columns_ = list(matrix.columns)
        self.config_matrix_ = matrix.to_numpy(dtype=float)
        self.families_ = [configs[c].get("family", "") for c in self.config_ids_]
        # pair features only where some training table was probed
        self.pair_ = ("family_probe_gaps" in self.groups
                      and bool(tables.reindex(columns=list(PROBES)).notna().to_numpy().any()))
        return self

    def table_matrix(self, tables: Mapping[str, float | None] | pd.DataFrame) -> np.ndarray:
        """Tables × table features (NaN where missing), in ``table_columns_`` order."""
        frame = tables_frame(tables)
        return self._table_features(frame, columns=self.table_columns_).to_numpy(dtype=float)

    def rows(self, tables: Mapping[str, float | None] | pd.DataFrame, table_rows: np.ndarray,
             config_positions: np.ndarray) -> np.ndarray:
        """The ranker's rows for (table, configuration) pairs.

        Args:
            tables: the tables' meta-features (a mapping: one table).
            table_rows: for each pair, its table's row in ``tables``.
            config_positions: for each pair, its configuration's position in ``config_ids_``.

        Returns:
            pairs × (table features, configuration features, pair features).
        """
        frame = tables_frame(tables)
        table = self._table_features(frame, columns=self.table_columns_).to_numpy(dtype=float)
        parts = [table[table_rows], self.config_matrix_[config_positions]]
        if self.pair_:
            probes = frame.reindex(columns=list(PROBES)).to_numpy(dtype=float)
            gaps = family_probe_gaps(probes, self.families_)[table_rows, config_positions]
            parts.append(family_gap_columns(gaps, [self.families_[c] for c in config_positions]))
        return np.column_stack(parts)

    def family_gaps(self, metafeatures: Mapping[str, float | None]) -> np.ndarray:
        """For each candidate: how far its family's probe trails the best probe on this table
        (0 = its family's probe is the best; NaN where the family has no probe or the table
        was not probed)."""
        probes = tables_frame(metafeatures).reindex(columns=list(PROBES)).to_numpy(dtype=float)
        return family_probe_gaps(probes, self.families_)[0]

    def query_rows(self, metafeatures: Mapping[str, float | None]) -> np.ndarray:
        """The rows of one table against every candidate configuration."""
        n = len(self.config_ids_)
        return self.rows(metafeatures, np.zeros(n, dtype=np.intp), np.arange(n))

    def configuration_rows(self, metafeatures: Mapping[str, float | None],
                           configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The rows of one table against any configurations, candidates or not (a tuner's
        draws from a family's space).

        A parameter no candidate sets is not read; a family no candidate has gets no
        indicator.

        Args:
            metafeatures: the table's meta-features.
            configs: ``{"family", "params"}`` dicts.

        Returns:
            configurations × (table features, configuration features, pair features).
        """
        frame = tables_frame(metafeatures)
        table = self._table_features(frame, columns=self.table_columns_).to_numpy(dtype=float)
        encoded = pd.DataFrame([config_features(dict(c)) for c in configs])
        parts = [np.repeat(table, len(configs), axis=0),
                 encoded.reindex(columns=self.config_columns_).to_numpy(dtype=float)]
        if self.pair_:
            families = [c.get("family", "") for c in configs]
            probes = frame.reindex(columns=list(PROBES)).to_numpy(dtype=float)
            parts.append(family_gap_columns(family_probe_gaps(probes, families)[0], families))
        return np.column_stack(parts)

    def _table_features(self, frame: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
        base = [*DEFAULT_FEATURES]
        if "regimes" in self.groups:
            frame = with_regime_contrasts(frame)
            base += [f for f in REGIME_FEATURES if f not in base]
        out = with_landmark_contrasts(frame, base, contrasts="landmark_contrasts" in self.groups)
        if "probes" in self.groups:
            out = pd.concat([out, table_probe_features(frame)], axis=1)
        return out if columns is None else out.reindex(columns=columns)
