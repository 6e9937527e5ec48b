"""Running a tier: each feature computed in isolation, within a time budget."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Feature", "NotApplicable", "TierResult", "run_tier"]


class NotApplicable(Exception):
    """A meta-feature does not apply to this table (the message says why)."""


@dataclass(frozen=True)
class Feature:
    """A group of meta-features computed together.

    ``compute`` returns name → value (or → a string saying why there is none); it may
    raise :class:`NotApplicable` (or anything else:
    the values become missing with the error as the reason, never a crash or a silent 0).
    """

    names: tuple[str, ...]
    compute: Callable[..., dict[str, float]]


@dataclass
class TierResult:
    values: dict[str, float | None] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def run_tier(features: Iterable[Feature], context: object, budget: float) -> TierResult:
    """Compute every feature; stop when ``budget`` seconds are spent (the rest are missing)."""
    out = TierResult()
    start = time.perf_counter()
    for feat in features:
        if time.perf_counter() - start > budget:
            for n in feat.names:
                out.values[n] = None
                out.reasons[n] = f"time budget of {budget:g} s for this group was spent"
            continue
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                vals = feat.compute(context)
        except NotApplicable as exc:
            vals = {n: None for n in feat.names}
            out.reasons.update({n: str(exc) for n in feat.names})
        except Exception as exc:  # recorded as the reason; never a crash
            vals = {n: None for n in feat.names}
            out.reasons.update({n: f"{type(exc).__name__}: {exc}"[:300] for n in feat.names})
        for n in feat.names:
            v = vals.get(n)
            if isinstance(v, str):  # a feature may explain why it has no value
                out.values[n] = None
                out.reasons[n] = v
            elif v is None or not np.isfinite(v):
                out.values[n] = None
                out.reasons.setdefault(n, "undefined for this table (not a finite number)")
            else:
                out.values[n] = float(v)
    out.seconds = time.perf_counter() - start
    return out


def summary(values: np.ndarray, prefix: str) -> dict[str, float]:
    """mean, min, max, sd of finite values as ``prefix.mean`` etc.

    Raises:
        NotApplicable: no finite values.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise NotApplicable(f"no columns to summarise for {prefix}")
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return {f"{prefix}.mean": float(v.mean()), f"{prefix}.min": float(v.min()),
            f"{prefix}.max": float(v.max()), f"{prefix}.sd": sd}


def summary_names(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}.{s}" for s in ("mean", "min", "max", "sd"))
