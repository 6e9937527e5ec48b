"""``recommend``: ranked warm-start configurations for a table, with evidence and reasons."""

from __future__ import annotations

import difflib
import math
import numbers
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from metakg.kg.errors import InvalidData
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.measures import (
    HIGHER_IS_BETTER,
    IN_TARGET_UNITS,
    check_quality_measure,
    primary_metric,
    target_scale,
)
from metakg.kg.published import published_by_id
from metakg.kg.records import Dataset
from metakg.kg.tables import infer_task_type
from metakg.metalearner.explanations import (
    anchors,
    order_clauses,
    relative_standing,
    standings,
    table_scale,
)
from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.recommended import keep_recommendation, metafeatures_digest
from metakg.metalearner.recommender import MetaRecommender
from metakg.metalearner.recommenders import BaseRecommender, Query

__all__ = ["Evidence", "Recommendation", "RecommendationSet", "recommend",
           "recommend_for_query"]


@dataclass(frozen=True)
class Evidence:
    """A similar dataset and what the configuration scored there.

    ``score`` is the run's own score, in that dataset's units. ``score_here`` puts it on this
    table's scale: the configuration's relative standing on that dataset, ``(score −
    median) / (best − median)`` of its configurations (0 = its median, 1 = its best, floored
    at −1), placed between this table's expected median and best score, ``median +
    standing × (best − median)``; those two are the median and the best of the score
    model's expected scores of every configuration on this table, or without a score model
    the similar datasets' medians and bests, similarity-weighted (for a measure in the
    target's units, on this target's scale). ``None`` where there is no score or no scale
    (:mod:`metalearner.explanations`).
    """

    dataset_id: str
    dataset: str
    similarity: float
    score: float | None
    run_id: str | None
    score_here: float | None = None


@dataclass(frozen=True)
class Recommendation:
    """One ranked configuration.

    ``expected_score`` and ``interval`` come from the default recommender's
    :class:`~metalearner.score_model.ScoreModel` for its metrics (ROC AUC, log loss, RMSE: a
    normalised conformal interval at nominal 90%; held-out coverage and widths in
    docs/benchmarks.md); for other metrics they are the similarity-weighted mean of the
    configuration's scores on the most similar datasets and their lowest and highest. A
    measure in the target's units (RMSE, MAE) travels
    as a share of each dataset's target standard deviation, times this table's
    (:attr:`Query.target_sd`); both are ``None`` where that spread is unknown and where no
    similar dataset ran the configuration.
    """

    rank: int
    config: dict[str, Any]
    config_id: str
    family: str
    expected_score: float | None
    interval: tuple[float, float] | None
    evidence: tuple[Evidence, ...]
    reason: str


@dataclass
class RecommendationSet:
    """The answer: task, metric, ranked recommendations, similar datasets, timings.

    ``id`` names the recommendation stored in the graph (:mod:`kg.recommendations`), to
    record what happened to it (``metakg feedback ID``); it is ``None`` where it was not
    stored, and ``not_stored`` then says why.
    """

    task: dict[str, Any]
    metric: str
    recommendations: list[Recommendation]
    similar_datasets: list[Evidence] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    id: str | None = None
    not_stored: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``metakg recommend --json`` (see DESIGN.md)."""
        return {
            "id": self.id, "not_stored": self.not_stored,
            "task": self.task, "metric": self.metric,
            "higher_is_better": HIGHER_IS_BETTER[self.metric],
            "recommendations": [{
                "rank": r.rank, "config": r.config, "config_id": r.config_id,
                "family": r.family, "expected_score": r.expected_score,
                "interval": list(r.interval) if r.interval else None,
                "evidence": [asdict(e) for e in r.evidence], "reason": r.reason}
                for r in self.recommendations],
            "similar_datasets": [asdict(e) for e in self.similar_datasets],
            "timings": self.timings,
        }


#: Weight of complementarity when choosing the top k (bench/lodo.py).
DEFAULT_COVERAGE = 0.0


def _fitted(graph: KnowledgeGraph, task_type: str, metric: str) -> tuple[MetaData, BaseRecommender]:
    """The default recommender fitted on the graph's current views (cached).

    Raises:
        InvalidData: the graph has no runs of this task type scored by this metric.
    """
    from metakg.metalearner.cache import cached_recommender

    def check_runs() -> None:
        if not graph.has_runs(task_type=task_type, metric=metric):
            from metakg.kg.default_graph import no_runs_advice

            raise InvalidData(f"The graph has no {task_type} runs scored by {metric}; "
                              + no_runs_advice())

    return cached_recommender(graph, task_type, metric, MetaRecommender, before_fit=check_runs)


def _param_distance(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Largest per-parameter distance of two configurations of one family, in [0, 1]."""
    from metakg.kg.spaces import FAMILIES

    if a.get("family") != b.get("family"):
        return 1.0
    space = FAMILIES.get(a["family"])
    pa, pb = a.get("params", {}), b.get("params", {})
    worst = 0.0
    for name in set(pa) | set(pb):
        va, vb = pa.get(name), pb.get(name)
        p = space.by_name.get(name) if space else None
        if p is None or p.choices is not None or va is None or vb is None:
            worst = max(worst, 0.0 if va == vb else 1.0)
            continue
        lo, hi = p.low, p.high
        if p.log:
            va, vb, lo, hi = (math.log(max(x, 1e-12)) for x in (va, vb, lo, hi))  # type: ignore[arg-type]
        worst = max(worst, abs(va - vb) / ((hi - lo) or 1.0))  # type: ignore[operator]
    return worst


