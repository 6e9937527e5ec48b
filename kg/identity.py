"""Content identity: canonical hashes of tables and configurations."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["canonical_json", "configuration_id", "table_hash"]


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys, no whitespace, floats as Python writes them.

    Raises:
        TypeError: the object holds values JSON cannot represent.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_jsonable)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable: {value!r}")


def configuration_id(config: dict[str, Any]) -> str:
    """Stable id of a configuration: the first 24 hex digits of SHA-256 of its canonical JSON.

    Args:
        config: the configuration (any JSON-serialisable mapping; key order does not matter).

    Returns:
        The id: 24 lowercase hex digits.

    Raises:
        TypeError: the configuration holds values JSON cannot represent
            (:func:`canonical_json`).
        ValueError: the configuration holds a NaN or infinite float.
    """
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:24]


def _column_bytes(series: pd.Series) -> bytes:
    """Canonical bytes of a column, independent of the file format it came from.

    A column whose present values all read as numbers hashes as float64 (so ``1``, ``1.0``
    and the nominal ``'1'`` agree); anything else hashes as text. Missing values hash alike
    whatever their spelling (``?``, empty, NaN).
    """
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(float)
    if not pd.api.types.is_numeric_dtype(series):
        as_text = series.astype("object")
        numeric = pd.to_numeric(as_text, errors="coerce")
        if numeric.notna().sum() == as_text.notna().sum():
            series = numeric
        else:
            parts = ["\x00" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                     for v in as_text.tolist()]
            return b"S" + "\x1f".join(parts).encode()
    values = np.ascontiguousarray(series.to_numpy(dtype="float64", na_value=np.nan))
    values = np.where(np.isnan(values), np.nan, values + 0.0)  # one NaN, and -0.0 == 0.0
    return b"F" + values.tobytes()


def table_hash(df: pd.DataFrame) -> str:
    """SHA-256 hex digest of a table's canonical content (column names, order, values).

    Args:
        df: the table.

    Returns:
        The digest: 64 lowercase hex digits, the same for the same content whatever file
        format the table was read from.
    """
    h = hashlib.sha256()
    h.update(f"{df.shape[0]}x{df.shape[1]}".encode())
    for name in df.columns:
        h.update(b"\x1e" + str(name).encode() + b"\x1d")
        h.update(_column_bytes(df[name]))
    return h.hexdigest()
