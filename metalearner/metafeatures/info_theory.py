"""Information-theoretic meta-features (entropies in bits, as pymfe).

Numeric columns are discretised into equal-frequency bins; for regression the target is
discretised the same way so that mutual information is defined.
"""

from __future__ import annotations

import numpy as np

from metakg.metalearner.metafeatures._base import Feature, NotApplicable, summary, summary_names
from metakg.metalearner.metafeatures._table import PreparedTable

__all__ = ["INFO_THEORY"]

_BINS = 10


def _discretise(col: np.ndarray, bins: int = _BINS) -> np.ndarray:
    ok = np.isfinite(col)
    out = np.full(col.shape, -1, dtype=np.int64)
    if ok.sum() == 0:
        return out
    edges = np.unique(np.quantile(col[ok], np.linspace(0, 1, bins + 1)[1:-1]))
    out[ok] = np.searchsorted(edges, col[ok], side="right")
    return out


def _entropy(codes: np.ndarray) -> float:
    c = codes[codes >= 0]
    if c.size == 0:
        return float("nan")
    p = np.bincount(c) / c.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _joint_entropy(a: np.ndarray, b: np.ndarray) -> float:
    ok = (a >= 0) & (b >= 0)
    if not ok.any():
        return float("nan")
    joint = a[ok] * (b[ok].max() + 1) + b[ok]
    return _entropy(np.unique(joint, return_inverse=True)[1])


def _codes(t: PreparedTable) -> np.ndarray:
    parts = [t.categorical] + [_discretise(c)[:, None] for c in t.numeric.T]
    X = np.concatenate(parts, axis=1) if parts else np.empty((t.n_rows, 0), dtype=np.int64)
    if X.shape[1] == 0:
        raise NotApplicable("the table has no feature columns")
    return X


def _target_codes(t: PreparedTable) -> np.ndarray:
    return t.y.astype(np.int64) if t.task_type == "classification" else _discretise(t.y)


def _info(t: PreparedTable) -> dict[str, float | str]:
    X = _codes(t)
    y = _target_codes(t)
    h_y = _entropy(y)
    h_x = np.array([_entropy(c) for c in X.T])
    h_xy = np.array([_joint_entropy(c, y) for c in X.T])
    mi = np.maximum(h_x + h_y - h_xy, 0.0)
    out: dict[str, float | str] = {
        "class_ent": h_y if t.task_type == "classification" else "regression task: no classes",
           "target_ent": h_y}
    out.update(summary(h_x, "attr_ent"))
    out.update(summary(mi, "mut_inf"))
    out["joint_ent.mean"] = float(np.nanmean(h_xy))
    mean_mi = float(np.nanmean(mi))
    out["eq_num_attr"] = h_y / mean_mi if mean_mi > 0 else float("nan")
    out["ns_ratio"] = (float(np.nanmean(h_x)) - mean_mi) / mean_mi if mean_mi > 0 else float("nan")
    return out


INFO_THEORY = (
    Feature(("class_ent", "target_ent", *summary_names("attr_ent"), *summary_names("mut_inf"),
             "joint_ent.mean", "eq_num_attr", "ns_ratio"), _info),
)