def _estimated_fit_seconds(meta: MetaData, rows: int) -> pd.Series:
    if meta.fit_time is None:
        return pd.Series(dtype=float)
    scale = pd.Series({d: rows / max(meta.rows.get(d, rows), 1) for d in meta.fit_time.index})
    return meta.fit_time.mul(scale, axis=0).median()


def recommend_for_query(
    meta: MetaData,
    query: Query,
    *,
    k: int = 5,
    families: list[str] | None = None,
    max_fit_seconds: float | None = None,
    rows: int | None = None,
    min_distance: float = 0.05,
    recommender: BaseRecommender | None = None,
    coverage: float = DEFAULT_COVERAGE,
) -> tuple[list[Recommendation], list[Evidence]]:
    """Rank configurations for an already-characterised task.

    ``coverage`` weighs complementarity in the top k (see :func:`select_top_k`; 0 = plain
    ranking); its default is chosen by ``bench/lodo.py``. Where the rank order departs from
    the expected scores, each reason says why (:func:`~metalearner.explanations.order_clauses`),
    and each evidence row carries its score on this table's scale (:class:`Evidence`).

    Args:
        meta: the graph's views for the task type and metric (:func:`load_metadata`).
        query: the new task's meta-features (and text embedding, target spread).
        k: how many configurations.
        families: only configurations of these families.
        max_fit_seconds: leave out configurations expected to fit slower on a table of
            ``rows`` rows.
        rows: the table's rows (for ``max_fit_seconds``).
        min_distance: two configurations whose parameters are closer than this (normalised)
            are not both in the top k.
        recommender: a fitted recommender (default: a :class:`MetaRecommender` fitted on
            ``meta``).
        coverage: weight of complementarity in the top k.

    Returns:
        The recommendations, best first, and the evidence: the most similar datasets.

    Raises:
        InvalidData: ``k`` below 1, a family with no runs here (a typo, or none of this metric), or filters that
            leave no configuration.
    """
    if k < 1:
        raise InvalidData(f"k must be at least 1, not {k}.")
    unknown = sorted(set(families or ()) - set(meta.families.values()))
    known = sorted(set(meta.families.values()))
    close = {u: m[0] for u in unknown if (m := difflib.get_close_matches(u, known, n=1, cutoff=0.8))}
    # a family with no runs of this metric beside others is left out; one that looks like a
    # known family misspelt is not left out in silence
    if families and (len(unknown) == len(set(families)) or close):
        hint = "".join(f" (did you mean {m!r} for {u!r}?)" for u, m in close.items())
        raise InvalidData(
            f"No configuration of famil{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(map(repr, unknown))} among the graph's runs of this metric{hint}; the "
            f"families there: {', '.join(known)}.")
    candidates = _candidates(meta, families)
    if max_fit_seconds is not None and rows is not None:
        est = _estimated_fit_seconds(meta, rows)
        candidates = pd.Index([c for c in candidates if est.get(c, 0.0) <= max_fit_seconds])
    if candidates.empty:
        raise InvalidData("No configuration passes the filters (families / time budget); "
                          "widen them.")
    from metakg.metalearner.selection import select_top_k

    rec = recommender or MetaRecommender().fit(meta)
    # a filter (families, time budget) leaves candidates to choose among, not a subset of a
    # ranking made for all of them
    scores = rec.score_among(query, candidates).fillna(-np.inf)
    neighbours = rec.neighbours(query)
    chosen = select_top_k(
        meta, scores, neighbours, k, coverage=coverage,
        too_close=lambda a, b: _param_distance(meta.configs[a], meta.configs[b]) < min_distance)
    if neighbours.empty:
        neighbours = meta.norm.index.to_series().map(lambda _: 1.0).head(5)
    similar = [Evidence(d, meta.names.get(d, d), round(float(s), 4), None, None)
               for d, s in neighbours.items()]
    model = getattr(rec, "score_model_", None)
    # every configuration's expected score: the chosen ones', and this table's scale (the
    # median and best of them) on which the evidence and the order's reasons are given
    modelled = (model.predict(query, list(meta.norm.columns))
                if model is not None and model.active_ else None)
    explain = _Explainer(meta, neighbours, query.target_sd, modelled,
                         getattr(model, "n_datasets_", 0))
    # why each one is at its place (the portfolio's reasons), where the recommender says
    why = rec.reasons(query, list(chosen), candidates) if hasattr(rec, "reasons") else {}
    recs = [explain(i + 1, c, why.get(c)) for i, c in enumerate(chosen)]
    # where the order departs from the expected scores, the reason says why, from the runs
    order = explain.order_clauses(recs)
    if any(order):
        recs = [replace(r, reason=explain.reason(r.config_id, "; ".join(
            p for p in (why.get(r.config_id), o) if p) or None)) for r, o in zip(recs, order, strict=True)]
    return recs, similar


