"""Statistical meta-features of numeric columns: skewness, kurtosis, correlation, PCA.

Skewness and kurtosis are type 3 (R e1071), as pymfe computes them, so values agree.
"""

from __future__ import annotations

import numpy as np

from metakg.metalearner.metafeatures._base import Feature, NotApplicable, summary, summary_names
from metakg.metalearner.metafeatures._table import PreparedTable

__all__ = ["STATISTICAL"]

_MAX_CORR_COLS = 300


def _usable(t: PreparedTable) -> np.ndarray:
    """Numeric columns with at least 3 values and non-zero variance."""
    X = t.numeric
    if X.shape[1] == 0:
        raise NotApplicable("no numeric columns")
    keep = [j for j in range(X.shape[1]) if np.isfinite(X[:, j]).sum() >= 3 and
            np.nanstd(X[:, j]) > 0]
    if not keep:
        raise NotApplicable("no numeric column varies")
    return X[:, keep]


def _moments(t: PreparedTable) -> dict[str, float]:
    X = _usable(t)
    skews, kurts = [], []
    for col in X.T:
        v = col[np.isfinite(col)]
        n = v.size
        d = v - v.mean()
        m2 = (d ** 2).mean()
        g1 = (d ** 3).mean() / m2 ** 1.5
        g2 = (d ** 4).mean() / m2 ** 2 - 3
        skews.append(g1 * ((n - 1) / n) ** 1.5)
        kurts.append((g2 + 3) * (1 - 1 / n) ** 2 - 3)
    return {**summary(np.array(skews), "skewness"), **summary(np.array(kurts), "kurtosis")}


def _filled(X: np.ndarray) -> np.ndarray:
    med = np.nanmedian(X, axis=0)
    return np.where(np.isnan(X), med, X)


def _correlation(t: PreparedTable) -> dict[str, float]:
    X = _usable(t)
    if X.shape[1] < 2:
        raise NotApplicable("fewer than two numeric columns")
    if X.shape[1] > _MAX_CORR_COLS:
        X = X[:, np.random.default_rng(0).choice(X.shape[1], _MAX_CORR_COLS, replace=False)]
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.abs(np.corrcoef(_filled(X), rowvar=False))
    vals = c[np.tril_indices(c.shape[0], k=-1)]
    out = summary(vals, "cor")
    out["cor_high_frac"] = float(np.mean(vals[np.isfinite(vals)] >= 0.5))
    return out


def _pca(t: PreparedTable) -> dict[str, float]:
    X = _usable(t)
    Xf = _filled(X)
    Z = (Xf - Xf.mean(0)) / Xf.std(0)
    s = np.linalg.svd(Z[: min(len(Z), 5000)], compute_uv=False)
    var = s ** 2 / (s ** 2).sum()
    k = int(np.searchsorted(np.cumsum(var), 0.95) + 1)
    return {"pca_95_frac": k / X.shape[1], "pca_first_var": float(var[0])}


def _target(t: PreparedTable) -> dict[str, float]:
    if t.task_type != "regression":
        raise NotApplicable("classification task: target statistics are for regression")
    y = t.y[np.isfinite(t.y)]
    d = y - y.mean()
    m2 = (d ** 2).mean()
    if m2 == 0:
        raise NotApplicable("constant target")
    return {"target_skewness": float((d ** 3).mean() / m2 ** 1.5),
            "target_kurtosis": float((d ** 4).mean() / m2 ** 2 - 3),
            "target_cv": float(np.sqrt(m2) / abs(y.mean())) if y.mean() != 0 else float("nan")}


STATISTICAL = (
    Feature(summary_names("skewness") + summary_names("kurtosis"), _moments),
    Feature((*summary_names("cor"), "cor_high_frac"), _correlation),
    Feature(("pca_95_frac", "pca_first_var"), _pca),
    Feature(("target_skewness", "target_kurtosis", "target_cv"), _target),
)
