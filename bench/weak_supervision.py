"""Runs of mixed quality: do weak runs help the recommender, as equals or with a reliability weight?

What it measures: leave-one-dataset-out on a group of the seed graph. For each held-out
dataset, the training datasets' (dataset, configuration) cells are split at random: 40% stay
cross-validated runs of the seed protocol (reliability 1) and the other 60% become weak runs,
in one of three scenarios:

- ``one_fold``: a hand-logged single score, one fold's score of the cell's seed run (read from
  the seed graph's per-fold evaluations; a cell whose folds are not found gets its mean plus
  noise with the dataset's between-fold spread). Weight 0.5 (not this project's protocol) ×
  1/3 (one fold of the seed tasks' three) ≈ 0.17.
- ``other_protocol``: a mean over as many folds, measured by another protocol (MLflow,
  OpenML): the cell's mean plus a bias per dataset and a bias per (dataset, family), each
  normal with the dataset's between-fold standard deviation (other splits and preprocessing
  shift a table's scores, and favour some families). Weight 0.5.
- ``outcome``: a recommendation's outcome as a team reports it (``metakg feedback --score``):
  one fold's score as in ``one_fold``, but an outcome keeps the protocol weight 1, so its
  weight is 1/3. The scenario is what learning from outcomes rests on.

Three ways to learn from them, scored on the held-out dataset by best@k (the normalised score
of the best of the recommender's top k: 0 = the dataset's median configuration, 1 = its best,
as ``bench/lodo.py`` defines it):

- ``strong_only``: without the weak runs (their cells not run);
- ``equal``: the weak runs as equals of the seed runs;
- ``weighted``: the weak runs with their reliability ``w`` (:mod:`metakg.kg.reliability`), as
  the library takes them: shrunk towards the configuration's score on the other datasets as
  ``load_metadata`` does (:func:`metakg.metalearner.knowledge.shrink_to_prior`), by the
  empirical-Bayes factor ``b = w (1 + κ) / (w + κ)`` with the library's κ (``NOISE_RATIO``),
  for the portfolio step, while the ranker learns each cell's own score with ``b`` as its row
  weight (:func:`metakg.metalearner.knowledge.learning_targets`, decision 0012);
- ``weighted_plain``: the same with ``b = w`` (κ = ∞);
- ``estimated``: a candidate, ``b`` read from the runs rather than set by a rule
  (:func:`estimated_reliability`: how much weaker the weak cells' rank correlation with their
  configurations' scores elsewhere is than the seed cells'), as the shrinkage and the row weight.

``all_strong`` (every cell a seed run: the seed matrix itself) is the ceiling.

The recommender (``--recommender``, :mod:`stand_in`, as ``bench/active_learning_curve.py``
refits it) is ``default``, the default ``MetaRecommender`` ranking as it ships, one of decision
0012's variants (``shrunk-ranker``, the default before it; ``weighted-ranker``;
``shrunk-weighted``; ``full-portfolio``; ``full-ranker``), or
``former``, the former default's lighter surrogate that was measured before the default
changed. ``--conditions`` and ``--scenarios`` fit a subset (rows only, no report) for a paired
comparison of two recommenders or conditions on the same draws
(``bench/weak_supervision_pairs.py`` compares such rows).

Protocol: ``bench/lodo.py``'s views (rank normalisation, configurations run on at least 95% of
the datasets), cached by ``bench/lodo_paired.py`` under ``.metakg-build/bench-cache/``; a
held-out dataset leaves the training views with what was derived from it and with the same
table under another target; the second derived split and the auxiliary datasets are left
out. The cell split and the weak values are drawn per (dataset, seed), shared by the
conditions. Per condition: the mean over held-out datasets (seeds averaged per dataset first)
with a 95% percentile bootstrap interval over held-out datasets (10,000 resamples), and the
paired differences weighted − equal, weighted − strong_only, equal − strong_only.

Every finished (group, dataset, seed) is appended to
``.metakg-build/weak_supervision-{recommender}.jsonl``
and the report rewritten, so a run can be stopped and resumed and the report holds partial
results (``"complete": false``) while it runs.

With ``--strong-share 0.1 --out bench/results/weak_supervision_scarce.json --rows
.metakg-build/weak_supervision_scarce-default.jsonl``: the same where seed runs are scarce (10% of the
cells).

Usage: nice python bench/weak_supervision.py [--groups roc_auc] [--seeds 0,1,2] [--limit N]
       [--strong-share 0.4] [--recommender default|shrunk-ranker|weighted-ranker|shrunk-weighted|full-portfolio|full-ranker|former]
"""

