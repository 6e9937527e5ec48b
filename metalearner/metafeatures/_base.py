"""Running a tier: each feature computed in isolation, within a time budget."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from contextlib import nullcontext
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


def _compute(feat: Feature, context: object, quiet: bool = True
             ) -> tuple[dict[str, float | None], dict[str, str]]:
    """One feature's values and reasons (missing, with the reason, on any error); warnings
    silenced here when ``quiet`` (``catch_warnings`` is process-wide, so threads leave it to
    their caller)."""
    values: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    try:
        with (warnings.catch_warnings() if quiet else nullcontext()), np.errstate(all="ignore"):
            if quiet:
                warnings.simplefilter("ignore")
            vals = feat.compute(context)
    except NotApplicable as exc:
        vals = {n: None for n in feat.names}
        reasons.update({n: str(exc) for n in feat.names})
    except Exception as exc:  # recorded as the reason; never a crash
        vals = {n: None for n in feat.names}
        reasons.update({n: f"{type(exc).__name__}: {exc}"[:300] for n in feat.names})
    for n in feat.names:
        v = vals.get(n)
        if isinstance(v, str):  # a feature may explain why it has no value
            values[n] = None
            reasons[n] = v
        elif v is None or not np.isfinite(v):
            values[n] = None
            reasons.setdefault(n, "undefined for this table (not a finite number)")
        else:
            values[n] = float(v)
    return values, reasons


def run_tier(features: Iterable[Feature], context: object, budget: float,
             workers: int = 1) -> TierResult:
    """Compute every feature; none starts once ``budget`` seconds are spent (those are
    missing, with the reason; one already running finishes).

    Args:
        features: computed in this order (started in this order with ``workers`` > 1).
        context: what each feature's ``compute`` receives.
        budget: seconds after which no feature starts.
        workers: features computed at a time, on threads (for single-threaded model fits
            that release the GIL, such as the probes; the values do not depend on it).
    """
    out = TierResult()
    start = time.perf_counter()
    spent = f"time budget of {budget:g} s for this group was spent"

    def one(feat: Feature, quiet: bool = True) -> tuple[dict[str, float | None], dict[str, str]]:
        if time.perf_counter() - start > budget:
            return dict.fromkeys(feat.names), dict.fromkeys(feat.names, spent)
        return _compute(feat, context, quiet)

    features = list(features)
    if workers > 1 and len(features) > 1:
        from concurrent.futures import ThreadPoolExecutor

        # one catch_warnings around the threads: entered and left by each of them, it would
        # restore the filters out of order and leave warnings silenced for the whole process
        with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=workers) as pool:
            warnings.simplefilter("ignore")
            results = list(pool.map(lambda feat: one(feat, quiet=False), features))
    else:
        results = [one(feat) for feat in features]
    for values, reasons in results:
        out.values.update(values)
        out.reasons.update(reasons)
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