def _memo(meta: MetaData, name: str) -> dict[Any, Any]:
    """A per-views cache of derived forms (views are not changed once built; ``replace()``
    makes new views with an empty cache)."""
    return meta.__dict__.setdefault(f"_memo_{name}", {})


def _candidates(meta: MetaData, families: list[str] | None) -> pd.Index:
    """Configurations of the allowed families, in the views' order (cached per filter).

    Imported runs (OpenML, MLflow) may use families the runner cannot build: those are
    recommended only when asked for by name.
    """
    memo = _memo(meta, "candidates")
    key = tuple(sorted(families)) if families else None
    if key not in memo:
        from metakg.kg.spaces import FAMILIES

        allowed = set(families) if families else set(FAMILIES)
        memo[key] = pd.Index([c for c in meta.norm.columns if meta.families[c] in allowed])
    return memo[key]


def _dense(meta: MetaData, which: str) -> tuple[np.ndarray, dict[str, int]]:
    """``meta.raw`` or ``meta.norm`` as a float array and column → position (cached)."""
    memo = _memo(meta, "dense")
    if which not in memo:
        frame = getattr(meta, which)
        memo[which] = (frame.to_numpy(dtype=float), {str(c): i for i, c in enumerate(frame.columns)})
    return memo[which]


def _row_positions(meta: MetaData, which: str) -> dict[str, int]:
    """Dataset id → row of ``meta.raw`` or ``meta.norm`` (cached)."""
    memo = _memo(meta, "rows")
    if which not in memo:
        memo[which] = {str(d): i for i, d in enumerate(getattr(meta, which).index)}
    return memo[which]