from __future__ import annotations

import argparse
import json
import lzma
import math
import os
import pickle
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

# bench/lodo_paired.py and bench/lodo.py, beside this script
from lodo_paired import CACHE, NORMALISATION, bootstrap_interval, load_views, views_key, write_json
from stand_in import RECOMMENDERS, fit_stand_in

from metakg.kg import reliability as reliability_rule
from metakg.kg.reliability import FULL_FOLDS, run_weight
from metakg.metalearner.evaluation import normalised_against_median
from metakg.metalearner.knowledge import MetaData, normalise_scores, shrink_to_prior
from metakg.metalearner.recommenders import Query

STRONG_SHARE = 0.40
KS = (1, 5)
ROWS = ".metakg-build/weak_supervision-{recommender}.jsonl"
#: scenario -> (source, folds, whether an outcome) of its weak runs, read by
#: :func:`kg.reliability.run_weight` (folds ``None``: all of the task's). Draws are made in
#: this order, so a scenario added at the end leaves the others' draws as they were.
SCENARIOS: dict[str, tuple[str, int | None, bool]] = {
    "one_fold": ("cli", 1, False), "other_protocol": (f"mlflow:{'0' * 32}", None, False),
    "outcome": ("cli", 1, True)}
CONDITIONS = ("all_strong", "strong_only", "equal", "weighted", "weighted_plain", "estimated")
_FOLD_LINE = re.compile(r'^run:([0-9a-f]+)\\/e\\/([a-z_0-9]+)\\/(\d+) a mls:ModelEvaluation')
_VALUE_LINE = re.compile(r'^\s*mls:hasValue "([^"]+)"')


