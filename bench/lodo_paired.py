"""Paired leave-one-dataset-out comparison of recommenders, with bootstrap intervals of the difference.

What it measures: for each group of the seed graph (task type, metric) and each held-out dataset,
each candidate recommender is fitted on the other datasets and ranks the configurations; the
held-out dataset's true scores of its ranking give best@k, the normalised score of the best of
the top k (0 = the dataset's median configuration, 1 = its best), for k in 1, 3, 5, 10. The
candidates see the same held-out datasets and the same surrogate seeds, so their difference is
paired: per dataset, a candidate's best@k (averaged over seeds) minus the first candidate's.

Protocol: ``bench/lodo.py``'s, whose functions it imports (``groups``, ``group_views``,
``open_bench_graph``). Datasets derived from another one are never held out; a held-out
dataset leaves the training views with what was derived from it and with the same table under
another target (``same_table``); the second derived split is left out of the training views, as
``recommend()`` fits them; views use the rank normalisation and the configurations run on at
least 95% of the datasets. The query is built as ``bench/lodo.py`` builds it (meta-features and
text embedding), so "current" here, the former default (decision 0005), is ``bench/lodo.py``'s
"former default" row at seed 0 (its surrogate's bags use seeds ``seed`` to ``seed + 4``), and
"new" is the default, ``MetaRecommender``, under the policies as shipped.

Report, per group and k: each candidate's mean best@k over held-out datasets (seeds averaged
per dataset first) and the spread of that mean over seeds (max - min); for each other candidate
against the first one named, the mean paired difference, its 95% percentile bootstrap interval
over datasets (10,000 resamples, fixed RNG seed), the seed-to-seed spread of the mean difference,
and a verdict: "gain" (interval above 0), "loss" (interval below 0) or "within noise".

Acceptance rule: adopt a change when its gain's interval excludes zero; adopt a simplification
(fewer parts, less time) when its loss's interval includes zero. Read the seed spread beside it:
a difference smaller than what the seed alone moves the mean by is not a finding.

Views are cached per group under ``.metakg-build/bench-cache/`` (keyed by the seed file's size
and modification time, or the store's path), since loading the seed into memory takes minutes.
Every finished (group, dataset, seed, candidate) result is appended at once to a JSON-lines file
beside ``--out`` (``.jsonl``), and a rerun skips what is already there: a run can be stopped and
resumed, and :func:`report` rebuilds the report from that file alone, without refitting. A result
is known by its views, group, dataset, seed and candidate label, not by the candidate's code:
after changing a candidate, give another ``--out`` or label (``new#v2``). Delete the cache
folder to recompute the views (a new seed file or a change to ``bench/lodo.py`` or
``metalearner/knowledge.py`` gets new ones by itself).

Usage:
    python bench/lodo_paired.py --candidates current,new [--seeds 0,5,10] \\
        [--groups roc_auc,log_loss,rmse] [--store PATH | --seed data/seed.trig.xz] [--jobs 1] \\
        [--out bench/results/lodo_paired.json] [--limit N]

    A candidate named twice (``current,current``) is fitted twice, under the labels ``current``
    and ``current#2``: a check of the harness, whose difference must be exactly 0.
    ``python -c "import sys; sys.path.insert(0, 'bench'); from lodo_paired import report;
    print(report('bench/results/lodo_paired.jsonl'))"`` rebuilds the report.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import multiprocessing
import pickle
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

# bench/lodo.py, beside this script (its folder is on the path when run as a script)
from former_default import SurrogatePortfolioRecommender, SurrogateRecommender
from lodo import group_views, groups, open_bench_graph

from metakg.metalearner.evaluation import normalised_against_median, same_table
from metakg.metalearner.knowledge import (
    MetaData,
    derived_by_later_splits,
    feature_columns,
    normalise_scores,
)
from metakg.metalearner.recommenders import (
    BaseRecommender,
    GreedyPortfolioRecommender,
    Query,
)

KS = (1, 3, 5, 10)
#: as bench/lodo.py's protocol (``map_held_out``) and ``recommend()`` build the views
NORMALISATION = "rank"
COVERAGE = 0.95
CACHE = Path(".metakg-build/bench-cache")
DRAWS = 10_000
BOOTSTRAP_SEED = 0


def _current(seed: int) -> BaseRecommender:
    """The former default (decision 0005): bench/lodo.py's "former default" row (its
    surrogate's bags use seeds ``seed`` to ``seed + 4``); the label ``current`` is kept so
    that the committed results read as they were measured."""
    return SurrogatePortfolioRecommender(surrogate=SurrogateRecommender(random_state=seed))


def _new(seed: int) -> BaseRecommender:
    """The default recommender, ``MetaRecommender``, under the policies as shipped."""
    from metakg.metalearner.recommender import MetaRecommender

    return MetaRecommender(random_state=seed)


def _portfolio(seed: int) -> BaseRecommender:
    """The greedy portfolio (best-of-k over the training datasets, no meta-features):
    ``bench/lodo.py``'s "portfolio" row, the baseline a meta-learner must beat (deterministic:
    every seed gives the same ranking)."""
    return GreedyPortfolioRecommender()


#: name -> (seed -> unfitted recommender). Add a candidate here; a label "name#tag" on the
#: command line runs ``name``'s factory under another label.
CANDIDATES: dict[str, Callable[[int], BaseRecommender]] = {
    "current": _current,
    "new": _new,
    "portfolio": _portfolio,
}
#: Ablation variants of the new recommender are policy files, not constructor flags: the
#: label ``new+NAME`` follows the metric's own policy with ``bench/policies/NAME.json``
#: merged over it (e.g. ``{"portfolio": {"cover_families": 3}}``).
POLICIES = Path(__file__).resolve().parent / "policies"


def _merged(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        out[k] = _merged(base.get(k, {}), v) if isinstance(v, dict) else v
    return out


def _variant(name: str, seed: int) -> BaseRecommender:
    """The new recommender under the metric's policy with ``bench/policies/NAME.json`` over it.
    Variants share the ranker fit with every candidate of the same features, ranker settings,
    seed and training tables (the same predictions as fitting their own), and skip the
    expected-score model (ranking only)."""
    from dataclasses import asdict

    from metakg.metalearner.policy import Policy, load_policy
    from metakg.metalearner.recommender import MetaRecommender

    path = POLICIES / f"{name}.json"
    if not path.is_file():
        raise SystemExit(f"No variant {name!r}: write {path} (a policy override).")
    override = json.loads(path.read_text())

    class Variant(MetaRecommender):
        def _policy_for(self, metric: str) -> Policy:
            return Policy.from_dict(_merged(asdict(load_policy(metric)), override))

        def _fit_ranker(self, meta: MetaData, relative: pd.DataFrame,
                        weights: pd.DataFrame | None = None) -> None:
            if weights is not None:  # weak cells (not on the seed graph): no sharing
                super()._fit_ranker(meta, relative, weights)
                return
            key = (self.policy_.features, self.policy_.ranker, self.random_state,
                   tuple(relative.index), tuple(relative.columns))
            if key not in _SHARED_RANKERS:
                if len(_SHARED_RANKERS) >= 4:  # one held-out dataset at a time
                    _SHARED_RANKERS.clear()
                super()._fit_ranker(meta, relative)
                _SHARED_RANKERS[key] = (self.features_, self.ranker_)
            self.features_, self.ranker_ = _SHARED_RANKERS[key]

        def _fit_score_model(self, meta: MetaData) -> None:
            return None

    return Variant(random_state=seed)


#: fitted (features, ranker) by (features, ranker settings, seed, training tables)
_SHARED_RANKERS: dict = {}


def factory(label: str) -> Callable[[int], BaseRecommender]:
    """The factory of a label (``name``, ``name#tag`` or ``new+VARIANT``, each optionally with
    ``/without-SOURCE``, which changes the training views, not the recommender)."""
    name = split_without(label)[0]
    if name.startswith("new+"):
        return lambda seed: _variant(name[4:], seed)
    return CANDIDATES[name]


# ---------------------------------------------------------------- views (cached per group)

def views_key(store: str | None, seed: str, extensions: tuple[str, ...] = ()) -> str:
    """What identifies the views: the store's path, or the seed file's (and its extensions')
    path, size and modification time (a changed seed gets new views), with the protocol's
    settings and the source of bench/lodo.py and ``metalearner/knowledge.py``."""
    if store:
        source = f"store|{Path(store).resolve()}"
    else:
        source = "seed"
        for path in (seed, *extensions):
            if not Path(path).is_file():
                raise SystemExit(f"No seed file at {path}: give --seed FILE or --store STORE.")
            st = Path(path).stat()
            source += f"|{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}"
    # and the code that builds them: pickled views of an older MetaData would be stale
    code = b"".join(Path(inspect.getsourcefile(f)).read_bytes() for f in (group_views, MetaData))
    text = f"{source}|{NORMALISATION}|{COVERAGE}|{hashlib.sha256(code).hexdigest()}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_views(metrics: list[str], store: str | None, seed: str, key: str,
               extensions: tuple[str, ...] = ()) -> dict[str, dict]:
    """metric -> {task_type, metric, meta, holdout, related, second} for the asked groups, from
    the cache or computed from the graph (then every group missing from the cache is computed
    and cached, since loading the graph costs more than all the groups' views)."""
    folder = CACHE / key
    missing = [m for m in metrics if not (folder / f"{m}.pkl").exists()]
    if missing:
        _cache_groups(folder, store, seed, extensions)
    out = {}
    for m in metrics:
        path = folder / f"{m}.pkl"
        if not path.exists():
            raise SystemExit(f"No group with metric {m!r} (and at least 3 held-out datasets) in the graph.")
        out[m] = pickle.loads(path.read_bytes())
    return out


def _cache_groups(folder: Path, store: str | None, seed: str, extensions: tuple[str, ...] = ()) -> None:
    """Load the graph once and pickle each group's views (bench/lodo.py's ``group_views``),
    held-out datasets, same-table relations and second derived split."""
    t0 = time.perf_counter()
    print(f"computing the views from {store or seed} (minutes; cached in {folder})", flush=True)
    graph = open_bench_graph(store, seed, extensions)
    related = same_table(feature_columns(graph))
    print(f"  graph loaded in {time.perf_counter() - t0:.0f} s", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    for task_type, metric, holdout in groups(graph):
        path = folder / f"{metric}.pkl"
        if path.exists():
            continue
        meta = group_views(graph, task_type, metric, normalisation=NORMALISATION, coverage=COVERAGE)
        holdout = [d for d in holdout if d in meta.datasets]
        if len(holdout) < 3:  # as bench/lodo.py: too few to report
            continue
        state = {"task_type": task_type, "metric": metric, "meta": meta, "holdout": holdout,
                 "related": related, "second": derived_by_later_splits(meta, 1)}
        tmp = path.with_suffix(".tmp")  # written whole, then renamed: no half pickle on a kill
        tmp.write_bytes(pickle.dumps(state))
        tmp.replace(path)
        print(f"  {task_type}/{metric}: {len(holdout)} held out, {meta.raw.shape[1]} configurations "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)


# ---------------------------------------------------------------- one held-out fit

_STATE: dict = {}  # the group being evaluated, inherited by forked workers
_HELD_OUT: dict = {}  # this process's last held-out dataset: (train, truth, query)


def write_json(path: Path, data: dict) -> None:
    """Write a results file whole, then rename it: a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def held_out(d: str) -> tuple:
    """(training views, true normalised scores, query) for held-out dataset ``d``, exactly as
    bench/lodo.py's ``_evaluate_one`` builds them."""
    if _HELD_OUT.get("dataset") != d:
        meta, related, second = _STATE["meta"], _STATE["related"], _STATE["second"]
        # the dataset, what was derived from it and the same table under another target; then
        # the second derived split, as recommend() fits (load_metadata(derived_splits=1))
        train = meta.without(d, *related.get(d, [])).drop(second)
        truth = normalised_against_median(meta, d)
        query = Query(metafeatures=meta.metafeatures.loc[d].to_dict(), embedding=meta.embeddings.get(d))
        _HELD_OUT.clear()
        _HELD_OUT.update(dataset=d, value=(train, truth, query))
    return _HELD_OUT["value"]


def run_unit(unit: tuple[str, int, list[tuple[str, int]]]) -> list[dict]:
    """Every candidate of one (held-out dataset, seed), in one process: variants that differ
    only in their portfolio share its ranker fit."""
    d, seed, labelled = unit
    return [run_one((d, seed, label, position)) for label, position in labelled]


def published_ids(source: str = "published") -> dict[str, str]:
    """The published configurations of a source by configuration id (``published``: every
    source's), with a name; an id published by several sources belongs to each of them.

    Args:
        source: ``published`` or a source's key (``autogluon``, ``flaml``, ...).

    Returns:
        Configuration id → a published name.

    Raises:
        SystemExit: no published configuration comes from ``source``.
    """
    from metakg.kg.identity import configuration_id
    from metakg.kg.published import published_configurations

    out = {configuration_id(p.config): p.name for p in published_configurations()
           if source in ("published", p.source.key)}
    if not out:
        known = sorted({p.source.key for p in published_configurations()})
        raise SystemExit(f"Unknown published source {source!r}; known: published (all), {', '.join(known)}.")
    return out


def without_published(meta: MetaData, source: str = "published", *, _top: bool = True) -> MetaData:
    """``meta`` without the published configurations (``kg/resources/
    published_configurations.json``) as candidates, ranks recomputed over the rest (in its
    auxiliary views too): the views of the seed alone, on the same held-out tables and truth
    as the views with them.

    Args:
        meta: training views that hold published configurations.
        source: ``published`` leaves all of them out; a source's key (``autogluon``,
            ``flaml``, ...) only that source's.

    Returns:
        The same views without those configurations.

    Raises:
        SystemExit: the views hold none of them (both arms of a comparison would be the same
            candidates: an extension not loaded, or a source not evaluated yet), or carry
            reliability weights.
    """
    published = published_ids(source)
    keep = [c for c in meta.raw.columns if c not in published]
    if len(keep) == meta.raw.shape[1]:
        if _top:
            raise SystemExit(f"The views hold no configuration of {source!r}: load the seed extension "
                             "that has them (--extension).")
        return meta
    if meta.reliability is not None:  # load_metadata shrinks weak cells after ranking
        raise SystemExit("without_published re-ranks plain views; these carry reliability weights.")
    aux = None if meta.auxiliary is None else without_published(meta.auxiliary, source, _top=False)
    out = replace(meta.restrict(keep), auxiliary=None)
    norm = normalise_scores(out.raw, pd.Series(out.higher), NORMALISATION)
    failed = out.raw.isna() & (out.norm == 0)  # a failed run stays the dataset's worst
    return replace(out, norm=norm.mask(failed, 0.0), auxiliary=aux)


#: the label suffix of a candidate that chooses without the published configurations:
#: ``/without-published`` (the seed's own only) or ``/without-SOURCE`` (without one source's,
#: e.g. ``/without-autogluon``)
WITHOUT = "/without-"
WITHOUT_PUBLISHED = WITHOUT + "published"


def base_name(label: str) -> str:
    """A label's candidate (``current/without-published#2`` → ``current/without-published``)."""
    return label.split("#")[0]


def split_without(label: str) -> tuple[str, str | None]:
    """A label's recommender and the published source it leaves out.

    Args:
        label: a candidate label (``current/without-autogluon#2``).

    Returns:
        The recommender's name and the source, or ``None`` (``("current", "autogluon")``).

    Raises:
        SystemExit: the label ends in ``/without-`` with no source.
    """
    name, cut, source = base_name(label).partition(WITHOUT)
    if cut and not source:
        raise SystemExit(f"{label!r}: name the source after {WITHOUT} (published, autogluon, ...).")
    return name, source or None


def run_one(unit: tuple[str, int, str, int]) -> dict:
    """Fit one candidate with one seed without one dataset; its best@k and seconds."""
    d, seed, label, position = unit
    train, truth, query = held_out(d)
    source = split_without(label)[1]
    if source:
        train = without_published(train, source)
    t0 = time.perf_counter()
    rec = factory(label)(seed).fit(train)
    t1 = time.perf_counter()
    scores = rec.score(query)
    t2 = time.perf_counter()
    ranked = scores.reindex(truth.index).dropna().sort_values(ascending=False, kind="stable").index.tolist()
    return {"group": _STATE["metric"], "task_type": _STATE["task_type"], "dataset": d, "seed": seed,
            "candidate": label, "position": position, "views": _STATE["views"],
            **{f"best@{k}": float(truth[ranked[:k]].max()) if ranked else None for k in KS},
            "fit_s": round(t1 - t0, 3), "score_s": round(t2 - t1, 3), "top": ranked[:10]}


def _map(units: list[tuple], jobs: int) -> Iterator[dict]:
    """Results as they finish: in this process, or ``jobs`` forked workers that inherit the
    group's views (not unpickled once per unit)."""
    if jobs <= 1:
        for rows in map(run_unit, units):
            yield from rows
        return
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for rows in pool.imap_unordered(run_unit, units, chunksize=1):
            yield from rows


# ---------------------------------------------------------------- results file

def _identity(row: dict) -> tuple:
    return row["views"], row["group"], row["dataset"], int(row["seed"]), row["candidate"]


def read_rows(path: Path) -> list[dict]:
    """The JSON-lines results (a line cut short by a kill is skipped)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def evaluate_group(state: dict, labels: list[str], seeds: list[int], limit: int | None,
                   jobs: int, results: Path) -> list[str]:
    """Run the (dataset, seed, candidate) units of one group not yet in ``results``, appending
    each as it finishes; returns the held-out datasets evaluated."""
    holdout = state["holdout"][:limit] if limit else state["holdout"]
    done = {_identity(r) for r in read_rows(results)}
    units = []
    for d in holdout:
        for s in seeds:
            todo = [(label, i) for i, label in enumerate(labels)
                    if (state["views"], state["metric"], d, s, label) not in done]
            if todo:
                units.append((d, s, todo))
    fits = sum(len(u[2]) for u in units)
    print(f"== {state['task_type']}/{state['metric']}: {len(holdout)} held out, "
          f"{fits} fits to run ({len(holdout) * len(seeds) * len(labels) - fits} done before)",
          flush=True)
    _STATE.clear()
    _STATE.update(state)
    _HELD_OUT.clear()
    t0 = time.perf_counter()
    with results.open("a") as f:
        for n, row in enumerate(_map(units, jobs), 1):
            f.write(json.dumps(row) + "\n")
            f.flush()  # resumable: what finished is on disk
            best = ", ".join(f"best@{k} " + ("n/a" if row[f"best@{k}"] is None else f"{row[f'best@{k}']:.3f}")
                             for k in (1, 5))
            print(f"  [{n}/{fits} {time.perf_counter() - t0:.0f} s] {row['dataset']} seed {row['seed']} "
                  f"{row['candidate']}: {best}, fit+score {row['fit_s'] + row['score_s']:.1f} s", flush=True)
    return holdout


# ---------------------------------------------------------------- report

def bootstrap_interval(values: np.ndarray, *, draws: int = DRAWS, level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval of the mean over datasets (resampled with replacement,
    fixed RNG seed): where the mean could be with another sample of datasets."""
    if len(values) == 0:
        return [float("nan"), float("nan")]
    idx = np.random.default_rng(BOOTSTRAP_SEED).integers(0, len(values), size=(draws, len(values)))
    lo, hi = np.quantile(values[idx].mean(axis=1), [(1 - level) / 2, (1 + level) / 2])
    return [float(lo), float(hi)]


def verdict(interval: list[float], datasets: int) -> str:
    """The acceptance reading of a difference's interval (none on fewer than 3 datasets, as
    bench/lodo.py reports no group with fewer: a bootstrap of 1 or 2 values says nothing)."""
    if datasets < 3:
        return "too few datasets"
    lo, hi = interval
    if lo > 0:
        return "gain"
    if hi < 0:
        return "loss"
    return "within noise"


def _seed_spread(table: pd.DataFrame) -> float:
    """Max - min over seeds of the mean over datasets (``table``: dataset x seed)."""
    means = table.mean(axis=0)
    return float(means.max() - means.min())


def _paired(rows: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Only the (dataset, seed) pairs every candidate has: the comparison stays paired."""
    have = rows.groupby(["dataset", "seed"])["candidate"].nunique()
    complete = have[have == len(labels)].index
    keep = pd.MultiIndex.from_frame(rows[["dataset", "seed"]]).isin(complete)
    return rows[keep]


def group_report(rows: pd.DataFrame, labels: list[str]) -> dict:
    """One group's means, paired differences against ``labels[0]``, intervals and verdicts."""
    rows = _paired(rows, labels)
    first = labels[0]
    out: dict = {"task_type": rows["task_type"].iloc[0] if len(rows) else None,
                 "datasets": int(rows["dataset"].nunique()), "seeds": sorted(int(s) for s in rows["seed"].unique()),
                 "candidates": {}, "pairs": {}}
    wide = {k: rows.pivot_table(index="dataset", columns=["candidate", "seed"], values=f"best@{k}")
            for k in KS}
    for label in labels:
        sub = rows[rows["candidate"] == label]
        out["candidates"][label] = {
            "mean": {f"best@{k}": float(wide[k][label].mean(axis=1).mean()) for k in KS},
            "seed_spread": {f"best@{k}": _seed_spread(wide[k][label]) for k in KS},
            "seconds_per_fit": float((sub["fit_s"] + sub["score_s"]).mean()),
        }
    for label in labels[1:]:
        cells = {}
        for k in KS:
            diff = wide[k][label] - wide[k][first]  # dataset x seed, paired
            per_dataset = diff.mean(axis=1).dropna().to_numpy()
            iv = bootstrap_interval(per_dataset)
            cells[f"best@{k}"] = {"mean": float(per_dataset.mean()) if len(per_dataset) else float("nan"),
                                  "interval_95": iv, "seed_spread": _seed_spread(diff),
                                  "verdict": verdict(iv, len(per_dataset)),
                                  # a mean over 30-40 tables can be one or two of them: how many
                                  # held-out datasets (seeds averaged) gain, lose or tie
                                  "median": float(np.median(per_dataset)) if len(per_dataset) else float("nan"),
                                  "wins": int((per_dataset > 1e-9).sum()),
                                  "losses": int((per_dataset < -1e-9).sum()),
                                  "ties": int((np.abs(per_dataset) <= 1e-9).sum())}
        out["pairs"][f"{label} - {first}"] = cells
    return out


def report(path: str | Path, *, candidates: list[str] | None = None, seeds: Iterable[int] | None = None,
           metrics: Iterable[str] | None = None, datasets: dict[str, list[str]] | None = None,
           views: str | None = None) -> dict:
    """The report, rebuilt from the JSON-lines results alone (no refitting).

    Args:
        path: the ``.jsonl`` file a run wrote.
        candidates: labels to compare, the first being the reference; default: every label in
            the file, in the order they were named on the command line.
        seeds, metrics: only these seeds and groups (default: all in the file).
        datasets: group -> only these held-out datasets (default: all in the file).
        views: the views key (seed file or store) whose results to read; default: that of the
            file's last line.
    """
    rows = read_rows(Path(path))
    if not rows:
        return {"groups": {}}
    table = pd.DataFrame(rows)
    views = views or rows[-1]["views"]
    table = table[table["views"] == views]
    if candidates is None:
        order = table.groupby("candidate")["position"].min().sort_values(kind="stable")
        candidates = list(order.index)
    table = table[table["candidate"].isin(candidates)]
    if seeds is not None:
        table = table[table["seed"].isin(list(seeds))]
    result: dict = {"views": views, "candidates": candidates, "reference": candidates[0],
                    "ks": list(KS), "groups": {}}
    for group, sub in table.groupby("group", sort=False):
        if metrics is not None and group not in metrics:
            continue
        if datasets is not None:
            sub = sub[sub["dataset"].isin(datasets.get(group, []))]
        result["groups"][group] = group_report(sub, candidates)
    return result


def print_report(rep: dict) -> None:
    """Per group: the candidates' means and seed spreads, then each pair's difference."""
    for group, g in rep["groups"].items():
        print(f"\n== {g['task_type']}/{group}: {g['datasets']} held-out datasets, seeds {g['seeds']}")
        means = pd.DataFrame({label: {**{key: f"{v:.3f}" for key, v in c["mean"].items()},
                                      "seed spread @1": f"{c['seed_spread']['best@1']:.3f}",
                                      "s/fit": f"{c['seconds_per_fit']:.1f}"}
                              for label, c in g["candidates"].items()}).T
        print(means.to_string())
        for pair, cells in g["pairs"].items():
            table = pd.DataFrame({key: {"mean": f"{v['mean']:+.4f}",
                                        "95% interval": f"[{v['interval_95'][0]:+.4f}, {v['interval_95'][1]:+.4f}]",
                                        "seed spread": f"{v['seed_spread']:.4f}", "verdict": v["verdict"]}
                                  for key, v in cells.items()}).T
            print(f"-- {pair} (paired over datasets)\n{table.to_string()}")


# ---------------------------------------------------------------- command line

def published_candidates(states: dict[str, dict]) -> dict[str, list[str]]:
    """Source → the published configurations (by name, in the file's order) with a column in
    any group's views."""
    from metakg.kg.identity import configuration_id
    from metakg.kg.published import published_configurations

    columns = set().union(*(set(st["meta"].raw.columns) for st in states.values()))
    out: dict[str, list[str]] = {}
    for p in published_configurations():
        if configuration_id(p.config) in columns:
            out.setdefault(p.source.key, []).append(p.name)
    return out


def _labels(names: str) -> list[str]:
    """Candidate labels; a name given again gets ``#2``, ``#3``, ... (fitted again)."""
    labels: list[str] = []
    for name in names.split(","):
        base = base_name(name)
        recommender, source = split_without(base)
        if recommender not in CANDIDATES and not recommender.startswith("new+"):
            raise SystemExit(f"Unknown candidate {base!r}; known: {', '.join(CANDIDATES)}, "
                             "and new+VARIANT for a policy override in bench/policies/.")
        if source:
            published_ids(source)  # an unknown source fails now
        label, n = name, 1
        while label in labels:
            n += 1
            label = f"{base}#{n}"
        labels.append(label)
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", default="current,new",
                    help=f"comma-separated, the first is the reference; known: {', '.join(CANDIDATES)}")
    ap.add_argument("--seeds", default="0,5,10", help="recommender seeds (surrogate bags seed..seed+4)")
    ap.add_argument("--groups", default="roc_auc,log_loss,rmse", help="metrics of the groups to evaluate")
    ap.add_argument("--store", default=None, help="an Oxigraph store of the seed (read-only)")
    ap.add_argument("--seed", default="data/seed.trig.xz", help="else this seed, loaded in memory")
    ap.add_argument("--extension", action="append", default=[],
                    help="a seed extension loaded beside --seed (repeatable), e.g. "
                         "data/seed-published.trig.xz: its configurations become candidates "
                         f"(a label ending {WITHOUT_PUBLISHED} leaves the published ones out, "
                         f"{WITHOUT}SOURCE one source's, e.g. {WITHOUT}autogluon)")
    ap.add_argument("--jobs", type=int, default=1, help="processes over held-out datasets")
    ap.add_argument("--out", default="bench/results/lodo_paired.json",
                    help="report (JSON); results are appended to the same path with .jsonl")
    ap.add_argument("--limit", type=int, default=None, help="only the first N held-out datasets per group")
    ap.add_argument("--views", default=None,
                    help="the key of views already cached under .metakg-build/bench-cache/ to use "
                         "instead of the seed's or store's own (results made before a code change "
                         "that left the views identical stay comparable)")
    args = ap.parse_args()
    labels = _labels(args.candidates)
    for label in dict.fromkeys(labels):
        factory(label)(0)  # fail now, not after minutes of loading (a missing variant file)
    seeds = [int(s) for s in args.seeds.split(",")]
    metrics = args.groups.split(",")
    warnings.filterwarnings("ignore")
    extensions = tuple(args.extension)
    key = args.views or views_key(args.store, args.seed, extensions)
    if args.views:
        missing = [m for m in metrics if not (CACHE / key / f"{m}.pkl").is_file()]
        if missing:
            raise SystemExit(f"No cached views {key!r} of {', '.join(missing)} under {CACHE}; "
                             "drop --views to compute them from the seed.")
    t0 = time.perf_counter()
    states = load_views(metrics, args.store, args.seed, key, extensions)
    print(f"views ready in {time.perf_counter() - t0:.0f} s", flush=True)
    results = Path(args.out).with_suffix(".jsonl")
    results.parent.mkdir(parents=True, exist_ok=True)
    rows_before = len(read_rows(results))
    evaluated = {m: evaluate_group({**states[m], "views": key}, labels, seeds, args.limit, args.jobs, results)
                 for m in metrics}
    rep = report(results, candidates=labels, seeds=seeds, metrics=metrics, datasets=evaluated, views=key)
    # this call's time and fits: a rerun over rows already there only rebuilds the report
    rep["seconds"] = round(time.perf_counter() - t0, 1)
    rep["fits_this_call"] = len(read_rows(results)) - rows_before
    out = Path(args.out)
    if rep["fits_this_call"] == 0 and out.exists():  # keep what the fitting call cost
        earlier = json.loads(out.read_text())
        rep["seconds"], rep["fits_this_call"] = earlier.get("seconds"), earlier.get("fits_this_call")
    rep["extensions"] = list(extensions)
    # the published configurations among the candidates, by source: what the comparison adds
    rep["published_candidates"] = published_candidates(states)
    print_report(rep)
    write_json(out, rep)


if __name__ == "__main__":
    main()
