"""Binary tasks derived from regression and multiclass tables: more binary training data.

Thirty binary tables are few for a meta-learner to learn which configurations do well on
binary data, and the shared datasets are all we may use. A regression or multiclass table
becomes a binary one by a rule anyone can read (a *split*): a regression target above its median or
above its upper quartile; a multiclass table's most frequent class against the rest, or its
two most frequent classes alone (the other rows dropped). The result is a new table (its own content hash,
so its own dataset node) that records where it came from (``prov:wasDerivedFrom``) and how
(``mkg:derivation``); recommenders learn from it, and the leave-one-dataset-out benchmark
never holds it out and drops it together with its source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from metakg.kg.errors import InvalidData

__all__ = ["SPLITS", "BinaryVariant", "binary_variant", "small_sample", "small_sample_name",
           "split_index", "variant_name"]

#: Share of rows the smaller class of a derived binary target must have at least: below
#: it, a 3-fold ROC AUC rests on a handful of positives per fold.
MIN_MINORITY = 0.1

#: The splits of each task type, in the order a seed build adds them (the first one is the
#: default): ``median`` / ``upper_quartile`` for a regression target, ``majority`` (most
#: frequent class against the rest) / ``top_two`` (the two most frequent classes) for a
#: multiclass one.
SPLITS: dict[str, tuple[str, ...]] = {
    "regression": ("median", "upper_quartile"),
    "classification": ("majority", "top_two"),
}


def variant_name(source: str, split: str) -> str:
    """The name of the dataset derived from ``source`` by ``split``.

    Args:
        source: name of the source dataset, e.g. ``autompg``.
        split: one of :data:`SPLITS`.

    Returns:
        ``autompg.binary`` for a task type's first split (the names earlier seeds used),
        ``autompg.upper_quartile`` etc. for the others.
    """
    first = {splits[0] for splits in SPLITS.values()}
    return f"{source}.binary" if split in first else f"{source}.{split}"


def split_index(name: str) -> int | None:
    """Which split of its task type made the dataset called ``name``: the inverse of
    :func:`variant_name`.

    Args:
        name: a dataset name, e.g. ``autompg.upper_quartile``.

    Returns:
        The split's position in :data:`SPLITS` (0: the first split, ``.binary``; 1: the
        second, ``.upper_quartile`` or ``.top_two``; a small sample's, e.g.
        ``autompg.binary.n300``, is its source's), ``None`` for a name no split makes.
    """
    name = re.sub(r"\.n\d+$", "", name)  # a small sample is of its source's split
    if name.endswith(".binary"):
        return 0
    for splits in SPLITS.values():
        for i, split in enumerate(splits[1:], start=1):
            if name.endswith(f".{split}"):
                return i
    return None


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


def binary_variant(df: pd.DataFrame, target: str, task_type: str, *, split: str | None = None,
                   min_minority: float = MIN_MINORITY) -> BinaryVariant:
    """Derive a binary classification table from a regression or multiclass one.

    Regression: the label says whether the target is above its median (split ``median``)
    or its upper quartile (``upper_quartile``): ``"above"`` / ``"at_or_below"``.
    Multiclass: whether the row is of the most frequent class (``majority``: its label /
    ``"other"``), or which of the two most frequent classes it is (``top_two``: rows of the
    other classes are dropped). Rows whose target is missing are dropped.

    Args:
        df: the source table.
        target: its target column.
        task_type: ``regression`` or ``classification`` (with more than two classes).
        split: one of ``SPLITS[task_type]``; default the first (median, majority).
        min_minority: least share of rows of the smaller label.

    Returns:
        The derived table, its target and the rule in words.

    Raises:
        InvalidData: unknown target or split, a binary or constant source, or a derived
            target whose smaller label has fewer than ``min_minority`` of the rows.
    """
    if task_type not in SPLITS:
        raise InvalidData(f"Task type must be 'classification' or 'regression', not {task_type!r}.")
    split = split or SPLITS[task_type][0]
    if split not in SPLITS[task_type]:
        raise InvalidData(f"Split {split!r} does not apply to a {task_type} target; use one of "
                          f"{', '.join(SPLITS[task_type])}.")
    if target not in df.columns:
        raise InvalidData(f"Column {target!r} is not in the table; the target must be one of its columns.")
    y = df[target]
    keep = y.notna()
    y = y[keep]
    if task_type == "regression":
        numeric = pd.to_numeric(y, errors="coerce")
        if numeric.isna().any():
            raise InvalidData(f"Target {target!r} has values that are not numbers; a regression "
                              "target must be numeric to be split at a quantile.")
        quantile, words = (0.5, "its median") if split == "median" else (0.75, "its upper quartile")
        cut = float(numeric.quantile(quantile))
        labels = numeric.gt(cut).map({True: "above", False: "at_or_below"})
        rule = f"{target} > {cut:g} ({words})"
    else:
        text = y.astype(str)
        counts = text.value_counts()
        if len(counts) <= 2:
            raise InvalidData(f"Target {target!r} has {len(counts)} classes; only a regression or "
                              "multiclass target gives a new binary task.")
        first, second = str(counts.index[0]), str(counts.index[1])
        if split == "majority":
            labels = text.eq(first).map({True: first, False: "other"})
            rule = f"{target} = {first!r} (its most frequent class) against the rest"
        else:
            pair = text.isin([first, second])
            keep &= pair.reindex(keep.index, fill_value=False)
            labels = text[pair]
            rule = f"{target} = {first!r} against {second!r} (its two most frequent classes)"
    minority = float(labels.value_counts(normalize=True).min()) if labels.nunique() == 2 else 0.0
    if minority < min_minority:
        raise InvalidData(f"Deriving a binary target as {rule} leaves {minority:.1%} of the rows in "
                          f"the smaller class (at least {min_minority:.0%} needed).")
    frame = df.loc[keep].copy()
    frame[target] = labels.astype("category").to_numpy()
    return BinaryVariant(frame=frame.reset_index(drop=True), target=target, rule=rule)


def small_sample_name(source: str, rows: int) -> str:
    """The name of the ``rows``-row sample of ``source``, e.g. ``kr.vs.kp.n300``."""
    return f"{source}.n{rows}"


def small_sample(df: pd.DataFrame, target: str, rows: int, *, seed: int = 0) -> BinaryVariant:
    """A small table sampled from a large binary one, stratified by its target.

    Most binary tables people bring, and most of the shared ones, have a few hundred rows,
    where the best configurations are often not those of a large table (stronger
    regularisation, linear models, SVMs). A sample of a large table is the same data at the
    size of a small one: its meta-features (rows, landmarkers) and its best configurations
    change with its size alone, which a meta-learner can learn from.

    Args:
        df: the source table (binary classification; rows with a missing target are dropped).
        target: its target column.
        rows: rows to keep.
        seed: random seed of the sample.

    Returns:
        The sample (same columns and target) and the rule in words.

    Raises:
        InvalidData: unknown target, a target without exactly two classes, or a table of
            fewer than twice ``rows`` rows (its sample would be most of it).
    """
    if target not in df.columns:
        raise InvalidData(f"Column {target!r} is not in the table; the target must be one of its columns.")
    source = df.loc[df[target].notna()]
    classes = source[target].nunique()
    if classes != 2:
        raise InvalidData(f"Target {target!r} has {classes} classes; only a binary table is sampled.")
    if rows < 10 or len(source) < 2 * rows:
        raise InvalidData(f"A sample of {rows} rows needs a table of at least {2 * max(rows, 10)} "
                          f"rows with a target; this one has {len(source)}.")
    from sklearn.model_selection import train_test_split  # as runner.protocol subsamples

    labels = source[target].astype(str)
    sample, _ = train_test_split(source, train_size=rows, random_state=seed,
                                 stratify=labels if labels.value_counts().min() >= 2 else None)
    frame = sample.sort_index().reset_index(drop=True)
    rule = f"{rows} of its {len(source):,} rows, sampled stratified by {target} (seed {seed})"
    return BinaryVariant(frame=frame, target=target, rule=rule)