class _Explainer:
    """Expected score, interval, evidence and reason of a configuration, from the neighbours'
    scores (numpy rows of the neighbours, gathered once per query), or, where the metric has
    a fitted :class:`~metalearner.score_model.ScoreModel`, from its predictions
    (``modelled``: configuration → expected, low, high; learnt on ``modelled_on`` datasets)."""

    def __init__(self, meta: MetaData, neighbours: pd.Series,
                 target_sd: float | None = None, modelled: pd.DataFrame | None = None,
                 modelled_on: int = 0) -> None:
        self.meta = meta
        self.modelled = modelled
        self.modelled_on = modelled_on
        self.ids = [str(d) for d in neighbours.index]
        self.at = {d: i for i, d in enumerate(self.ids)}
        self.sims = neighbours.to_numpy(dtype=float)
        self.raw_rows = self._rows("raw")
        self.norm_rows = self._rows("norm")
        self.metric = next(iter(meta.metric.values()), "score")
        # another dataset's RMSE is in its own target's units: it travels divided by that
        # target's standard deviation and multiplied by this one's, or not at all
        self.in_target_units = self.metric in IN_TARGET_UNITS
        self.rescale = np.ones(len(self.ids))
        self.target_sd = target_sd if target_sd and np.isfinite(target_sd) and target_sd > 0 else None
        self.no_scale_why = ""
        if self.in_target_units:
            theirs = np.array([meta.target_sd.get(d, np.nan) for d in self.ids], dtype=float)
            self.rescale = (self.target_sd or np.nan) / theirs
            if self.target_sd is None:
                self.no_scale_why = "this table's target spread is unknown"
            elif np.isnan(theirs).all():
                self.no_scale_why = "the similar datasets' runs have no R² to give their targets' spread"
        self.higher = HIGHER_IS_BETTER.get(self.metric, True)
        self.scale = table_scale(meta, higher=self.higher,
                                 expected=None if modelled is None else modelled["expected"],
                                 neighbours=neighbours, rescale=self.rescale)
        ends = anchors(meta).reindex(self.ids)
        self.medians = ends["median"].to_numpy(dtype=float)
        self.bests = ends["best"].to_numpy(dtype=float)
        self.grounds: dict[str, str] = {}  # configuration -> its reason's evidence and expectation

    def _rows(self, which: str) -> np.ndarray:
        at = _row_positions(self.meta, which)
        return np.array([at.get(d, -1) for d in self.ids], dtype=np.intp)

    def _column(self, which: str, rows: np.ndarray, c: str) -> np.ndarray:
        values, position = _dense(self.meta, which)
        if c not in position:
            return np.full(len(rows), np.nan)
        col = values[:, position[c]]
        return np.where(rows >= 0, col[np.maximum(rows, 0)], np.nan)

    def _here(self, raw: np.ndarray) -> np.ndarray:
        """The neighbours' scores placed on this table's scale (NaN: no score or no scale)."""
        if self.scale is None:
            return np.full(len(raw), np.nan)
        rel = relative_standing(raw, self.medians, self.bests)
        return np.asarray(self.scale.place(rel), dtype=float)

    def order_clauses(self, recs: list[Recommendation]) -> list[str | None]:
        """Per recommendation, why its rank departs from the expected scores (``None``: it
        does not), read from its and the others' runs on the most similar datasets
        (:func:`~metalearner.explanations.order_clauses`)."""
        rel = standings(self.meta, self.ids, [r.config_id for r in recs])
        names = [self.meta.names.get(d, d) for d in self.ids]
        return order_clauses([r.expected_score for r in recs], rel, names,
                             higher=self.higher, scale=self.scale)

    def __call__(self, rank: int, c: str, why: str | None = None) -> Recommendation:
        meta, ids = self.meta, self.ids
        raw = self._column("raw", self.raw_rows, c)
        on_this_scale = raw * self.rescale  # unchanged unless in the target's units
        known = ~np.isnan(on_this_scale)
        vals, w = on_this_scale[known], self.sims[known]
        expected = interval = None
        learnt = (self.modelled is not None and c in self.modelled.index
                  and bool(np.isfinite(self.modelled.loc[c]).all()))
        if learnt:
            row = self.modelled.loc[c]
            expected, interval = float(row["expected"]), (float(row["low"]), float(row["high"]))
        elif len(vals):
            expected = float(np.average(vals, weights=w + 1e-12))
            interval = (float(vals.min()), float(vals.max()))
        norm = self._column("norm", self.norm_rows, c)
        strong = [d for d, v in zip(ids, norm, strict=True) if v >= 0.95]
        # the runs that back the reason first (where it was best or nearly), then the nearest
        shown = (strong + [d for d in ids if d not in strong])[:3]
        at = self.at
        here = self._here(raw)
        evidence = tuple(
            Evidence(d, meta.names.get(d, d), round(float(self.sims[at[d]]), 4),
                     None if np.isnan(raw[at[d]]) else float(raw[at[d]]), meta.run_ids.get((d, c)),
                     None if np.isnan(here[at[d]]) else float(here[at[d]]))
            for d in shown)
        top = [meta.names.get(d, d) for d in strong]
        where = (f"best or within 5% of the best on {len(top)} of the {len(ids)} most "
                 f"similar datasets ({', '.join(top[:3])})" if top else
                 "ranks well on datasets similar to this one ("
                 + ", ".join(meta.names.get(d, d) for d in ids[:3]) + ")")
        if learnt:
            scaled = (f" as shares of their targets' standard deviations (this one's "
                      f"{self.target_sd:.4g})" if self.in_target_units and self.target_sd else "")
            exp = (f"; expected {self.metric} {expected:.4g} (interval {interval[0]:.4g}–"
                   f"{interval[1]:.4g}), learnt from this table's meta-features and the "
                   f"{self.metric} of {self.modelled_on} datasets' runs{scaled}")
        elif expected is not None and interval:
            scaled = (f"; scaled to this target's standard deviation, {self.target_sd:.4g}"
                      if self.in_target_units else "")
            exp = (f"; expected {self.metric} {expected:.4g} (range {interval[0]:.4g}–"
                   f"{interval[1]:.4g}{scaled})")
        elif self.no_scale_why and (~np.isnan(raw)).any():  # the evidence shows their own RMSEs
            exp = (f"; no expected {self.metric}: it is in each target's own units and "
                   f"{self.no_scale_why}")
        else:
            exp = ""
        self.grounds[c] = f"{where}{exp}"
        return Recommendation(rank=rank, config=meta.configs[c], config_id=c,
                              family=meta.families[c], expected_score=expected, interval=interval,
                              evidence=evidence, reason=self.reason(c, why))

    def reason(self, c: str, why: str | None) -> str:
        """The reason of configuration ``c`` (already explained): whose it is where it was
        published (a strong default), then ``why`` it is at its place, then its evidence."""
        published = published_by_id().get(c)
        origin = f"{published.name}, published as {published.source.title}; " if published else ""
        return f"{self.meta.families[c]}: {origin}{why + '; ' if why else ''}{self.grounds[c]}."


