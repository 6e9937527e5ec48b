"""A table prepared once for every tier: numeric matrix, categorical codes, target."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

__all__ = ["PreparedTable", "prepare_table"]


@dataclass
class PreparedTable:
    """Arrays shared by the tiers.

    Attributes:
        numeric: rows × numeric columns (float, NaN missing).
        categorical: rows × categorical columns (int codes, -1 missing).
        y: target (class codes for classification, floats for regression).
        task_type: classification or regression.
        n_rows_full: rows before any subsampling.
    """

    numeric: np.ndarray
    categorical: np.ndarray
    numeric_names: list[str]
    categorical_names: list[str]
    y: np.ndarray
    task_type: str
    n_rows_full: int
    missing_cells: int

    @property
    def n_rows(self) -> int:
        return len(self.y)

    def subsample(self, n: int, seed: int = 0) -> PreparedTable:
        """At most ``n`` rows (seeded), keeping every class present when possible."""
        if self.n_rows <= n:
            return self
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(self.n_rows, size=n, replace=False))
        return PreparedTable(self.numeric[idx], self.categorical[idx], self.numeric_names,
                             self.categorical_names, self.y[idx], self.task_type,
                             self.n_rows_full, self.missing_cells)

    @cached_property
    def class_counts(self) -> np.ndarray:
        return np.bincount(self.y.astype(int)) if self.task_type == "classification" else np.array([])


def prepare_table(df: pd.DataFrame, target: str, task_type: str) -> PreparedTable:
    """Split a DataFrame into numeric and categorical arrays and an encoded target.

    Rows without a target are dropped. Booleans count as categorical; datetimes as numeric.
    """
    df = df[df[target].notna()]
    y_raw = df[target]
    X = df.drop(columns=[target])
    num_cols, cat_cols = [], []
    for c in X.columns:
        s = X[c]
        if (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
                and not isinstance(s.dtype, pd.CategoricalDtype)) or pd.api.types.is_datetime64_any_dtype(s):
            num_cols.append(c)
        else:
            cat_cols.append(c)
    numeric = np.empty((len(X), len(num_cols)))
    for j, c in enumerate(num_cols):
        s = X[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.astype("int64").where(X[c].notna())
        numeric[:, j] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    categorical = np.empty((len(X), len(cat_cols)), dtype=np.int64)
    for j, c in enumerate(cat_cols):
        categorical[:, j] = pd.Categorical(X[c].astype(object).where(X[c].notna())).codes
    if task_type == "classification":
        y = pd.Categorical(y_raw.astype(str)).codes.astype(np.int64)
    else:
        y = pd.to_numeric(y_raw, errors="coerce").to_numpy(dtype=float)
    missing = int(np.isnan(numeric).sum() + (categorical < 0).sum())
    return PreparedTable(numeric, categorical, [str(c) for c in num_cols],
                         [str(c) for c in cat_cols], y, task_type, len(df), missing)
