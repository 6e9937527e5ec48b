"""Fast scoring of every candidate configuration for one query with a bag of LightGBM boosters.

The default recommender's ranker compiles its bag with it on the first query
(:class:`~metalearner.recommender.MetaRecommender`). A ranker's input row is
``[query part | candidate part | mixed part]``: the query's meta-features (the same in every
row of a query), the configuration's features (the same for every query) and columns that
depend on both (the family probe gaps). LightGBM walks
every tree for every row: with 5 boosters of 300 trees and 120 candidates that costs about
1.4 ms a booster, most of a seed-graph recommendation's latency.

:class:`CandidateForest` compiles the boosters once (QuickScorer's bit-vector form of a
tree: Lucchese et al., SIGIR 2015). Each tree's leaves are numbered left to right; a split
that sends a row right rules out every leaf of its left subtree, and the exit leaf is the
leftmost leaf no split has ruled out. The candidate part of that is a per-candidate,
per-tree bit mask worked out at compile time; a query evaluates its own splits once (one
row, not one per candidate), and the mixed columns once per distinct mixed row (a few
probe groups, not 120 candidates). LightGBM's rules for missing values and zeros are
followed exactly, so the predictions equal ``booster.predict`` up to the order of the
floating-point sum (tested).

Libraries that compile trees (treelite, lleaves) need a C compiler or LLVM at fit time; the
ranking needs no more than numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CandidateForest"]

_ZERO = 1e-35  # LightGBM's kZeroThreshold: values this close to 0 are read as 0
_MAX_LEAVES = 64  # one bit per leaf in a uint64 (uint32 where every tree has at most 32)


@dataclass
class _Splits:
    """The splits of one part of the input, sorted by tree, with where each sends a missing
    value and a zero (LightGBM's ``NumericalDecision``: NaN is read as 0 unless the split
    has a NaN branch; a split's missing value, 0 or NaN by its type, takes its default
    branch; everything else goes left iff ``value <= threshold``)."""

    feature: np.ndarray  # column within the part
    threshold: np.ndarray
    nan_left: np.ndarray  # where NaN goes
    zero_left: np.ndarray  # where 0 (and anything within 1e-35 of it) goes
    mask: np.ndarray  # unsigned: every leaf bit except those of the left subtree
    trees: np.ndarray  # the trees that have splits in this part
    starts: np.ndarray  # where each of those trees' splits start

    def exits(self, values: np.ndarray, n_trees: int) -> np.ndarray:
        """Per row of ``values`` (rows × part columns) and tree, the leaves these splits
        leave possible (bit masks, all ones for trees without splits here)."""
        ones = np.iinfo(self.mask.dtype).max
        out = np.full((values.shape[0], n_trees), ones, dtype=self.mask.dtype)
        if self.trees.size:
            v = values[:, self.feature]
            with np.errstate(invalid="ignore"):
                left = v <= self.threshold
            left = np.where(np.abs(v) <= _ZERO, self.zero_left, left)
            left = np.where(np.isnan(v), self.nan_left, left)
            kept = np.where(left, self.mask.dtype.type(ones), self.mask)
            out[:, self.trees] = np.bitwise_and.reduceat(kept, self.starts, axis=1)
        return out


class CandidateForest:
    """The mean prediction of a bag of LightGBM regression boosters for every candidate,
    given one query (see the module docstring).

    Use :meth:`compile`; the constructor only stores the compiled arrays.
    """

    def __init__(self, *, n_query: int, n_candidate: int, candidate_exits: np.ndarray,
                 query_splits: _Splits, mixed_splits: _Splits, leaf_values: np.ndarray,
                 booster_starts: np.ndarray) -> None:
        self.n_query = n_query
        self.n_candidate = n_candidate
        self.candidate_exits = candidate_exits
        self.query_splits = query_splits
        self.mixed_splits = mixed_splits
        self.leaf_values = leaf_values
        self.booster_starts = booster_starts
        self._flat_leaves = leaf_values.ravel()
        self._tree_offsets = np.arange(len(leaf_values)) * leaf_values.shape[1]

    @classmethod
    def compile(cls, boosters: Sequence[Any], *, n_query: int,
                candidates: np.ndarray) -> CandidateForest:
        """Compile fitted boosters for inputs ``[query (n_query) | candidates | mixed]``.

        Args:
            boosters: ``lightgbm.Booster`` objects of a regression objective, fitted on rows
                of that layout.
            n_query: how many leading columns belong to the query.
            candidates: candidates × candidate columns, the values that follow the query's.

        Returns:
            The compiled forest; any columns after the candidate part are mixed columns,
            given per candidate to :meth:`predict`.

        Raises:
            ValueError: no boosters, a booster that is not a plain regression (its output is
                not the sum of its leaves), a categorical split, linear trees, or a tree of
                more than 64 leaves.
        """
        if not boosters:
            raise ValueError("CandidateForest needs at least one booster.")
        candidates = np.asarray(candidates, dtype=float)
        n_candidate = candidates.shape[1]
        trees: list[dict[str, str]] = []
        booster_starts = []
        for booster in boosters:
            booster_starts.append(len(trees))
            trees.extend(_parse_trees(booster.model_to_string()))
        n_trees = len(trees)
        arrays, leaf_values = _lay_out(trees)
        bits = np.uint32 if leaf_values.shape[1] <= 32 else np.uint64
        arrays["mask"] = (arrays["mask"] & np.uint64(np.iinfo(bits).max)).astype(bits)
        part = np.where(arrays["feature"] < n_query, 0,
                        np.where(arrays["feature"] < n_query + n_candidate, 1, 2))
        offsets = (0, n_query, n_query + n_candidate)
        splits = [_select(arrays, part == p, offsets[p]) for p in range(3)]
        candidate_exits = np.empty((len(candidates), n_trees), dtype=bits)
        for lo in range(0, len(candidates), 128):  # bounded memory on a large portfolio
            candidate_exits[lo:lo + 128] = splits[1].exits(candidates[lo:lo + 128], n_trees)
        return cls(n_query=n_query, n_candidate=n_candidate, candidate_exits=candidate_exits,
                   query_splits=splits[0], mixed_splits=splits[2], leaf_values=leaf_values,
                   booster_starts=np.asarray(booster_starts, dtype=np.intp))

    def predict(self, query: np.ndarray, mixed: np.ndarray | None = None) -> np.ndarray:
        """The boosters' mean prediction for every candidate.

        Args:
            query: the query part of the row (``n_query`` values).
            mixed: candidates × mixed columns, or ``None`` when there are none.

        Returns:
            One prediction per candidate, in the order they were compiled.

        Raises:
            ValueError: ``query`` or ``mixed`` has the wrong shape.
        """
        query = np.asarray(query, dtype=float).ravel()
        n_candidates, n_trees = self.candidate_exits.shape
        if query.size != self.n_query:
            raise ValueError(f"query has {query.size} values; the forest was compiled for "
                             f"{self.n_query}.")
        exits = self.candidate_exits & self.query_splits.exits(query[None, :], n_trees)
        if self.mixed_splits.trees.size:
            if mixed is None or np.shape(mixed)[0] != n_candidates:
                raise ValueError(f"the forest splits on mixed columns: give them for each of "
                                 f"the {n_candidates} candidates.")
            mixed = np.ascontiguousarray(mixed, dtype=float)
            # the mixed columns take few distinct values (one row per probe group): evaluate each once
            first: dict[bytes, int] = {}
            inverse = np.array([first.setdefault(row.tobytes(), len(first)) for row in mixed])
            distinct = mixed[np.unique(inverse, return_index=True)[1]]  # ids in first-seen order
            exits &= self.mixed_splits.exits(distinct, n_trees)[inverse]
        lowest = exits & -exits  # the leftmost leaf left possible, as a power of two
        leaf = self._bit_index(lowest)
        values = np.take(self._flat_leaves, leaf + self._tree_offsets)
        sums = np.add.reduceat(values, self.booster_starts, axis=1)
        return sums.mean(axis=1)

    @staticmethod
    def _bit_index(powers: np.ndarray) -> np.ndarray:
        """The bit position of each power of two, read from its floating-point exponent
        (exact: every power of two below 2**64 is a float)."""
        if powers.dtype == np.uint32:
            return (powers.astype(np.float32).view(np.uint32) >> 23).astype(np.intp) - 127
        return (powers.astype(np.float64).view(np.uint64) >> 52).astype(np.intp) - 1023


def _parse_trees(text: str) -> list[dict[str, str]]:
    """A LightGBM model file's trees, as ``key=value`` fields (checked: a
    squared-error regression, not random-forest mode, numerical splits only)."""
    blocks = text.split("\nTree=")
    header = dict(line.split("=", 1) for line in blocks[0].splitlines() if "=" in line)
    objective = header.get("objective", "").split(" ")[0]
    if objective not in ("regression", "regression_l2", "l2", "mse", "mean_squared_error"):
        raise ValueError(f"CandidateForest sums leaf values, which is a prediction only for a "
                         f"squared-error regression; got objective {objective!r}.")
    if "average_output" in blocks[0].splitlines():
        raise ValueError("CandidateForest does not compile random-forest mode boosters "
                         "(average_output).")
    trees = []
    for block in blocks[1:]:
        block = block.split("\nend of trees", 1)[0]
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if int(fields.get("num_cat", "0")):
            raise ValueError("CandidateForest compiles numerical splits only; this booster "
                             "has categorical splits.")
        if int(fields.get("is_linear", "0")):
            raise ValueError("CandidateForest compiles constant leaves only; this booster has "
                             "linear trees.")
        trees.append(fields)
    return trees


def _lay_out(trees: list[dict[str, str]]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The splits of every tree, in tree order (with the uint64 mask of the leaves a right
    turn rules out), and each tree's leaf values numbered left to right (trees × most leaves).

    Vectorised over the trees: LightGBM numbers a tree's splits in the order they were made,
    so a split's children come after it; leaf counts are summed from the last split up, and
    each subtree's first leaf position handed down from the first split (checked).
    """
    n_leaves = np.array([len(t["leaf_value"].split()) for t in trees])
    if n_leaves.max() > _MAX_LEAVES:
        raise ValueError(f"CandidateForest compiles trees of up to {_MAX_LEAVES} leaves; this "
                         f"booster has one of {n_leaves.max()} (use num_leaves <= {_MAX_LEAVES}).")
    n_trees, width = len(trees), max(int(n_leaves.max()) - 1, 1)
    grid = {name: np.zeros((n_trees, width), dtype=dtype) for name, dtype in (
        ("split_feature", np.intp), ("threshold", float), ("decision_type", np.intp),
        ("left_child", np.intp), ("right_child", np.intp))}
    values = np.zeros((n_trees, int(n_leaves.max())))
    for t, fields in enumerate(trees):
        values[t, :n_leaves[t]] = np.array(fields["leaf_value"].split(), dtype=float)
        if n_leaves[t] > 1:
            for name, array in grid.items():
                array[t, :n_leaves[t] - 1] = np.array(fields[name].split(), dtype=array.dtype)
    n_splits = n_leaves - 1
    rows = np.arange(n_trees)
    left, right = grid["left_child"], grid["right_child"]
    valid = np.arange(width)[None, :] < n_splits[:, None]
    if np.any(valid & (((left >= 0) & (left <= np.arange(width))) |
                       ((right >= 0) & (right <= np.arange(width))))):
        raise ValueError("CandidateForest expects LightGBM's split order (children after their "
                         "split); this booster's trees are numbered otherwise.")
    count = np.zeros((n_trees, width), dtype=np.intp)  # leaves under each split
    left_count = np.zeros((n_trees, width), dtype=np.intp)
    for j in range(width - 1, -1, -1):
        l_, r_ = left[:, j], right[:, j]
        cl = np.where(l_ < 0, 1, count[rows, np.maximum(l_, 0)])
        cr = np.where(r_ < 0, 1, count[rows, np.maximum(r_, 0)])
        left_count[:, j] = np.where(valid[:, j], cl, 0)
        count[:, j] = np.where(valid[:, j], cl + cr, 0)
    start = np.zeros((n_trees, width), dtype=np.intp)  # position of each split's first leaf
    # of each leaf (padding keeps its own slot, past the tree's leaves)
    position = np.tile(np.arange(values.shape[1]), (n_trees, 1))
    for j in range(width):
        for child, first in ((left[:, j], start[:, j]), (right[:, j], start[:, j] + left_count[:, j])):
            split = valid[:, j] & (child >= 0)
            leaf = valid[:, j] & (child < 0)
            start[rows[split], child[split]] = first[split]
            position[rows[leaf], ~child[leaf]] = first[leaf]
    ordered = np.zeros_like(values)
    ordered[rows[:, None], position] = values
    span = left_count[valid].astype(np.uint64)
    left_bits = ((np.uint64(1) << span) - np.uint64(1)) << start[valid].astype(np.uint64)
    decision = grid["decision_type"][valid]
    arrays = {"feature": grid["split_feature"][valid], "threshold": grid["threshold"][valid],
              "default_left": (decision & 2) > 0, "missing": (decision >> 2) & 3,
              "mask": ~left_bits, "tree": np.broadcast_to(rows[:, None], valid.shape)[valid]}
    return arrays, ordered


def _select(arrays: dict[str, np.ndarray], keep: np.ndarray, offset: int) -> _Splits:
    """The splits ``keep`` selects (still in tree order), their features relative to ``offset``."""
    trees, starts = np.unique(arrays["tree"][keep], return_index=True)
    threshold = arrays["threshold"][keep]
    default_left = arrays["default_left"][keep]
    missing = arrays["missing"][keep]  # LightGBM's missing types: 0 none, 1 zero, 2 NaN
    zero_plain = threshold >= 0.0
    return _Splits(feature=arrays["feature"][keep] - offset, threshold=threshold,
                   nan_left=np.where(missing == 0, zero_plain, default_left),
                   zero_left=np.where(missing == 1, default_left, zero_plain),
                   mask=arrays["mask"][keep], trees=trees, starts=starts)
