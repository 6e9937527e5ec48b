"""What a warm start can carry besides evaluated configurations: a transferred search space,
and configurations proposed by the ranker over a family's continuous space.

* :func:`transferred_space`: the bounding box of the configurations that did best on the
  tables most like the new one (Perrone et al. 2019, "Learning search spaces for Bayesian
  optimization"; Syne Tune's ``BoundingBox``), narrowed within the family's space, to hand a
  tuner beside the points (``optuna_distributions(box)``, ``flaml_learner(box)``, ...).
  :func:`best_on_similar` picks those configurations from the training views.
* :func:`ranked_configurations`: many configurations drawn from a family's space (or from a
  transferred box), scored for the query by the default recommender's ranker, and a diverse
  top n taken; :func:`score_configurations` scores any configuration, evaluated or not.

The ranker reads a configuration through
:func:`~metalearner.config_features.config_features` (family indicator, then each set
parameter, log scale where the space says so), so it can score a configuration nobody ran.
What it knows of a parameter is what the evaluated configurations of the family teach it:
with a dozen configurations per family, its predictions between them are a guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metakg.metalearner.warmstart.space import Dim, TunerSpace, WarmStartError, _items, family_space, require_space

__all__ = ["best_on_similar", "ranked_configurations", "sample_configurations",
           "score_configurations", "transferred_space"]


def _configs_of(family: str, configs: Any) -> list[dict[str, Any]]:
    """The configurations of ``family`` among recommendations or configuration dicts."""
    return [dict(c) for c, _, _ in _items(configs) if c.get("family") == family]


def transferred_space(family: str, configs: Any, *, include: Any = (),
                      within: TunerSpace | None = None, margin: float = 0.0,
                      min_width: float = 0.0) -> TunerSpace:
    """The bounding box of ``configs`` within a family's space (Perrone et al. 2019).

    Per searched parameter: from the least to the greatest value the configurations set,
    widened by ``margin`` times the box's width on the parameter's scale (log where the space
    searches on a log scale), and clipped to ``within``. A choice keeps the choices some
    configuration makes (in ``within``'s order). A parameter no configuration sets keeps its
    whole range; whether an optional parameter is set stays the tuner's choice.

    Args:
        family: a family of :data:`metakg.kg.spaces.FAMILIES`.
        configs: the configurations that define the box, typically the best of the family on
            the most similar training tables (:func:`best_on_similar`); recommendations or
            ``{"family", "params"}`` dicts; those of other families are ignored.
        include: configurations the box must also hold (the points enqueued beside it), so
            that the tuner can evaluate them in the narrowed space.
        within: the space to narrow (``None``: :func:`family_space` of the family widened to
            hold ``configs`` and ``include``). A value outside it is clipped to it.
        margin: relative widening of each numeric range (0: the tight box).
        min_width: least width of each numeric range, as a share of ``within``'s range on
            its scale (0: none). The tight box of configurations that agree on a parameter is
            a single value, which a tuner then never moves; a least width keeps some room
            around it (centred on the box, shifted to stay inside ``within``).

    Returns:
        A :class:`TunerSpace` of the family, each range inside ``within``'s.

    Raises:
        WarmStartError: no configuration of ``family`` in ``configs``, a negative or
            non-finite ``margin``, a ``min_width`` outside [0, 1], or a ``within`` of another
            family.
        ConfigurationError: unknown family, or a configuration that is not valid.
    """
    if not math.isfinite(margin) or margin < 0:
        raise WarmStartError(f"margin must be a finite number >= 0, got {margin!r}")
    if not 0.0 <= min_width <= 1.0:
        raise WarmStartError(f"min_width must be in [0, 1], got {min_width!r}")
    best = _configs_of(family, configs)
    if not best:
        raise WarmStartError(f"no {family} configuration to transfer a search space from")
    held = best + _configs_of(family, include)
    base = within if within is not None else family_space(family, held)
    if base.family != family:
        raise WarmStartError(f"a {base.family} space cannot hold a {family} search space")
    dims = []
    for d in base.dims:
        values = [c["params"][d.name] for c in held if d.name in (c.get("params") or {})]
        if not values:
            dims.append(d)
            continue
        if d.kind == "choice":
            seen = [c for c in (d.choices or ()) if any(type(c) is type(v) and c == v for v in values)]
            choices = tuple(seen) or d.choices
            init = d.init if d.init in (choices or ()) else (choices or (None,))[0]
            dims.append(Dim(d.name, "choice", choices=choices, optional=d.optional, init=init))
            continue
        assert d.low is not None and d.high is not None
        log = d.log and min(values) > 0 and d.low > 0
        to, back = ((math.log, math.exp) if log else (float, float))
        lo, hi = to(min(values)), to(max(values))
        lo, hi = lo - margin * (hi - lo), hi + margin * (hi - lo)
        floor, ceiling = to(d.low), to(d.high)
        short = min_width * (ceiling - floor) - (hi - lo)
        if short > 0:  # widen around the middle, shifted back inside the space
            lo, hi = lo - short / 2, hi + short / 2
            shift = max(0.0, floor - lo) - max(0.0, hi - ceiling)
            lo, hi = lo + shift, hi + shift
        # the values themselves where not widened (exp(log(x)) may come back a hair off)
        low = max(min(values) if lo >= to(min(values)) else min(back(lo), min(values)), d.low)
        high = min(max(values) if hi <= to(max(values)) else max(back(hi), max(values)), d.high)
        low, high = min(low, d.high), max(high, d.low)  # clipped values: still a range
        if d.kind == "int":
            low, high = math.floor(low + 1e-9), math.ceil(high - 1e-9)
        init = min(max(values[0], low), high)
        dims.append(Dim(d.name, d.kind, low, high, log=d.log and low > 0, optional=d.optional,
                        init=init))
    return TunerSpace(family, tuple(dims))


def best_on_similar(meta: Any, similar: Mapping[str, float] | pd.Series, family: str, *,
                    k: int = 10) -> list[dict[str, Any]]:
    """The best configuration of ``family`` on each of the ``k`` most similar training tables.

    Args:
        meta: the training views (:class:`~metalearner.knowledge.MetaData`): ``norm``
            (tables × configurations, higher is better) and ``configs``.
        similar: training table id → similarity (higher: more alike), e.g. the recommender's
            ``neighbours(query)``.
        family: the family whose configurations are wanted.
        k: how many of the most similar tables (those with no score of the family skipped).

    Returns:
        One configuration per table, most similar table first (a configuration best on two
        tables appears twice).

    Raises:
        WarmStartError: ``k`` below 1, or no similar table has a score of the family.
    """
    if k < 1:
        raise WarmStartError(f"k must be at least 1, got {k!r}")
    columns = [c for c in meta.norm.columns if meta.configs.get(c, {}).get("family") == family]
    norm = meta.norm[columns]
    out = []
    for table in pd.Series(similar, dtype=float).sort_values(ascending=False, kind="stable").index:
        if table not in norm.index:
            continue
        row = norm.loc[table].dropna()
        if row.empty:
            continue
        out.append(dict(meta.configs[row.idxmax()]))
        if len(out) == k:
            break
    if not out:
        raise WarmStartError(f"no similar table has a score of a {family} configuration")
    return out


def sample_configurations(space: TunerSpace, n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` configurations drawn uniformly from a space (on each parameter's scale; an
    optional parameter set with probability 1/2).

    Args:
        space: a :class:`TunerSpace` (:func:`family_space`, :func:`transferred_space`).
        n: how many.
        seed: the random generator's seed.

    Returns:
        ``{"family", "params"}`` dicts.

    Raises:
        WarmStartError: ``n`` below 0.
        TypeError: ``space`` is not metakg's space of a family (:func:`family_space`).
    """
    require_space(space, "sample_configurations")
    if n < 0:
        raise WarmStartError(f"n must be >= 0, got {n!r}")
    rng = np.random.default_rng(seed)
    columns: dict[str, list[Any]] = {}
    for d in space.dims:
        if d.kind == "choice":
            picks = rng.integers(0, len(d.choices or ()), size=n)
            columns[d.name] = [(d.choices or ())[i] for i in picks]
            continue
        assert d.low is not None and d.high is not None
        lo, hi = float(d.low), float(d.high)
        if d.kind == "int":  # each integer of the range about equally likely (on its scale)
            lo, hi = lo - 0.5, hi + 0.5
        v = (np.exp(rng.uniform(math.log(lo), math.log(hi), size=n)) if d.log and lo > 0
             else rng.uniform(lo, hi, size=n))
        if d.kind == "int":
            v = np.clip(np.rint(v), d.low, d.high).astype(int)
        columns[d.name] = v.tolist()
    flags = {d.name: rng.random(n) < 0.5 for d in space.dims if d.optional}
    out = []
    for i in range(n):
        params = {name: values[i] for name, values in columns.items()
                  if name not in flags or flags[name][i]}
        out.append({"family": space.family, "params": params})
    return out


def score_configurations(recommender: Any, query: Any, configs: Sequence[Mapping[str, Any]]
                         ) -> np.ndarray:
    """The default recommender's predicted relative score of each configuration for the query
    (higher is better), evaluated or not: its ranker scores a tuner's draws as it scores the
    candidates (:meth:`~metalearner.recommender.MetaRecommender.score_configurations`).

    A parameter the ranker never saw set (no candidate sets it) is not read.

    Args:
        recommender: the fitted default (:class:`~metalearner.recommender.MetaRecommender`).
        query: the :class:`~metalearner.recommenders.Query` (its meta-features).
        configs: ``{"family", "params"}`` dicts.

    Returns:
        One relative score per configuration (1 = as good as the table's best).

    Raises:
        WarmStartError: the recommender is not a fitted ``MetaRecommender``.
    """
    from metakg.metalearner.recommender import MetaRecommender

    if not isinstance(recommender, MetaRecommender) or not hasattr(recommender, "ranker_"):
        raise WarmStartError(f"{type(recommender).__name__} is not a fitted MetaRecommender, "
                             "whose ranker scores configurations; fit the default recommender "
                             "on the graph's views first.")
    return recommender.score_configurations(query, list(configs))


def _distance(a: Mapping[str, Any], b: Mapping[str, Any], space: TunerSpace) -> float:
    """Largest per-parameter distance of two configurations in ``space``, in [0, 1] (each
    range on its scale; a different choice or set/unset counts 1)."""
    pa, pb = a.get("params") or {}, b.get("params") or {}
    worst = 0.0
    for d in space.dims:
        va, vb = pa.get(d.name), pb.get(d.name)
        if va is None or vb is None or d.kind == "choice":
            worst = max(worst, 0.0 if va == vb else 1.0)
            continue
        assert d.low is not None and d.high is not None
        lo, hi = d.low, d.high
        if d.log:
            va, vb, lo, hi = (math.log(max(x, 1e-12)) for x in (va, vb, lo, hi))
        worst = max(worst, min(1.0, abs(va - vb) / ((hi - lo) or 1.0)))
    return worst


def ranked_configurations(recommender: Any, query: Any, family: str, *, n: int = 5,
                          samples: int = 2000, space: TunerSpace | None = None,
                          candidates: Any = (), min_distance: float = 0.15,
                          seed: int = 0) -> list[dict[str, Any]]:
    """A diverse top ``n`` of a family's continuous space for the query, by the ranker.

    ``samples`` configurations are drawn from ``space`` (:func:`sample_configurations`),
    ``candidates`` (e.g. the family's evaluated configurations) join them, the default
    recommender's ranker scores them all (:func:`score_configurations`), and they are taken
    best first, skipping any within ``min_distance`` of one already taken (:func:`_distance`:
    largest per-parameter distance, each range of ``space`` on its scale). When too few are far
    enough apart, the best of the rest fill up.

    Args:
        recommender: the fitted default recommender (``MetaRecommender``).
        query: the :class:`~metalearner.recommenders.Query`.
        family: the family whose space is searched.
        n: how many configurations.
        samples: how many to draw.
        space: where to draw them (``None``: :func:`family_space` of the family); a
            :func:`transferred_space` draws within the box.
        candidates: configurations scored beside the draws (other families, and those
            ``space`` cannot hold, are skipped).
        min_distance: least distance, in [0, 1], between two configurations taken.
        seed: the draws' seed.

    Returns:
        ``n`` configurations (fewer when fewer distinct ones were drawn and given), best
        first.

    Raises:
        WarmStartError: ``n`` below 1, ``min_distance`` outside [0, 1], a ``space`` of another
            family, or a recommender that is not a fitted ``MetaRecommender``.
    """
    if n < 1:
        raise WarmStartError(f"n must be at least 1, got {n!r}")
    if not 0.0 <= min_distance <= 1.0:
        raise WarmStartError(f"min_distance must be in [0, 1], got {min_distance!r}")
    space = space if space is not None else family_space(family)
    if space.family != family:
        raise WarmStartError(f"a {space.family} space cannot propose {family} configurations")
    pool = sample_configurations(space, samples, seed=seed)
    for c in _configs_of(family, candidates):
        try:
            space.point(c)
        except WarmStartError:
            continue  # outside the space (a transferred box): not a point for it
        pool.append(c)
    unique: dict[str, dict[str, Any]] = {}
    for c in pool:  # a narrow box draws the same integers and choices again
        unique.setdefault(repr(sorted(c["params"].items())), c)
    pool = list(unique.values())
    scores = score_configurations(recommender, query, pool)
    order = np.argsort(-scores, kind="stable")
    chosen: list[int] = []
    for i in order:
        if all(_distance(pool[i], pool[j], space) >= min_distance for j in chosen):
            chosen.append(int(i))
            if len(chosen) == n:
                break
    for i in order:  # too few far enough apart: the best of the rest
        if len(chosen) == n:
            break
        if int(i) not in chosen:
            chosen.append(int(i))
    return [pool[i] for i in chosen]
