"""Simple meta-features: sizes, types, missing values, cardinalities, class balance."""

from __future__ import annotations

import numpy as np

from metakg.metalearner.metafeatures._base import Feature, NotApplicable, summary, summary_names
from metakg.metalearner.metafeatures._table import PreparedTable

__all__ = ["SIMPLE"]


def _sizes(t: PreparedTable) -> dict[str, float]:
    n, d = t.n_rows_full, t.numeric.shape[1] + t.categorical.shape[1]
    return {"nr_inst": n, "nr_attr": d, "log_nr_inst": np.log(n), "log_nr_attr": np.log(max(d, 1)),
            "log_attr_to_inst": np.log(max(d, 1) / n), "nr_num": t.numeric.shape[1],
            "nr_cat": t.categorical.shape[1], "frac_num": t.numeric.shape[1] / max(d, 1),
            "frac_cat": t.categorical.shape[1] / max(d, 1)}


def _missing(t: PreparedTable) -> dict[str, float]:
    miss = np.concatenate([np.isnan(t.numeric), t.categorical < 0], axis=1)
    if miss.shape[1] == 0:
        raise NotApplicable("the table has no feature columns")
    return {"missing_frac": float(miss.mean()), "rows_with_missing_frac": float(miss.any(1).mean()),
            "cols_with_missing_frac": float(miss.any(0).mean()),
            "constant_cols_frac": float(np.mean(
                [np.unique(c[~np.isnan(c)]).size <= 1 for c in t.numeric.T]
                + [np.unique(c[c >= 0]).size <= 1 for c in t.categorical.T]))}


def _cardinality(t: PreparedTable) -> dict[str, float]:
    if t.categorical.shape[1] == 0:
        raise NotApplicable("no categorical columns")
    card = np.array([np.unique(c[c >= 0]).size for c in t.categorical.T], dtype=float)
    return summary(card, "cat_cardinality")


def _classes(t: PreparedTable) -> dict[str, float]:
    if t.task_type != "classification":
        raise NotApplicable("regression task: no classes")
    p = t.class_counts[t.class_counts > 0] / t.n_rows
    return {"nr_class": float(p.size), "class_prob_min": float(p.min()),
            "class_prob_max": float(p.max()), "class_imbalance": float(p.max() / p.min()),
            "class_balance_entropy": float(-(p * np.log(p)).sum() / np.log(p.size)) if p.size > 1 else 0.0}


SIMPLE = (
    Feature(("nr_inst", "nr_attr", "log_nr_inst", "log_nr_attr", "log_attr_to_inst", "nr_num",
             "nr_cat", "frac_num", "frac_cat"), _sizes),
    Feature(("missing_frac", "rows_with_missing_frac", "cols_with_missing_frac",
             "constant_cols_frac"), _missing),
    Feature(summary_names("cat_cardinality"), _cardinality),
    Feature(("nr_class", "class_prob_min", "class_prob_max", "class_imbalance",
             "class_balance_entropy"), _classes),
)
