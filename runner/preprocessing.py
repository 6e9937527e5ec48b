"""Preprocessing of raw pandas tables: numeric, categorical/string and missing values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, QuantileTransformer, StandardScaler

__all__ = ["FrameNormalizer", "make_preprocessor"]


class FrameNormalizer(TransformerMixin, BaseEstimator):
    """Make any DataFrame safe for scikit-learn transformers.

    Booleans and datetimes become floats; categorical, string and object columns become
    ``object`` arrays of ``str`` with ``np.nan`` for missing values (pandas ``NA`` breaks
    imputers); column names become strings. Columns with no value at all during ``fit`` are
    dropped (they carry nothing, and some learners fail on them).
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> FrameNormalizer:
        X = _as_frame(X)
        self.kept_ = [c for c in X.columns if X[c].notna().any()]
        self.feature_names_in_ = np.array([str(c) for c in self.kept_], dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        X = _as_frame(X)
        out = {}
        for c in self.kept_:
            s = X[c]
            if pd.api.types.is_datetime64_any_dtype(s):
                out[str(c)] = s.astype("int64", errors="ignore").where(s.notna()).astype(float)
            elif _is_numeric(s):
                out[str(c)] = pd.to_numeric(s, errors="coerce").astype(float)
            else:  # always object dtype, even when every value is missing
                values = [np.nan if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                          else str(v) for v in s.astype(object).tolist()]
                out[str(c)] = pd.Series(values, index=X.index, dtype=object)
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return self.feature_names_in_


def _as_frame(X: Any) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)


def _is_numeric(s: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)) and not isinstance(
        s.dtype, pd.CategoricalDtype)


def _numeric_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if pd.api.types.is_float_dtype(X[c])]


def _other_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if not pd.api.types.is_float_dtype(X[c])]


def make_preprocessor(kind: str, *, scaler: str = "standard", max_categories: int = 20) -> Any:
    """A preprocessing pipeline for raw DataFrames.

    Args:
        kind: ``tree`` (ordinal-encoded categories, missing values kept as NaN) or ``dense``
            (median/most-frequent imputation with missing indicators, one-hot encoding,
            scaling) for linear models, kNN, SVMs and MLPs.
        scaler: ``standard`` or ``quantile`` (dense only).
        max_categories: one-hot levels kept per column (rarer ones share one column).
    """
    if kind == "tree":
        cats = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="__missing__"),
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                           dtype=np.float32))
        ct = ColumnTransformer([("num", "passthrough", _numeric_columns),
                                ("cat", cats, _other_columns)], sparse_threshold=0.0)
    else:
        scale = (QuantileTransformer(n_quantiles=200, output_distribution="normal",
                                     subsample=20000, random_state=0)
                 if scaler == "quantile" else StandardScaler())
        nums = make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                           keep_empty_features=True), scale)
        cats = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="__missing__"),
            OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=max_categories,
                          sparse_output=False, dtype=np.float32))
        ct = ColumnTransformer([("num", nums, _numeric_columns),
                                ("cat", cats, _other_columns)], sparse_threshold=0.0)
    return make_pipeline(FrameNormalizer(), ct)
