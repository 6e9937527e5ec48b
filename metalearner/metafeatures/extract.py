"""``compute_metafeatures``: every tier, with time budgets, subsampling and timings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd
from threadpoolctl import threadpool_limits

from metakg.kg.errors import InvalidData
from metakg.kg.tables import infer_task_type
from metakg.metalearner.metafeatures._base import run_tier
from metakg.metalearner.metafeatures._table import prepare_table
from metakg.metalearner.metafeatures.info_theory import INFO_THEORY
from metakg.metalearner.metafeatures.landmarking import LANDMARKING
from metakg.metalearner.metafeatures.probing import PROBING
from metakg.metalearner.metafeatures.regime_probing import REGIME_PROBING
from metakg.metalearner.metafeatures.simple import SIMPLE
from metakg.metalearner.metafeatures.statistical import STATISTICAL

__all__ = ["EXTRACTOR", "GROUPS", "VERSION", "MetaFeatures", "compute_metafeatures",
           "feature_names"]

#: Name and version stored with every value; bump VERSION when a definition changes
#: (2: the probing group; 3: the regime-probing group; 4: its forest probes).
EXTRACTOR = "metakg.metafeatures"
VERSION = "4"
GROUPS = {"simple": SIMPLE, "statistical": STATISTICAL, "info-theory": INFO_THEORY,
          "landmarking": LANDMARKING, "probing": PROBING, "regime-probing": REGIME_PROBING}
#: Seconds per group before its remaining features are skipped (missing, with the reason).
BUDGETS = {"simple": 1.0, "statistical": 2.0, "info-theory": 2.0, "landmarking": 2.0,
           "probing": 3.0, "regime-probing": 4.0}
#: Groups whose features are small model fits, computed ``PROBE_WORKERS`` at a time.
_PARALLEL = ("probing", "regime-probing")
#: Probes fitted at a time (threads): the fits release the GIL, the values do not depend on it.
PROBE_WORKERS = max(1, min(2, os.cpu_count() or 1))
#: Rows kept for the statistical and information-theoretic groups.
STAT_ROWS = 20000


@dataclass
class MetaFeatures:
    """Meta-feature values of one table.

    Attributes:
        values: name → value, ``None`` when it could not be computed.
        reasons: name → why it is missing.
        groups: name → group.
        timings: group → seconds.
        task_type: the task type used.
    """

    values: dict[str, float | None] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    task_type: str = "classification"

    def to_json(self) -> dict[str, object]:
        """The CLI/API JSON form: ``{"metafeatures": ..., "missing": ..., "timings": ...}``."""
        return {"metafeatures": self.values, "missing": self.reasons, "timings": self.timings,
                "task_type": self.task_type, "extractor": EXTRACTOR, "version": VERSION}


def feature_names(groups: tuple[str, ...] = tuple(GROUPS)) -> list[str]:
    """Every meta-feature name of the groups, in order."""
    return [n for g in groups for f in GROUPS[g] for n in f.names]


def compute_metafeatures(
    df: pd.DataFrame,
    target: str,
    *,
    task_type: str | None = None,
    groups: tuple[str, ...] = tuple(GROUPS),
) -> MetaFeatures:
    """Characterise a table.

    Args:
        df: the table, target included.
        target: the target column.
        task_type: classification or regression (inferred from the target when ``None``).
        groups: which groups to compute (``text`` is separate: :mod:`.text`).

    Returns:
        Values (``None`` where not computable, with reasons) and per-group timings.

    Raises:
        InvalidData: the target is not a column, has no values, or a group is unknown; an
            unknown task type, or regression on a target that is not numeric.
    """
    if target not in df.columns:
        import difflib

        close = difflib.get_close_matches(str(target), [str(c) for c in df.columns], n=1)
        raise InvalidData(f"Target column {target!r} is not in the table (columns: "
                          f"{', '.join(map(str, list(df.columns)[:12]))}...)."
                          + (f" Did you mean {close[0]!r}?" if close else ""))
    if df[target].notna().sum() == 0:
        raise InvalidData(f"Target column {target!r} has no values.")
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise InvalidData(f"Unknown meta-feature group(s) {unknown}; known: {list(GROUPS)}.")
    task_type = task_type or infer_task_type(df[target])
    if task_type not in ("classification", "regression"):
        raise InvalidData(f"task_type must be 'classification' or 'regression', not {task_type!r}.")
    if task_type == "regression" and not pd.api.types.is_numeric_dtype(df[target]):
        raise InvalidData(f"Target {target!r} is not numeric, so it cannot be a regression "
                          "target; ask for classification (task_type='classification', "
                          "--task classification).")
    import time

    t0 = time.perf_counter()
    table = prepare_table(df, target, task_type)
    out = MetaFeatures(task_type=task_type)
    out.timings["prepare"] = time.perf_counter() - t0
    for g in groups:
        context = table if g in ("simple", "landmarking", "probing", "regime-probing") else table.subsample(STAT_ROWS)
        if g in _PARALLEL:
            # the probes fit single-threaded models (threadpool_limits(1) each): two at a time
            # on two cores; limited here too, so that one probe's limit ending does not lift
            # another's
            with threadpool_limits(1):
                res = run_tier(GROUPS[g], context, BUDGETS[g], workers=PROBE_WORKERS)
        else:
            res = run_tier(GROUPS[g], context, BUDGETS[g])
        out.values.update(res.values)
        out.reasons.update({k: v for k, v in res.reasons.items() if res.values.get(k) is None})
        out.groups.update({n: g for n in res.values})
        out.timings[g] = res.seconds
    return out
