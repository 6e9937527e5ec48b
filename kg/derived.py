"""Binary tasks derived from regression and multiclass tables: more binary training data.

Thirty binary tables are few for a meta-learner to learn which configurations do well on
binary data, and the shared datasets are all we may use. A regression or multiclass table
becomes a binary one by a rule anyone can read: a regression target above its median, or
the most frequent class against the rest. The result is a new table (its own content hash,
so its own dataset node) that records where it came from (``prov:wasDerivedFrom``) and how
(``mkg:derivation``); recommenders learn from it, and the leave-one-dataset-out benchmark
never holds it out and drops it together with its source.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kg.errors import InvalidData

__all__ = ["BinaryVariant", "binary_variant"]

#: Share of rows the smaller class of a derived binary target must have at least: below
#: it, a 3-fold ROC AUC rests on a handful of positives per fold.
MIN_MINORITY = 0.1


@dataclass(frozen=True)
class BinaryVariant:
    """A binary classification table derived from another one.

    Attributes:
        frame: the table, with the target column replaced by two labels.
        target: the target column (same name as in the source).
        rule: the derivation in words, e.g. ``"rings > 9 (median)"``.
    """

    frame: pd.DataFrame
    target: str
    rule: str


def binary_variant(df: pd.DataFrame, target: str, task_type: str, *,
                   min_minority: float = MIN_MINORITY) -> BinaryVariant:
    """Derive a binary classification table from a regression or multiclass one.

    Regression: the label says whether the target is above its median (``"above"`` /
    ``"at_or_below"``). Multiclass: whether the row is of the most frequent class
    (its label / ``"other"``). Rows whose target is missing are dropped.

    Args:
        df: the source table.
        target: its target column.
        task_type: ``regression`` or ``classification`` (with more than two classes).
        min_minority: least share of rows of the smaller label.

    Returns:
        The derived table, its target and the rule in words.

    Raises:
        InvalidData: unknown target, a binary or constant source, or a derived target whose
            smaller label has fewer than ``min_minority`` of the rows.
    """
    if target not in df.columns:
        raise InvalidData(f"Column {target!r} is not in the table; the target must be one of its columns.")
    y = df[target]
    keep = y.notna()
    y = y[keep]
    if task_type == "regression":
        numeric = pd.to_numeric(y, errors="coerce")
        if numeric.isna().any():
            raise InvalidData(f"Target {target!r} has values that are not numbers; a regression "
                              "target must be numeric to be split at its median.")
        median = float(numeric.median())
        labels = numeric.gt(median).map({True: "above", False: "at_or_below"})
        rule = f"{target} > {median:g} (its median)"
    elif task_type == "classification":
        counts = y.astype(str).value_counts()
        if len(counts) <= 2:
            raise InvalidData(f"Target {target!r} has {len(counts)} classes; only a regression or "
                              "multiclass target gives a new binary task.")
        top = str(counts.index[0])
        labels = y.astype(str).eq(top).map({True: top, False: "other"})
        rule = f"{target} = {top!r} (its most frequent class) against the rest"
    else:
        raise InvalidData(f"Task type must be 'classification' or 'regression', not {task_type!r}.")
    minority = float(labels.value_counts(normalize=True).min()) if labels.nunique() == 2 else 0.0
    if minority < min_minority:
        raise InvalidData(f"Deriving a binary target as {rule} leaves {minority:.1%} of the rows in "
                          f"the smaller class (at least {min_minority:.0%} needed).")
    frame = df.loc[keep].copy()
    frame[target] = labels.astype("category").to_numpy()
    return BinaryVariant(frame=frame.reset_index(drop=True), target=target, rule=rule)
