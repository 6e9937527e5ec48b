"""Dense views the recommenders learn from, read from the graph and cached by its version."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from metakg.kg import dataset_index
from metakg.kg.dataset_index import dataset_derivations, dataset_rows, dataset_titles, task_target_sds
from metakg.kg.derived import split_index
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.measures import HIGHER_IS_BETTER, IN_TARGET_UNITS
from metakg.kg.reliability import shrinkage
from metakg.kg.run_index import RunIndex, run_index
from metakg.kg.views import metafeature_matrix, performance_table, task_table
from metakg.metalearner.metafeatures import EXTRACTOR

__all__ = ["AUXILIARY_METRIC", "MetaData", "derived_by_later_splits", "feature_columns",
           "learning_targets", "load_metadata", "normalise_scores", "relative_scores", "scale_anchors",
           "shrink_to_prior", "target_spread", "weak_cells", "with_auxiliary"]

#: Per task type, the metric every dataset of that type is scored by: the source of auxiliary
#: datasets for a metric that only some of them have (ROC AUC: binary tasks only).
AUXILIARY_METRIC = {"classification": "log_loss", "regression": "rmse"}


def normalise_scores(raw: pd.DataFrame, higher: pd.Series, how: str = "rank") -> pd.DataFrame:
    """Per dataset (row), put scores on a common scale where 1 is the best configuration.

    Args:
        raw: datasets × configurations of raw scores (NaN where not run).
        higher: per dataset, whether higher raw scores are better.
        how: ``minmax`` (0 = the worst score, linear in between) or ``rank`` (percentile
            rank: robust to one diverging configuration, blind to how large gaps are).
            ``bench/lodo.py`` compares both.
    """
    up = higher.reindex(raw.index).fillna(True).astype(bool)
    if how == "rank":
        out = raw.copy()
        if up.any():
            out.loc[up] = raw.loc[up].rank(axis=1, pct=True, ascending=True)
        if (~up).any():
            out.loc[~up] = raw.loc[~up].rank(axis=1, pct=True, ascending=False)
        return out
    lo, hi = raw.min(axis=1), raw.max(axis=1)
    span = (hi - lo).replace(0, np.nan)
    norm = raw.sub(lo, axis=0).div(span, axis=0)
    norm.loc[~up] = 1.0 - norm.loc[~up]
    return norm.fillna(norm.where(raw.isna(), 1.0))  # constant rows: every config ties at 1


def relative_scores(meta: MetaData, *, floor: float | None = None,
                    datasets: list[str] | None = None) -> pd.DataFrame:
    """Scores relative to each dataset's median configuration: 0 = its median, 1 = its best
    (direction-aware), in units of the best-minus-median gap; the scale of the LODO table.

    Args:
        meta: the views.
        floor: clip values below this (``None``: no clipping). A diverging configuration can
            be hundreds of gaps below the median; learners want a floor such as ``-1``.
        datasets: only these rows (default: all).

    Returns:
        datasets × configurations; failed runs count as the dataset's worst score, NaN where
        a configuration was not run. A dataset whose best equals its median scores 1 throughout.
    """
    weak = weak_cells(meta)
    raw, values, (med, best) = _scale(meta, None if weak is not None else datasets)
    with np.errstate(all="ignore"):
        rel = np.where(best == med, np.where(np.isnan(values), np.nan, 1.0),
                       (values - med) / (best - med))
    out = pd.DataFrame(rel, index=raw.index, columns=raw.columns)
    if weak is not None:  # the prior needs every dataset; on the learners' scale (floor -1)
        out = shrink_to_prior(out, weak, prior_of=out.clip(lower=-1.0))
        out = out if datasets is None else out.loc[datasets]
    return out if floor is None else out.clip(lower=floor)


def shrink_to_prior(scores: pd.DataFrame, reliability: pd.DataFrame, *,
                    prior_of: pd.DataFrame | None = None,
                    noise_ratio: float | None = None) -> pd.DataFrame:
    """Move each weak cell towards its configuration's score elsewhere.

    ``b·score + (1 − b)·prior``, the prior being the configuration's mean score over the
    *other* datasets, weighted by their cells' reliability ``w``, and ``b`` the empirical-Bayes
    factor of :func:`kg.reliability.shrinkage`, ``w (1 + κ) / (w + κ)``: a hand-logged single
    score on a 3-fold task (``w = 0.5 × 1/3``) keeps about half of its distance from the
    prior, a cell of reliability 1 is returned unchanged.

    Args:
        scores: datasets × configurations (NaN: not run).
        reliability: the same shape (reindexed; missing cells count as 1), values in (0, 1].
        prior_of: the scores the prior is the mean of (default: ``scores``), e.g. clipped.
        noise_ratio: κ (``None``: :data:`kg.reliability.NOISE_RATIO`; ``inf``: ``b = w``).

    Returns:
        A copy of ``scores``; a weak cell whose configuration has no score on another
        dataset keeps its own.
    """
    rho = reliability.reindex(index=scores.index, columns=scores.columns).fillna(1.0)
    rho = rho.clip(lower=0.0, upper=1.0).to_numpy(dtype=float)
    values = scores.to_numpy(dtype=float)
    base = (scores if prior_of is None else prior_of).to_numpy(dtype=float)
    seen = ~np.isnan(base)
    w = np.where(seen, rho, 0.0)
    wv = np.where(seen, rho * np.nan_to_num(base), 0.0)
    with np.errstate(all="ignore"):  # leave-one-dataset-out sums per configuration
        prior = (wv.sum(axis=0)[None, :] - wv) / (w.sum(axis=0)[None, :] - w)
    prior = np.where(np.isfinite(prior), prior, values)
    b = shrinkage(rho, noise_ratio)
    shrunk = np.where(rho < 1.0, b * values + (1.0 - b) * prior, values)
    return pd.DataFrame(shrunk, index=scores.index, columns=scores.columns)


def learning_targets(meta: MetaData, *, floor: float | None = -1.0
                     ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """What a learner of relative scores fits on: each cell's own relative score, and each
    cell's row weight.

    A weak cell's score shrunk towards its configuration's mean elsewhere
    (:func:`relative_scores`) is the right *estimate* of the cell, but a biased *target*: a
    learner fitted on many shrunk cells learns that configurations barely differ. A learner
    takes the cell's own score instead, weighted by the empirical-Bayes factor of its
    reliability, ``w (1 + κ) / (w + κ)`` (:func:`kg.reliability.shrinkage`): on a 3-fold task
    a single hand-logged fold weighs about 0.5, a recommendation's outcome 0.73, a run of the
    seed protocol 1 (decision 0012).

    Args:
        meta: the views.
        floor: clip relative scores below this (``None``: no clipping).

    Returns:
        (datasets × configurations of relative scores, the same of row weights), the weights
        ``None`` when no cell is weak (then the scores are :func:`relative_scores`' own).
    """
    weak = weak_cells(meta)
    if weak is None:
        return relative_scores(meta, floor=floor), None
    own = relative_scores(replace(meta, reliability=None), floor=floor)
    rho = weak.reindex(index=own.index, columns=own.columns).fillna(1.0)
    weights = pd.DataFrame(shrinkage(rho.to_numpy(dtype=float)), index=own.index,
                           columns=own.columns)
    return own, weights


def weak_cells(meta: MetaData) -> pd.DataFrame | None:
    """The cells' reliabilities when some run is weak (a cell below 1).

    Args:
        meta: the views.

    Returns:
        datasets × configurations reliabilities in (0, 1] (NaN: not run), or ``None`` when
        no cell is below 1 (the seed graph).
    """
    rel = meta.reliability
    if rel is None:
        return None
    rel = rel.reindex(index=meta.raw.index, columns=meta.raw.columns)
    return rel if bool((rel < 1.0).to_numpy().any()) else None


def scale_anchors(meta: MetaData, *, datasets: list[str] | None = None) -> pd.DataFrame:
    """Per dataset, the raw scores that :func:`relative_scores` maps to 0 and 1.

    Use it to put an outside score (a baseline not in the matrix) on the same scale:
    ``(score - median) / (best - median)``.

    Args:
        meta: the views.
        datasets: only these rows (default: all).

    Returns:
        datasets × (``median``, ``best``), failed runs counted as in :func:`relative_scores`.
    """
    raw, _, (med, best) = _scale(meta, datasets)
    return pd.DataFrame({"median": med[:, 0], "best": best[:, 0]}, index=raw.index)


def _scale(meta: MetaData, datasets: list[str] | None
           ) -> tuple[pd.DataFrame, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Raw rows, their values with failed runs as the row's worst score, and each row's
    (median, best) as column vectors."""
    raw = meta.raw if datasets is None else meta.raw.loc[datasets]
    up = pd.Series(meta.higher).reindex(raw.index).fillna(True).astype(bool).to_numpy()
    failed = raw.isna() & (meta.norm.reindex_like(raw) == 0)
    worst = np.where(up, raw.min(axis=1), raw.max(axis=1))[:, None]
    values = np.where(failed.to_numpy(), worst, raw.to_numpy(dtype=float))
    with np.errstate(all="ignore"):
        best = np.where(up, np.nanmax(values, axis=1), np.nanmin(values, axis=1))[:, None]
        med = np.nanmedian(values, axis=1)[:, None]
    return raw, values, (med, best)


@dataclass
class MetaData:
    """What recommenders fit on: one task type, one metric family.

    Attributes:
        datasets: dataset ids (rows).
        names: dataset id → name.
        raw: datasets × configurations of raw mean scores (NaN: not run; failed runs count
            as the dataset's worst score in ``norm``).
        norm: the same, normalised per dataset (1 best, 0 worst).
        metric: dataset id → metric of its scores.
        higher: dataset id → whether higher is better.
        configs: configuration id → configuration (dict).
        families: configuration id → family.
        metafeatures: datasets × meta-features (NaN where missing).
        embeddings: dataset id → text embedding.
        rows: dataset id → number of rows.
        fit_time: datasets × configurations of mean fit seconds.
        run_ids: (dataset id, configuration id) → run id, as evidence.
        auxiliary: other datasets of the same task type, scored by another metric (none of
            ``datasets``): more evidence of which configurations complement each other, for
            recommenders that only use scores relative to each dataset's own median and best
            (see :func:`with_auxiliary`). ``None``: none.
        derived_from: derived dataset id → id of the dataset it was derived from
            (``prov:wasDerivedFrom``, e.g. the binary tasks of ``metakg seed build
            --derived-binary``): training data, never held out on its own, and left out
            together with its source.
        target_sd: dataset id → its target's standard deviation, as its task records it
            (``mkg:targetSd``) or else read from its regression runs (:func:`target_spread`);
            only when the scores are in the target's units (RMSE, MAE), to put one dataset's
            score on another's scale.
        reliability: datasets × configurations of each cell's reliability in (0, 1]
            (:mod:`kg.reliability`: the sum of its runs' weights, at most 1; NaN or missing
            cells count as 1). ``norm`` and :func:`relative_scores` already shrink a weak
            cell towards its configuration's score elsewhere (:func:`shrink_to_prior`);
            ``raw`` is as measured. ``None``: every cell is of the seed protocol (1).
    """

    task_type: str
    datasets: list[str]
    names: dict[str, str]
    raw: pd.DataFrame
    norm: pd.DataFrame
    metric: dict[str, str]
    higher: dict[str, bool]
    configs: dict[str, dict[str, Any]]
    families: dict[str, str]
    metafeatures: pd.DataFrame
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    fit_time: pd.DataFrame | None = None
    run_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    auxiliary: MetaData | None = None
    derived_from: dict[str, str] = field(default_factory=dict)
    target_sd: dict[str, float] = field(default_factory=dict)
    reliability: pd.DataFrame | None = None

    @property
    def originals(self) -> list[str]:
        """The datasets that are not derived from another one: what a benchmark holds out."""
        return [d for d in self.datasets if d not in self.derived_from]

    def without(self, dataset_id: str, *related: str) -> MetaData:
        """A copy without a dataset, the datasets derived from it (and from those), and any
        ``related`` ones (with theirs): leave-one-dataset-out.

        Args:
            dataset_id: the dataset to leave out (its runs and meta-features).
            *related: other datasets to leave out with it (e.g. the same table under another
                target), each with the datasets derived from it.
        """
        gone = {dataset_id, *related}
        derived = {**self.derived_from, **(self.auxiliary.derived_from if self.auxiliary else {})}
        while True:  # and what was derived from those (a sample of a derived task)
            more = {d for d, s in derived.items() if s in gone} - gone
            if not more:
                return self.drop(gone)
            gone |= more

    def drop(self, dataset_ids: set[str] | list[str]) -> MetaData:
        """A copy without these datasets (ids it lacks are ignored), here and among the
        auxiliary ones."""
        gone = set(dataset_ids)
        keep = [d for d in self.datasets if d not in gone]
        aux = self.auxiliary
        return replace(self, datasets=keep, raw=self.raw.loc[keep], norm=self.norm.loc[keep],
                       auxiliary=None if aux is None else aux.drop(gone),
                       reliability=None if self.reliability is None else self.reliability.reindex(keep),
                       metafeatures=self.metafeatures.reindex(keep),
                       fit_time=None if self.fit_time is None else self.fit_time.reindex(keep),
                       embeddings={k: v for k, v in self.embeddings.items() if k not in gone})

    def restrict(self, config_ids: list[str]) -> MetaData:
        """A copy with only some configurations (family or time filters)."""
        aux = self.auxiliary
        return replace(self, raw=self.raw[config_ids], norm=self.norm[config_ids],
                       reliability=None if self.reliability is None else self.reliability.reindex(
                           columns=config_ids),
                       auxiliary=None if aux is None else aux.restrict(
                           [c for c in config_ids if c in aux.raw.columns]),
                       fit_time=None if self.fit_time is None else self.fit_time.reindex(
                           columns=config_ids),
                       configs={c: self.configs[c] for c in config_ids},
                       families={c: self.families[c] for c in config_ids})


def with_auxiliary(meta: MetaData, other: MetaData) -> MetaData:
    """``meta`` with ``other``'s datasets that it lacks attached as :attr:`MetaData.auxiliary`.

    For binary ROC AUC, say, the multiclass datasets scored by log loss: on the relative scale
    (0 = a dataset's median configuration, 1 = its best) they say which configurations do well
    together as well as binary ones do. ``bench/lodo.py`` measured it on binary ROC AUC, five
    surrogate seeds: best@25 0.884 -> 0.922, best@3/5 +0.01, top-1 unchanged.

    Args:
        meta: the views the recommender fits on.
        other: views of the same task type under another metric.

    Returns:
        A copy of ``meta``; ``other`` restricted to the datasets ``meta`` lacks and to the
        configurations both have (unchanged ``meta`` if there is none).
    """
    have = set(meta.datasets)
    extra = [d for d in other.datasets if d not in have]
    configs = [c for c in meta.raw.columns if c in other.raw.columns]
    if not extra or not configs:
        return meta
    keep = set(extra)
    aux = replace(other, datasets=extra, raw=other.raw.loc[extra], norm=other.norm.loc[extra],
                  metafeatures=other.metafeatures.reindex(extra),
                  fit_time=None if other.fit_time is None else other.fit_time.reindex(extra),
                  embeddings={k: v for k, v in other.embeddings.items() if k in keep},
                  reliability=None if other.reliability is None else other.reliability.reindex(extra),
                  run_ids={}, auxiliary=None).restrict(configs)
    return replace(meta, auxiliary=aux)


def derived_by_later_splits(meta: MetaData, derived_splits: int) -> set[str]:
    """The derived datasets of ``meta`` (and of its auxiliary ones) made by a split after the
    first ``derived_splits`` of :data:`kg.derived.SPLITS`: what ``load_metadata`` leaves out.

    Args:
        meta: the views.
        derived_splits: how many splits count (1: only ``.binary``).

    Returns:
        Their dataset ids; a derived dataset no split names (a team's own) is never among them.
    """
    parts = [meta] + ([meta.auxiliary] if meta.auxiliary is not None else [])
    return {d for m in parts for d in m.derived_from
            if (split_index(m.names.get(d, "")) or 0) >= derived_splits}


_CACHE: dict[tuple[int, int, str, str | None, str, int | None], MetaData] = {}


def _graph_version(graph: KnowledgeGraph) -> int:
    return len(graph.store)


def load_metadata(graph: KnowledgeGraph, task_type: str, metric: str | None = None, *,
                  cache: bool = True, normalisation: str = "rank",
                  auxiliary: bool = False, derived_splits: int | None = 1) -> MetaData:
    """Read the views for one task type (each task's primary metric unless ``metric``).

    A dataset's score for a configuration is the mean over its tasks of that type and metric:
    the seed graph's repeated cross-validation (one task per repeat, ``metakg seed build
    --repeats``) and a team's own runs of the same table all count.

    Cached per store and graph version (its quad count), so repeated recommendations do not
    re-read the graph.

    Args:
        graph: the knowledge graph.
        task_type: ``classification`` or ``regression``.
        metric: score every task by this measure instead of its primary metric.
        cache: reuse the last result for this store, version and arguments.
        normalisation: how ``norm`` scales each dataset's scores (see :func:`normalise_scores`).
        auxiliary: attach the task type's other datasets under :data:`AUXILIARY_METRIC` when
            ``metric`` is another one (:func:`with_auxiliary`), as ``recommend()`` fits them.
        derived_splits: keep the datasets derived by the first this many splits of
            :data:`kg.derived.SPLITS` (``None``: all). The default, 1, leaves out the second
            split (``.upper_quartile``, ``.top_two``; ``metakg seed build --derived-splits 2``):
            in ``bench/lodo.py``, over three surrogate seeds, learning from it lowered binary
            best@1 0.51 -> 0.39 and the top-1 at least as good as FLAML zero-shot 72% -> 59%,
            with best@5 unchanged (0.80). Its runs stay in the graph as evidence.

    Returns:
        The datasets × configurations matrices and what the recommenders need beside them.

    Raises:
        ValueError: ``derived_splits`` is below 1.
    """
    if derived_splits is not None and derived_splits < 1:
        raise ValueError(f"derived_splits={derived_splits} keeps no derived split; use 1 or more, "
                         "or None for all of them.")
    wider = AUXILIARY_METRIC.get(task_type)
    if auxiliary and wider is not None and metric is not None and metric != wider:
        return with_auxiliary(
            load_metadata(graph, task_type, metric, cache=cache, normalisation=normalisation,
                          derived_splits=derived_splits),
            load_metadata(graph, task_type, wider, cache=False, normalisation=normalisation,
                          derived_splits=derived_splits))
    # counting the quads scans the store (seconds on the seed graph): only for the cache
    key = ((id(graph.store), _graph_version(graph), task_type, metric, normalisation,
            derived_splits) if cache else None)
    if cache and key in _CACHE:
        return _CACHE[key]
    # the run index and the tasks, read once for every table below
    index, tasks = run_index(graph.store), task_table(graph, task_type)
    perf = performance_table(graph, metric=metric, task_type=task_type, index=index, tasks=tasks)
    raw = perf.pivot_table(index="dataset", columns="config", values="value", aggfunc="mean")
    raw, reliability = _weighted(perf, raw)
    metric_of = perf.groupby("dataset")["metric"].first().to_dict()
    higher = {d: HIGHER_IS_BETTER[m] for d, m in metric_of.items()}
    failed = _pairs(index, tasks, "failed")
    norm = normalise_scores(raw, pd.Series(higher), normalisation)
    for d, c in failed:
        if d in norm.index and c in norm.columns and np.isnan(raw.loc[d, c]):
            norm.loc[d, c] = 0.0
    if reliability is not None:  # weak cells move towards the configuration's usual score
        norm = shrink_to_prior(norm, reliability)
    cfg = perf.drop_duplicates("config").set_index("config")
    mf = metafeature_matrix(graph, extractor=EXTRACTOR).reindex(raw.index)
    ft = performance_table(graph, metric="fit_time", task_type=task_type, index=index,
                           tasks=tasks)
    fit_time = (ft.pivot_table(index="dataset", columns="config", values="value")
                .reindex(index=raw.index, columns=raw.columns) if not ft.empty else None)
    from metakg.metalearner.characterise import dataset_embeddings

    ids, mat = dataset_embeddings(graph)
    emb = {i: v for i, v in zip(ids, mat, strict=True) if i in raw.index}
    names = dataset_titles(graph)
    rows = dataset_rows(graph)
    run_ids = _run_ids(index, tasks)
    derived_from = dataset_derivations(graph)
    target_sd: dict[str, float] = {}
    if set(metric_of.values()) & IN_TARGET_UNITS:  # an RMSE needs its target's scale to travel
        def mean_scores(measure: str) -> pd.DataFrame:
            table = performance_table(graph, metric=measure, task_type=task_type, index=index,
                                      tasks=tasks)
            return table.pivot_table(index="dataset", columns="config", values="value",
                                     aggfunc="mean")

        target_sd = target_spread(raw if metric in (None, "rmse") else mean_scores("rmse"),
                                  mean_scores("r2"))
        # measured on the table when its task was added (exact, and known before any run)
        target_sd.update(task_target_sds(graph))
    data = MetaData(
        task_type=task_type, datasets=list(raw.index), names=names, raw=raw, norm=norm,
        metric=metric_of, higher=higher,
        configs={c: json.loads(cfg.loc[c, "json"]) for c in raw.columns},
        families={c: cfg.loc[c, "family"] for c in raw.columns}, metafeatures=mf,
        embeddings=emb, rows={d: rows.get(d, 0) for d in raw.index}, fit_time=fit_time,
        run_ids=run_ids, derived_from={d: s for d, s in derived_from.items() if d in raw.index},
        target_sd={d: v for d, v in target_sd.items() if d in raw.index}, reliability=reliability)
    if derived_splits is not None:
        later = derived_by_later_splits(data, derived_splits)
        if later:
            data = replace(data.drop(later), derived_from={
                d: s for d, s in data.derived_from.items() if d not in later})
    if cache:
        _CACHE.clear()
        _CACHE[key] = data
    return data


def _weighted(perf: pd.DataFrame, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The datasets × configurations scores of :func:`kg.views.performance_table`'s rows (one
    per task) weighted by their runs' reliability, and the cells' reliability
    (``min(1, Σ weight)``); ``raw`` (the plain mean over tasks) and ``None`` when every cell
    is fully reliable and its tasks weigh the same, as on a graph of the seed protocol."""
    if perf.empty:
        return raw, None
    cells = perf.assign(wv=perf["weight"] * perf["value"]).groupby(["dataset", "config"]).agg(
        wv=("wv", "sum"), weight=("weight", "sum"), lo=("weight", "min"), hi=("weight", "max"))
    reliability = cells["weight"].clip(upper=1.0).unstack().reindex_like(raw)
    mixed = cells["lo"] != cells["hi"]
    if not bool(mixed.any()) and not bool((reliability < 1.0).to_numpy().any()):
        return raw, None
    out = raw.copy()
    if bool(mixed.any()):
        values = (cells["wv"] / cells["weight"])[mixed]
        for (d, c), v in values.items():
            out.loc[d, c] = v
    weak = bool((reliability < 1.0).to_numpy().any())
    return out, reliability if weak else None


def target_spread(rmse: pd.DataFrame, r2: pd.DataFrame) -> dict[str, float]:
    """Each regression dataset's target standard deviation, from its runs' RMSE and R².

    Per cross-validation fold, ``R² = 1 - RMSE² / var(y_test)``, so ``RMSE / sqrt(1 - R²)`` is
    the standard deviation of the target; the median over a dataset's configurations (of
    their mean RMSE and mean R²) is robust to a diverging one. On the seed graph's 41
    regression tables it is within 3.5% of the table's own standard deviation for 40 of them
    (``meta``, a heavy-tailed target whose folds differ: 0.53×).

    Args:
        rmse: datasets × configurations of mean RMSE.
        r2: the same of mean R² (a dataset without R² runs gets no value).

    Returns:
        dataset id → standard deviation (only datasets with at least one R² below 1).
    """
    r2 = r2.reindex(index=rmse.index, columns=rmse.columns)
    with np.errstate(all="ignore"):
        sd = (rmse / np.sqrt(1.0 - r2.where(r2 < 1.0))).median(axis=1)
    return {str(d): float(v) for d, v in sd.items() if np.isfinite(v) and v > 0}


def feature_columns(graph: KnowledgeGraph) -> dict[str, set[str]]:
    """Dataset id → the names of its columns other than its default target (for
    :func:`metalearner.evaluation.same_table`; read by :func:`kg.dataset_index.feature_columns`)."""
    return dataset_index.feature_columns(graph)


def _runs_of_type(index: RunIndex, tasks: pd.DataFrame, status: str) -> pd.DataFrame:
    """Runs (run, dataset, config) with ``status`` of the ``tasks`` (:func:`kg.views.task_table`)."""
    return index.with_status(status).merge(tasks[["task", "dataset"]], on="task")[
        ["run", "dataset", "config"]]


def _pairs(index: RunIndex, tasks: pd.DataFrame, status: str) -> list[tuple[str, str]]:
    """(dataset, configuration) of every run with ``status`` of the ``tasks``."""
    runs = _runs_of_type(index, tasks, status)
    return list(zip(runs["dataset"], runs["config"], strict=True))


def _run_ids(index: RunIndex, tasks: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(dataset, configuration) -> one completed run of it (the greatest run id: the same
    one whatever the order the store returns runs in)."""
    runs = _runs_of_type(index, tasks, "completed").sort_values("run")
    return dict(zip(zip(runs["dataset"], runs["config"], strict=True), runs["run"], strict=True))