def _groups_read_for(metric: str) -> tuple[str, ...]:
    """The meta-feature groups the default recommender reads for ``metric``, from its policy:
    the probes (about 0.3-1 s a table) only where the ranker reads them (as table features or
    as family probe gaps) or the regime contrasts need them, and the regime probes (about
    0.5-2 s) only where the ranker reads the regime contrasts."""
    from metakg.metalearner.metafeatures import GROUPS
    from metakg.metalearner.policy import load_policy

    policy = load_policy(metric)
    features = set(policy.features)
    regimes = "regimes" in features
    # the portfolio's probe-informed cover reads the probes too
    probed = (regimes or bool(features & {"probes", "family_probe_gaps"})
              or policy.portfolio.cover_within is not None)
    skip = {g for g, read in (("probing", probed), ("regime-probing", regimes)) if not read}
    return tuple(g for g in GROUPS if g not in skip)


def recommend(
    df: pd.DataFrame,
    *,
    target: str,
    k: int = 5,
    task_type: str | None = None,
    metric: str | None = None,
    families: list[str] | None = None,
    max_fit_seconds: float | None = None,
    graph: KnowledgeGraph | None = None,
    name: str = "new table",
    description: str = "",
    text: bool = False,
    record: bool = False,
    principal: str | None = None,
) -> RecommendationSet:
    """Recommend ``k`` warm-start configurations for a table.

    Args:
        df: the table (target included).
        target: the target column.
        k: how many configurations.
        task_type: classification or regression (inferred from the target if ``None``; a
            0/1 column is taken as classification).
        metric: what to optimise (default: ROC AUC binary, log loss multiclass, RMSE).
        families: only these model families (the first choice and the portfolio are then made
            among their configurations: what a tuner of one family should start from).
        max_fit_seconds: skip configurations expected to fit slower than this on this table.
        graph: the knowledge graph (default: the user's, seeded on first use).
        name, description: used for the text similarity signal.
        text: compute the text embedding of the description when the model is installed
            (default: no; the default recommender does not read it, and loading the model
            costs seconds per process).
        record: store the recommendation in the graph (when it accepts writes) and return
            its id, to record what happened to it (see :mod:`kg.recommendations`).
        principal: who asked (stored with the recommendation).

    Returns:
        A :class:`RecommendationSet` (``.to_json()`` gives the CLI/API contract).

    Raises:
        TypeError: an argument of the wrong type (``df`` not a DataFrame, ``k`` not a whole
            number, ``graph`` not a :class:`KnowledgeGraph`).
        InvalidData: bad target, task type, metric, ``k`` or filters; repeated column names.
    """
    from metakg.kg.default_graph import open_graph
    from metakg.metalearner.metafeatures import compute_metafeatures

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    families = _check_request(df, target, k, families, graph, name)
    task_type = task_type or infer_task_type(df[target])
    if task_type not in ("classification", "regression"):
        raise InvalidData(f"task must be 'classification' or 'regression', not {task_type!r}.")
    y = df[target].dropna()
    if y.empty:
        raise InvalidData(f"Target {target!r} has no values (every row is missing); choose the "
                          "column to predict (target= in Python, --target on the CLI).")
    if task_type == "regression" and not pd.api.types.is_numeric_dtype(y):
        raise InvalidData(f"Target {target!r} is not numeric, so it cannot be a regression "
                          "target; ask for classification (task_type='classification' in "
                          "Python, --task classification on the CLI).")
    n_classes = int(y.nunique()) if task_type == "classification" else None
    if n_classes is not None and n_classes < 2:
        raise InvalidData(f"Target {target!r} has a single class; nothing to learn.")
    if n_classes is not None and n_classes > max(20, len(y) // 2):
        # fewer than two rows a class: an id or a continuous column, on which the probes
        # and landmarks would fit one class per row for minutes
        numeric = pd.api.types.is_numeric_dtype(y)
        raise InvalidData(
            f"Target {target!r} has {n_classes} classes in {len(y)} rows (fewer than two rows "
            "a class): an id column? Choose the column to predict"
            + (", or ask for regression (task_type='regression' in Python, --task regression "
               "on the CLI)." if numeric else "."))
    metric = check_quality_measure(metric or primary_metric(task_type, n_classes), task_type)
    if max_fit_seconds is not None and not max_fit_seconds > 0:
        raise InvalidData(f"max_fit_seconds must be above 0, not {max_fit_seconds}.")
    graph = graph or open_graph()
    timings["load"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    mf = compute_metafeatures(df, target, task_type=task_type, groups=_groups_read_for(metric))
    emb = None
    if text:
        from metakg.metalearner.metafeatures import describe, embed_texts, model_available

        if model_available():
            emb = embed_texts([describe(name, description, [c for c in df.columns if c != target],
                                        target)])[0]
    timings["metafeatures"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    meta, rec = _fitted(graph, task_type, metric)
    sd = target_scale(y) if task_type == "regression" else None
    recs, similar = recommend_for_query(meta, Query(mf.values, emb, target_sd=sd), k=k,
                                        families=families,
                                        max_fit_seconds=max_fit_seconds, rows=len(df),
                                        recommender=rec)
    timings["ranking"] = time.perf_counter() - t2
    task = {"target": target, "task_type": task_type, "rows": len(df),
            "columns": int(df.shape[1]), "n_classes": n_classes}
    from metakg.kg.identity import table_hash

    result = RecommendationSet(task, metric, recs, similar, timings)
    return keep_recommendation(graph, result, meta, record=record, principal=principal,
                               target=target, digest=lambda: table_hash(df), families=families)


def _check_request(df: object, target: object, k: object, families: object,
                   graph: object, name: str) -> list[str] | None:
    """The arguments of :func:`recommend` checked before any work, with what to pass instead.

    Returns:
        ``families`` as a list (one family may be given as a string).

    Raises:
        TypeError: an argument of the wrong type.
        InvalidData: a target that is not a column, repeated column names, ``k`` below 1.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame (the table, target included), not "
                        f"{type(df).__name__}; e.g. metakg.kg.read_table(path).")
    if not isinstance(target, str):
        raise TypeError(f"target must be the name of the column to predict, not "
                        f"{type(target).__name__}.")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be a whole number of configurations, not {k!r}.")
    if k < 1:
        raise InvalidData(f"k must be at least 1, not {k}.")
    if graph is not None and not isinstance(graph, KnowledgeGraph):
        raise TypeError(f"graph must be a KnowledgeGraph (e.g. metakg.kg.default_graph.open_graph(path)), not "
                        f"{type(graph).__name__}.")
    repeated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if repeated:
        raise InvalidData(f"{name}: column name{'s' if len(repeated) > 1 else ''} "
                          f"{', '.join(map(repr, repeated))} repeated; give each column its own "
                          "name (df.columns = [...]) before asking.")
    if target not in df.columns:
        from metakg.kg.graph import missing_column_message

        raise InvalidData(missing_column_message(name, target, df.columns))
    if families is None or isinstance(families, str):
        return None if families is None else [families]
    names = list(families)  # type: ignore[call-overload]  # once: a generator is read once
    if not all(isinstance(f, str) for f in names):
        raise TypeError(f"families must be family names (strings), not {names!r}.")
    return names


def recommend_for_dataset(
    graph: KnowledgeGraph, dataset: str, *, task_type: str | None = None,
    n_classes: int | None = None, k: int = 5, metric: str | None = None,
    families: list[str] | None = None, record: bool = False, principal: str | None = None,
) -> RecommendationSet:
    """Recommend for a dataset already in the graph (its stored meta-features and text).

    ``record`` and ``principal``: as in :func:`recommend` (outcomes reported on this
    recommendation become runs on the dataset's task).

    Raises:
        DatasetNotFound: unknown dataset.
        InvalidData: no meta-features stored, or no task type known.
    """
    from metakg.metalearner.characterise import dataset_embedding

    t0 = time.perf_counter()
    ds = graph.get_dataset(dataset, schema=False)  # its columns are not needed here
    tasks = graph.tasks(ds.id)
    task_type = task_type or (tasks[0].task_type if tasks else None)
    if task_type is None:
        raise InvalidData(f"Say whether {ds.name!r} is a classification or regression task.")
    values: dict[str, float | None] | None = None
    if n_classes is None and task_type == "classification":
        known = [t.n_classes for t in tasks if t.task_type == task_type and t.n_classes]
        if known:
            n_classes = int(known[0])
        else:
            values = _stored_metafeatures(graph, ds)
            n_classes = int(values.get("nr_class") or 2)
    metric = check_quality_measure(metric or primary_metric(task_type, n_classes), task_type)
    meta, rec = _fitted(graph, task_type, metric)
    if values is None:
        values = _view_metafeatures(meta, ds.id) or _stored_metafeatures(graph, ds)
    emb = meta.embeddings.get(ds.id) if ds.id in meta.embeddings else dataset_embedding(graph, ds.id)
    # its own runs' spread, or (no runs yet) the one its task recorded from the table
    sd = meta.target_sd.get(ds.id) or next(
        (t.target_sd for t in tasks if t.task_type == task_type and t.target_sd), None)
    query = Query(values, emb, dataset_id=ds.id, target_sd=sd)
    recs, similar = recommend_for_query(meta, query, k=k,
                                        families=families, rows=ds.rows, recommender=rec)
    task = {"dataset": ds.id, "name": ds.name, "task_type": task_type, "rows": ds.rows,
            "columns": ds.columns, "n_classes": n_classes}
    result = RecommendationSet(task, metric, recs, similar, {"ranking": time.perf_counter() - t0})
    return keep_recommendation(graph, result, meta, record=record, principal=principal,
                               dataset_id=ds.id, families=families)


def _stored_metafeatures(graph: KnowledgeGraph, ds: Dataset) -> dict[str, float | None]:
    """A dataset's meta-features as stored in the graph.

    Raises:
        InvalidData: it has none of the current extractor.
    """
    from metakg.metalearner.metafeatures import EXTRACTOR

    values = graph.metafeatures(ds.id, extractor=EXTRACTOR)
    if not values:
        raise InvalidData(f"Dataset {ds.name!r} has no meta-features; upload its table or "
                          "register it with meta-features.")
    return values


def _view_metafeatures(meta: MetaData, dataset_id: str) -> dict[str, float | None] | None:
    """A dataset's meta-features from the fitted views, which were read from the graph with
    the same extractor when they were built (``None``: not among them). Reading them there
    saves a store query per recommendation."""
    if dataset_id not in meta.metafeatures.index:
        return None
    row = meta.metafeatures.loc[dataset_id]
    values = {str(k): (None if pd.isna(v) else float(v)) for k, v in row.items()}
    return values if any(v is not None for v in values.values()) else None


def recommend_from_metafeatures(
    graph: KnowledgeGraph, metafeatures: dict[str, float | None], *, task_type: str,
    n_classes: int | None = None, k: int = 5, metric: str | None = None,
    families: list[str] | None = None, target_sd: float | None = None,
    record: bool = False, principal: str | None = None,
) -> RecommendationSet:
    """Recommend from meta-features alone (e.g. sent by a client that keeps its data).

    Args:
        graph: the knowledge graph.
        metafeatures: meta-feature name → value (:func:`compute_metafeatures` names).
        task_type, n_classes, k, metric, families: as in :func:`recommend`.
        target_sd: a regression target's standard deviation (without it, an RMSE has no
            expected value: the similar datasets' are in their own targets' units).
        record, principal: as in :func:`recommend` (the query is stored as a hash of the
            meta-features).

    Returns:
        A :class:`RecommendationSet`.

    Raises:
        InvalidData: unknown task type or metric, no runs to learn from, or no value of a
            meta-feature the graph's datasets have (a value that is not finite is missing).
    """
    t0 = time.perf_counter()
    if task_type not in ("classification", "regression"):
        raise InvalidData(f"task_type must be classification or regression, not {task_type!r}.")
    metric = check_quality_measure(metric or primary_metric(task_type, n_classes), task_type)
    meta, rec = _fitted(graph, task_type, metric)
    metafeatures = _known_metafeatures(metafeatures, meta.metafeatures.columns)
    rows = metafeatures.get("nr_inst")
    recs, similar = recommend_for_query(meta, Query(dict(metafeatures), target_sd=target_sd),
                                        k=k, families=families,
                                        rows=int(rows) if rows else None, recommender=rec)
    result = RecommendationSet({"task_type": task_type, "n_classes": n_classes}, metric, recs,
                               similar, {"ranking": time.perf_counter() - t0})
    doc = {"metafeatures": metafeatures, "task_type": task_type, "n_classes": n_classes,
           "target_sd": target_sd}
    return keep_recommendation(graph, result, meta, record=record, principal=principal,
                               digest=lambda: metafeatures_digest(doc), families=families)


def _known_metafeatures(metafeatures: dict[str, float | None], known: pd.Index
                        ) -> dict[str, float | None]:
    """The meta-features as the recommender reads them: a value that is not finite is
    missing (as :func:`register_metafeatures` stores it).

    Raises:
        InvalidData: a value that is not a number; or no value of a meta-feature the graph's
            datasets have: a recommendation from it would be the graph's average, not this
            table's.
    """
    bad = {k: v for k, v in metafeatures.items()
           if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real))}
    if bad:
        shown = ", ".join(f"{k}={v!r}" for k, v in list(bad.items())[:5])
        raise InvalidData(f"Meta-features are numbers; not {shown}.")
    clean = {str(k): (None if v is None or not math.isfinite(float(v)) else float(v))
             for k, v in metafeatures.items()}
    if not any(v is not None for k, v in clean.items() if k in known):
        import difflib

        unknown = [k for k in clean if k not in known][:5]
        close = {k: difflib.get_close_matches(k, [str(c) for c in known], n=1) for k in unknown}
        hints = "; ".join(f"{k!r}: did you mean {c[0]!r}?" for k, c in close.items() if c)
        raise InvalidData(
            "None of the meta-features given has a value the graph's datasets can be compared "
            f"on (given: {', '.join(map(repr, list(clean)[:8])) or 'none'}"
            f"{'; ' + hints if hints else ''}). Send the names compute_metafeatures gives "
            f"(e.g. {', '.join(map(repr, [str(c) for c in known[:5]]))}), with finite values.")
    return clean