def fold_scores(metric: str, meta: MetaData, seed_path: str, key: str) -> dict[str, list[float]]:
    """Run id -> its per-fold scores of ``metric``, for the runs of ``meta.run_ids``, read once
    from the seed graph's text (minutes) and cached beside the views."""
    path = CACHE / key / f"{metric}_folds.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    want = set(meta.run_ids.values())
    out: dict[str, dict[int, float]] = {}
    t0 = time.perf_counter()
    current: tuple[str, int] | None = None
    with lzma.open(seed_path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if current is not None:
                hit = _VALUE_LINE.match(line)
                if hit:
                    out.setdefault(current[0], {})[current[1]] = float(hit.group(1))
                    current = None
                    continue
            if line.startswith("run:") and f"\\/e\\/{metric}\\/" in line:
                m = _FOLD_LINE.match(line)
                current = (m.group(1), int(m.group(3))) if m and m.group(1) in want else None
    folds = {r: [v[k] for k in sorted(v)] for r, v in out.items()}
    path.write_bytes(pickle.dumps(folds))
    print(f"  {metric}: folds of {len(folds)} runs read in {time.perf_counter() - t0:.0f} s", flush=True)
    return folds


def fold_spread(meta: MetaData, folds: dict[str, list[float]]) -> pd.Series:
    """Per dataset, the median over its configurations of the between-fold standard deviation."""
    sds: dict[str, list[float]] = {}
    for (d, _c), run in meta.run_ids.items():
        v = folds.get(run)
        if v is not None and len(v) > 1:
            sds.setdefault(d, []).append(float(np.std(v, ddof=1)))
    return pd.Series({d: float(np.median(v)) for d, v in sds.items()}, dtype=float)


def weak_values(scenario: str, train: MetaData, folds: dict[str, list[float]], spread: pd.Series,
                rng: np.random.Generator, bias_scale: float = 1.0) -> pd.DataFrame:
    """The weak runs' scores of every training cell under ``scenario``.

    ``bias_scale`` stretches what separates a weak run from the cell's seed mean: another
    protocol's biases in multiples of the dataset's between-fold spread, and a single fold's
    distance from the mean (a hand-logged score or an outcome noisier than one of the seed's
    folds). 1: as drawn."""
    raw = train.raw
    sd = spread.reindex(raw.index).fillna(float(spread.median())).to_numpy()[:, None]
    if scenario in ("one_fold", "outcome"):
        out = raw.to_numpy(dtype=float).copy()
        noise = rng.normal(size=out.shape) * sd
        for i, d in enumerate(raw.index):
            for j, c in enumerate(raw.columns):
                v = folds.get(train.run_ids.get((d, c), ""))
                out[i, j] = v[rng.integers(len(v))] if v else out[i, j] + noise[i, j]
        single = pd.DataFrame(out, index=raw.index, columns=raw.columns)
        return single if bias_scale == 1.0 else raw + bias_scale * (single - raw)
    fams = pd.Series(train.families).reindex(raw.columns).fillna("?").to_numpy()
    uniq = {f: k for k, f in enumerate(sorted(set(fams)))}
    per_family = rng.normal(size=(len(raw.index), len(uniq))) * sd
    bias = rng.normal(size=(len(raw.index), 1)) * sd + per_family[:, [uniq[f] for f in fams]]
    return raw + bias_scale * bias


def views(train: MetaData, values: pd.DataFrame, reliability: pd.DataFrame | None) -> MetaData:
    """Training views of these raw scores (NaN: not run), as ``load_metadata`` builds them."""
    norm = normalise_scores(values, pd.Series(train.higher), NORMALISATION)
    if reliability is not None:
        norm = shrink_to_prior(norm, reliability)
    return replace(train, raw=values, norm=norm, reliability=reliability)


def best_at(meta: MetaData, seed: int, query: Query, truth: pd.Series,
            recommender: str = "default") -> dict[str, float]:
    """best@k of the recommender (:mod:`stand_in`) fitted on ``meta``."""
    model = fit_stand_in(meta, seed, recommender)
    ranked = model.score(query).reindex(truth.index).dropna().sort_values(
        ascending=False, kind="stable").index
    return {f"best@{k}": float(truth[ranked[:k]].max()) for k in KS}


@contextmanager
def _noise_ratio(value: float) -> Iterator[None]:
    """:data:`metakg.kg.reliability.NOISE_RATIO` (κ) set to ``value`` inside: for ``norm`` and
    for the relative scores the portfolio step reads and the ranker's row weights."""
    old = reliability_rule.NOISE_RATIO
    reliability_rule.NOISE_RATIO = value
    try:
        yield
    finally:
        reliability_rule.NOISE_RATIO = old


def task_folds(folds: dict[str, list[float]]) -> int:
    """The seed tasks' number of folds: the most common length of the runs' fold lists."""
    lengths = pd.Series([len(v) for v in folds.values()])
    return int(lengths.mode().iloc[0]) if len(lengths) else FULL_FOLDS


def weight(scenario: str, n_task_folds: int) -> float:
    """The reliability :func:`kg.reliability.run_weight` gives the scenario's weak runs."""
    source, n, outcome = SCENARIOS[scenario]
    return run_weight(source, n_task_folds if n is None else n, task_folds=n_task_folds,
                      outcome=outcome)


def one(state: dict, d: str, seed: int, folds: dict, spread: pd.Series,
        wanted: set[tuple[str, str]] | None = None) -> list[dict]:
    """The (scenario, condition) pairs ``wanted`` of one held-out dataset and seed (``None``:
    all; the scenario of ``all_strong`` and ``strong_only`` is ``-``). The draws are the same
    whichever are asked for."""
    wanted = set(planned_pairs(CONDITIONS, tuple(SCENARIOS))) if wanted is None else wanted
    meta, related, second = state["meta"], state["related"], state["second"]
    train = replace(meta.without(d, *related.get(d, [])).drop(second), auxiliary=None,
                    reliability=None)
    truth = normalised_against_median(meta, d)
    query = Query(metafeatures=meta.metafeatures.loc[d].to_dict())
    rng = np.random.default_rng([seed, meta.datasets.index(d)])
    seen = train.raw.notna().to_numpy()
    share = state.get("strong_share", STRONG_SHARE)
    split = state.get("split", "cells")
    if split == "tables":  # a team's own tables hold its runs: each table all seed or all weak
        strong = seen & (np.random.default_rng([seed, meta.datasets.index(d), 1]).random(
            (seen.shape[0], 1)) < share)
    else:
        strong = seen & (rng.random(seen.shape) < share)
    weak = seen & ~strong
    rec = state.get("recommender", "default")
    base = {"group": state["metric"], "dataset": d, "seed": seed,
            "strong_cells": int(strong.sum()), "weak_cells": int(weak.sum()),
            "recommender": rec, "bias_scale": state.get("bias_scale", 1.0), "split": split}
    rows = []
    if ("-", "all_strong") in wanted:
        rows.append({**base, "scenario": "-", "condition": "all_strong",
                     **best_at(train, seed, query, truth, rec)})
    if ("-", "strong_only") in wanted:
        rows.append({**base, "scenario": "-", "condition": "strong_only",
                     **best_at(views(train, train.raw.where(strong), None), seed, query, truth, rec)})
    for scenario in SCENARIOS:
        values = train.raw.where(strong, weak_values(scenario, train, folds, spread, rng,
                                                     state.get("bias_scale", 1.0))).where(seen)
        if not any(sc == scenario for sc, _ in wanted):  # drawn all the same: later draws match
            continue
        w = weight(scenario, task_folds(folds))
        rel = pd.DataFrame(np.where(weak, w, 1.0), index=values.index, columns=values.columns)
        for condition, r in (("equal", None), ("weighted", rel)):
            if (scenario, condition) in wanted:
                rows.append({**base, "scenario": scenario, "condition": condition, "weight": w,
                             **best_at(views(train, values, r), seed, query, truth, rec)})
        if (scenario, "estimated") in wanted:  # the weak runs' reliability read from the runs
            b = estimated_reliability(values, pd.Series(train.higher), strong, weak,
                                      paired=split == "cells")
            est = pd.DataFrame(np.where(weak, b, 1.0), index=values.index, columns=values.columns)
            with _noise_ratio(math.inf):  # b itself: as the shrinkage and as the row weight
                rows.append({**base, "scenario": scenario, "condition": "estimated", "weight": b,
                             **best_at(views(train, values, est), seed, query, truth, rec)})
        if (scenario, "weighted_plain") in wanted:
            with _noise_ratio(math.inf):  # the factor b = w itself: the reliability as the weight
                rows.append({**base, "scenario": scenario, "condition": "weighted_plain", "weight": w,
                             **best_at(views(train, values, rel), seed, query, truth, rec)})
    return rows


def estimated_reliability(values: pd.DataFrame, higher: pd.Series, strong: np.ndarray,
                          weak: np.ndarray, min_cells: int = 5, paired: bool = True) -> float:
    """The weak runs' reliability as the runs show it, by the attenuation of a correlation.

    Within each dataset, the rank correlation of the cells' scores with what their
    configurations score on the other datasets' seed runs (their mean percentile there) is
    ``r_seed`` over its seed-run cells and ``r_weak`` over its weak cells. Noise in a weak run
    attenuates its correlation by ``sqrt(signal / (signal + noise))`` (Spearman's
    attenuation), so ``(r_weak / r_seed)²``, with both averaged over the datasets, estimates
    the share of a weak run's variation that is signal: about 1 for runs as good as the
    seed's, about 0 for runs whose noise or bias buries what a configuration does. A shift of
    all of a dataset's scores changes neither correlation. Paired, only datasets with both
    kinds count, so each dataset's own predictability cancels; unpaired (weak runs on a team's
    own tables, where no seed run is), each mean is over the datasets that have its kind, which
    assumes the weak tables are about as predictable from the others as the seed's: the
    estimate is then between tables, and the draw of which tables are weak adds to its spread.

    Args:
        values: datasets × configurations raw scores (NaN: not run).
        higher: per dataset, whether higher is better.
        strong, weak: the seed-run and weak cells (boolean arrays of ``values``' shape).
        min_cells: cells of each kind a dataset needs to count.
        paired: count only the datasets that have enough cells of both kinds.

    Returns:
        The reliability in [0, 1] (1 when it cannot be estimated).
    """
    from scipy.stats import spearmanr

    up = higher.reindex(values.index).fillna(True).to_numpy(dtype=bool)[:, None]
    x = np.where(up, 1.0, -1.0) * values.to_numpy(dtype=float)
    seed_norm = normalise_scores(values.where(strong), higher, NORMALISATION).to_numpy(dtype=float)
    seen = np.isfinite(seed_norm)
    total, count = np.where(seen, seed_norm, 0.0).sum(axis=0), seen.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # each dataset's prior leaves it out
        prior = (total - np.where(seen, seed_norm, 0.0)) / (count - seen)
    r_seed, r_weak = [], []
    for i in range(len(x)):
        cells = {}
        for kind, mask in (("seed", strong[i]), ("weak", weak[i])):
            ok = mask & np.isfinite(x[i]) & np.isfinite(prior[i])
            if ok.sum() >= min_cells and np.ptp(x[i][ok]) > 0 and np.ptp(prior[i][ok]) > 0:
                cells[kind] = float(spearmanr(x[i][ok], prior[i][ok])[0])
        if paired and len(cells) < 2:
            continue
        r_seed += [cells["seed"]] if "seed" in cells else []
        r_weak += [cells["weak"]] if "weak" in cells else []
    if not r_seed or not r_weak or np.mean(r_seed) <= 0:
        return 1.0
    return float(np.clip((max(np.mean(r_weak), 0.0) / np.mean(r_seed)) ** 2, 0.0, 1.0))


def planned_pairs(conditions: tuple[str, ...], scenarios: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (scenario, condition) rows of one held-out dataset and seed for these conditions
    and scenarios (``all_strong`` and ``strong_only`` have no scenario: ``-``)."""
    shared = [("-", c) for c in conditions if c in ("all_strong", "strong_only")]
    return shared + [(s, c) for s in scenarios for c in conditions
                     if c not in ("all_strong", "strong_only")]


def _cached_key(key: str, metrics: list[str]) -> str:
    """``key``, or when its views are not cached, the newest cached folder that has every
    group: views cached before a change of ``metalearner/knowledge.py`` that leaves the seed
    graph's views as they were (a graph of seed-protocol runs has no weak cell), rather than
    minutes of reading the graph again."""
    if all((CACHE / key / f"{m}.pkl").exists() for m in metrics):
        return key
    found = sorted((p for p in CACHE.glob("*") if all((p / f"{m}.pkl").exists() for m in metrics)),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        return key
    print(f"views of key {key} not cached; reading those of {found[-1].name}", flush=True)
    return found[-1].name


def _rounded(values: list[float]) -> list[float]:
    return [round(x, 4) for x in values]


def _summary(values: np.ndarray) -> dict:
    return {"mean": round(float(values.mean()), 4), "held_out": len(values),
            "interval_95": _rounded(bootstrap_interval(values))}


def group_report(rows: pd.DataFrame) -> dict:
    """Per scenario and k: each condition's mean best@k and the paired differences."""
    per = rows.groupby(["dataset", "scenario", "condition"], as_index=False).mean(numeric_only=True)
    shared = per[per["scenario"] == "-"]
    out: dict = {"group": str(rows["group"].iloc[0]), "held_out": int(per["dataset"].nunique()),
                 "seeds": sorted(int(s) for s in rows["seed"].unique()),
                 "strong_cells_mean": round(float(rows["strong_cells"].mean()), 1),
                 "weak_cells_mean": round(float(rows["weak_cells"].mean()), 1), "scenarios": {}}
    for scenario in SCENARIOS:
        part = pd.concat([shared, per[per["scenario"] == scenario]])
        if part[part["scenario"] == scenario].empty:
            continue
        table = part.pivot_table(index="dataset", columns="condition", values=[f"best@{k}" for k in KS])
        entry: dict = {"weight": float(rows.loc[rows["scenario"] == scenario, "weight"].iloc[0])}
        for k in KS:
            col = f"best@{k}"
            t = table[col].dropna()
            entry[col] = {c: _summary(t[c].to_numpy()) for c in CONDITIONS if c in t}
            for a, b in (("weighted", "equal"), ("weighted", "strong_only"), ("equal", "strong_only"),
                         ("weighted", "weighted_plain")):
                if a in t and b in t:
                    entry[col][f"{a}_minus_{b}"] = _summary((t[a] - t[b]).to_numpy())
        out["scenarios"][scenario] = entry
    return out


def write_report(out: Path, rows: list[dict], args: argparse.Namespace, planned: dict[str, int],
                 spreads: dict[str, float], n_folds: int, seconds: float) -> dict:
    frame = pd.DataFrame(rows)
    groups = [] if frame.empty else [group_report(p) for _, p in frame.groupby("group", sort=False)]
    seeds = [int(s) for s in args.seeds.split(",")]
    held: dict[tuple[str, str, int], set[tuple[str, str]]] = {}
    for r in rows:
        held.setdefault((r["group"], r["dataset"], r["seed"]), set()).add((r["scenario"], r["condition"]))
    every = set(planned_pairs(CONDITIONS, tuple(SCENARIOS)))
    finished = {unit for unit, got in held.items() if every <= got}
    report = {
        "protocol": {"strong_share": args.strong_share, "split": args.split,
                     "normalisation": NORMALISATION, "coverage": 0.95,
                     "recommender": RECOMMENDERS[args.recommender],
                     "recommender_key": args.recommender,
                     "task_folds": n_folds,
                     "scenarios": {s: {"source": src, "folds": n_folds if n is None else n,
                                       "weight": round(weight(s, n_folds), 4)}
                                   for s, (src, n, _) in SCENARIOS.items()},
                     "fold_sd_median": spreads, "seeds": seeds, "held_out_limit": args.limit},
        "planned_held_out": planned,
        "complete": all(len({d for g, d, s in finished if g == grp and s == seed}) == n
                        for grp, n in planned.items() for seed in seeds),
        "groups": groups, "seconds": round(seconds, 1)}
    write_json(out, report)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default=None)
    ap.add_argument("--seed", default="data/seed.trig.xz")
    ap.add_argument("--groups", default="roc_auc", help="comma-separated metrics of the groups")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--limit", type=int, default=None, help="only the first N held-out datasets per group")
    ap.add_argument("--out", default="bench/results/weak_supervision.json")
    ap.add_argument("--conditions", default=",".join(CONDITIONS),
                    help="comma-separated conditions to fit (a partial set: rows only, for a "
                         "paired comparison with another recommender's rows)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="comma-separated scenarios to fit (a partial set: rows only)")
    ap.add_argument("--recommender", choices=sorted(RECOMMENDERS), default="default",
                    help="the recommender refitted per condition (bench/stand_in.py)")
    ap.add_argument("--rows", default=None, help=f"finished rows (default {ROWS})")
    ap.add_argument("--report-only", action="store_true", help="rebuild the report from --rows")
    ap.add_argument("--strong-share", type=float, default=STRONG_SHARE,
                    help="share of the training cells that stay seed runs (the rest: weak runs)")
    ap.add_argument("--bias-scale", type=float, default=1.0,
                    help="what separates a weak run from its cell's seed mean, stretched: another "
                         "protocol's biases in multiples of the dataset's between-fold spread, a "
                         "single fold's distance from the mean (a stress test of the weighting; "
                         "use its own --rows)")
    ap.add_argument("--split", choices=("cells", "tables"), default="cells",
                    help="what becomes a weak run: cells drawn within every training table, or "
                         "whole training tables (a team's runs on its own tables; use its own --rows)")
    ap.add_argument("--views-key", default=None,
                    help="the folder of .metakg-build/bench-cache/ to read the views from")
    args = ap.parse_args()
    scenarios = tuple(args.scenarios.split(","))
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        ap.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    conditions = tuple(args.conditions.split(","))
    unknown = sorted(set(conditions) - set(CONDITIONS))
    if unknown:
        ap.error(f"unknown condition(s) {', '.join(unknown)}; choose from {', '.join(CONDITIONS)}")
    pairs = planned_pairs(conditions, scenarios)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    metrics = args.groups.split(",")
    key = args.views_key or _cached_key(views_key(args.store, args.seed), metrics)
    groups = load_views(metrics, args.store, args.seed, key)
    rows_path = Path(args.rows or ROWS.format(recommender=args.recommender))
    rows_path.parent.mkdir(parents=True, exist_ok=True)
    rows = ([json.loads(line) for line in rows_path.read_text().splitlines() if line.strip()]
            if rows_path.exists() else [])
    for column, value in (("split", args.split), ("bias_scale", args.bias_scale)):
        other = {r.get(column, "cells" if column == "split" else 1.0) for r in rows} - {value}
        if other:  # a unit done in another setting would be taken as done in this one
            ap.error(f"{rows_path} holds rows of {column} {sorted(map(str, other))}, not {value}; "
                     "give this setting its own --rows")
    done: dict[tuple[str, str, int], set[tuple[str, str]]] = {}
    for r in rows:  # a unit is done for the (scenario, condition) pairs its rows hold
        done.setdefault((r["group"], r["dataset"], r["seed"]), set()).add((r["scenario"], r["condition"]))
    seeds = [int(s) for s in args.seeds.split(",")]
    planned = {m: len(groups[m]["holdout"][:args.limit]) for m in metrics}
    folds = {m: fold_scores(m, groups[m]["meta"], args.seed, key) for m in metrics}
    spread = {m: fold_spread(groups[m]["meta"], folds[m]) for m in metrics}
    spreads = {m: round(float(s.median()), 5) for m, s in spread.items()}
    n_folds = task_folds(folds[metrics[0]])
    t0 = time.perf_counter()
    partial = (set(conditions) != set(CONDITIONS)
               or set(scenarios) != set(SCENARIOS))  # rows only: no report
    for m in [] if args.report_only else metrics:
        state = {**groups[m], "strong_share": args.strong_share, "recommender": args.recommender,
                 "bias_scale": args.bias_scale, "split": args.split}
        for seed in seeds:  # every dataset of one seed first: a stopped run still covers them all
            for d in state["holdout"][:args.limit]:
                missing = set(pairs) - done.get((m, d, seed), set())
                if not missing:
                    continue
                t1 = time.perf_counter()
                new = one(state, d, seed, folds[m], spread[m], missing)
                with rows_path.open("a") as fh:
                    fh.writelines(json.dumps(r) + "\n" for r in new)
                rows += new
                if partial:
                    print(f"{m} {d} seed {seed}: " + " ".join(
                        f"{r['scenario']}/{r['condition']}={r['best@5']:.3f}" for r in new), flush=True)
                    continue
                write_report(Path(args.out), rows, args, planned, spreads, n_folds,
                             time.perf_counter() - t0)
                print(f"{m} {d} seed {seed}: best@5 " + " ".join(
                    f"{r['scenario']}/{r['condition']}={r['best@5']:.3f}" for r in new)
                    + f" ({time.perf_counter() - t1:.0f} s)", flush=True)
    if partial:
        return
    report = write_report(Path(args.out), rows, args, planned, spreads, n_folds,
                          time.perf_counter() - t0)
    for g in report["groups"]:
        print(json.dumps(g["scenarios"], indent=1))
    print(f"complete: {report['complete']}")


if __name__ == "__main__":
    main()
