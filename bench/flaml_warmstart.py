"""FLAML AutoML on LightGBM, warm-started by metakg vs cold, on the Optuna bench's tables.

The FLAML counterpart of ``bench/optuna_warmstart.py``: same tables (its default list), same
seed-0 task per table, same leave-one-dataset-out recommender (fitted without the table and
its same-table relatives, from the inputs ``bench/optuna_warmstart_transfer.py`` caches).

Per (table, FLAML seed) two searches run with FLAML's built-in ``lgbm`` estimator only, the
task's metric, FLAML's own ``n_splits``-fold cross-validation, ``max_iter`` iterations and no
time budget (iterations bind):

* cold: FLAML's default start (its low-cost initial point);
* warm: ``starting_points`` = metakg's LightGBM top 5 as :func:`flaml_starting_points` maps
  them into FLAML's ``lgbm`` space for this data size (``strict=False``: what the space lacks,
  such as ``subsample``, is dropped, and values are clipped into its ranges).

FLAML's choice after 5 and after ``max_iter`` iterations (the lowest validation loss among the
first n trials of its log) is then scored the way the Optuna bench scores its choices, so warm
and cold are scored identically and by the same code as Optuna's: on the bench's own folds
(``runner.evaluate_fold``, the seed-0 folds) and on ``--fresh-repeats`` fresh cross-validations
(other shuffles, and other rows above the subsample size) that neither search saw. FLAML's own
best cross-validated score is kept beside them.

Every finished (table, seed) is appended to a JSONL at once; a rerun skips those present. The
summary (``--out``) counts tables where warm >= cold (median over seeds per table) after 5 and
after ``max_iter`` iterations, on the bench folds, the fresh folds and FLAML's own CV, with a 95%
bootstrap interval over tables of the share, of the paired difference share(warm better) -
share(cold better), and of the paired difference to the Optuna bench's warm >= cold share on
the same tables (``--optuna``).

Usage: python bench/flaml_warmstart.py [--datasets a,b] [--seeds 2] [--max-iter 20]
       [--jsonl bench/results/flaml_warmstart.jsonl] [--out bench/results/flaml_warmstart.json]
       [--summary-only]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
from lodo_paired import write_json
from optuna_warmstart import SHARED, cv_score, default_datasets, fresh_folds, fresh_score
from optuna_warmstart_transfer import held_out, load_inputs

from metakg.kg.ingest import read_manifest
from metakg.kg.measures import HIGHER_IS_BETTER, at_least_as_good
from metakg.metalearner.warmstart import flaml_starting_points
from metakg.runner import TaskSpec

#: FLAML's ``lgbm`` parameters that carry over to metakg's LightGBM family under the same name
SAME_NAME = ("n_estimators", "num_leaves", "min_child_samples", "learning_rate",
             "colsample_bytree", "reg_alpha", "reg_lambda")


def to_metakg(flaml_config: dict) -> dict:
    """FLAML's ``lgbm`` configuration as metakg's LightGBM configuration (``log_max_bin`` →
    ``max_bin = 2**log_max_bin - 1``, as FLAML's LGBMEstimator sets it).

    Args:
        flaml_config: a configuration from FLAML's log.

    Returns:
        ``{"family": "lightgbm", "params": ...}``.
    """
    params = {k: flaml_config[k] for k in SAME_NAME if k in flaml_config}
    for k in ("n_estimators", "num_leaves", "min_child_samples"):
        if k in params:
            params[k] = int(params[k])
    if "log_max_bin" in flaml_config:
        params["max_bin"] = (1 << int(flaml_config["log_max_bin"])) - 1
    return {"family": "lightgbm", "params": params}


#: values for what a metakg configuration leaves unset, in FLAML's ``lgbm`` names: LightGBM's
#: defaults (metakg's for ``reg_lambda``), clipped into FLAML's ranges. FLAML would otherwise
#: draw the missing values of a partial starting point at random.
UNSET = {"n_estimators": 100, "num_leaves": 31, "min_child_samples": 20, "learning_rate": 0.1,
         "colsample_bytree": 1.0, "reg_alpha": 1 / 1024, "reg_lambda": 1 / 1024, "log_max_bin": 8}


def starting_points(configs: list[dict], task_type: str, data_size: tuple[int, int]) -> list[dict]:
    """metakg's LightGBM configurations as complete starting points of FLAML's ``lgbm``.

    Args:
        configs: ``{"family": "lightgbm", "params": ...}`` dicts, best first.
        task_type: ``classification`` or ``regression``.
        data_size: (rows, columns) of the training data (FLAML's ranges grow with the rows).

    Returns:
        One dict per configuration (duplicates after mapping removed), every name set.
    """
    points = flaml_starting_points(configs, task=task_type, data_size=data_size,
                                   strict=False).get("lgbm", [])
    return [{**UNSET, **p} for p in points]


def flaml_search(X, y, task_type: str, metric: str, folds: int, max_iter: int, seed: int,
                 starting: list[dict] | None) -> list[dict]:
    """One FLAML AutoML search on LightGBM; its trials in order (config, validation loss).

    Args:
        X, y: the table as the bench prepares it.
        task_type: ``classification`` or ``regression``.
        metric: metakg's metric (``roc_auc``, ``log_loss``, ``rmse``: FLAML's names too).
        folds: FLAML's ``n_splits``.
        max_iter: iterations (no time budget).
        seed: FLAML's seed.
        starting: ``lgbm`` starting points (``None``: FLAML's default start).

    Returns:
        One ``{"config", "loss"}`` per trial, in the order FLAML ran them.
    """
    from flaml import AutoML

    # LightGBM refuses column names with JSON characters (spambase's "char_freq_["); the
    # search needs none of the names
    X = X.set_axis([f"x{i}" for i in range(X.shape[1])], axis=1)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "flaml.log"
        automl = AutoML()
        kwargs = {"starting_points": {"lgbm": starting}} if starting else {}
        automl.fit(X, y, task=task_type, metric=metric, estimator_list=["lgbm"],
                   eval_method="cv", n_splits=folds, max_iter=max_iter, time_budget=-1,
                   seed=seed, n_jobs=1, verbose=0, log_file_name=str(log), log_type="all",
                   sample=False,
                   retrain_full=False, early_stop=False, **kwargs)
        trials = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    trials = [t for t in trials if "validation_loss" in t and "config" in t]
    trials.sort(key=lambda t: t.get("record_id", 0))
    return [{"config": {k: v for k, v in t["config"].items() if not k.startswith("FLAML_")},
             "loss": float(t["validation_loss"])} for t in trials]


def loss_to_score(loss: float, metric: str) -> float:
    """FLAML's validation loss as the metric's value (FLAML minimises 1 - AUC)."""
    return 1.0 - loss if metric == "roc_auc" else loss


def run_one(X, y, spec: TaskSpec, folds: list, metric: str, max_iter: int, seed: int,
            starting: list[dict] | None, memo: dict) -> dict:
    """A search and its choices after 5 and ``max_iter`` iterations, scored on the bench's
    folds, on fresh folds, and by FLAML's own cross-validation."""
    t0 = time.perf_counter()
    trials = flaml_search(X, y, spec.task_type, metric, spec.folds, max_iter, seed, starting)
    out: dict = {"iterations": len(trials), "search_s": round(time.perf_counter() - t0, 1),
                 "flaml_cv": {}, "bench_folds": {}, "fresh": {}, "picks": {}}
    for n in sorted({5, max_iter}):
        first = trials[:n]
        if not first:
            continue
        pick = min(range(len(first)), key=lambda i: first[i]["loss"])  # first of ties
        config = to_metakg(first[pick]["config"])
        key = json.dumps(config, sort_keys=True)
        if ("bench", key) not in memo:
            memo[("bench", key)] = cv_score(X, y, spec, config, metric)
        out["picks"][n] = config
        out["flaml_cv"][n] = loss_to_score(first[pick]["loss"], metric)
        out["bench_folds"][n] = memo[("bench", key)]
        out["fresh"][n] = fresh_score(folds, config, metric, memo)
    out["total_s"] = round(time.perf_counter() - t0, 1)
    return out


def read_jsonl(path: Path) -> list[dict]:
    """The finished runs in the JSONL (a line cut short by a killed run is skipped)."""
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def done_pairs(path: Path) -> set[tuple[str, int]]:
    """(table, seed) pairs already in the JSONL."""
    return {(r["table"], r["seed"]) for r in read_jsonl(path)}


def _bootstrap(values: np.ndarray, rng: np.random.Generator, n: int = 10_000) -> list[float]:
    """95% percentile interval of the mean of ``values`` over resampled tables."""
    if len(values) == 0:
        return [float("nan"), float("nan")]
    means = values[rng.integers(0, len(values), size=(n, len(values)))].mean(axis=1)
    return [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]


def summarise(rows: list[dict], optuna: dict, max_iter: int) -> dict:
    """Per checkpoint and scoring: warm >= cold counts over tables (median over seeds), with
    bootstrap intervals; the same count of the Optuna bench on the same tables and the paired
    difference."""
    rng = np.random.default_rng(0)
    tables: dict[str, list[dict]] = {}
    for r in rows:
        tables.setdefault(r["table"], []).append(r)
    out: dict = {"tables": len(tables), "table_names": list(tables),
                 "seeds_per_table": {t: len(v) for t, v in tables.items()},
                 # FLAML's low-cost start makes cold iterations far cheaper than warm ones
                 "median_search_seconds": {arm: float(np.median([r[arm]["search_s"] for r in rows]))
                                           if rows else float("nan") for arm in ("cold", "warm")}}
    for n in sorted({5, max_iter}):
        key = str(n)
        for label in ("bench_folds", "fresh", "flaml_cv"):
            ge, better, worse, gain, opt_ge, names = [], [], [], [], [], []
            for name, runs in tables.items():
                metric = runs[0]["metric"]
                warm = float(np.median([r["warm"][label][key] for r in runs]))
                cold = float(np.median([r["cold"][label][key] for r in runs]))
                ge.append(at_least_as_good(warm, cold, metric))
                better.append(ge[-1] and not at_least_as_good(cold, warm, metric))
                worse.append(not ge[-1])
                sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
                gain.append(sign * (warm - cold) / abs(cold) if cold else float("nan"))
                o = optuna.get(name)
                if o is not None and label != "flaml_cv":
                    src = o["fresh"] if label == "fresh" else o
                    if key in src["warm"]:
                        opt_ge.append(at_least_as_good(src["warm"][key], src["cold"][key], metric))
                        names.append(len(ge) - 1)
            ge_a = np.array(ge, dtype=float)
            cell = {"warm_at_least_as_good": f"{int(ge_a.sum())}/{len(ge)}",
                    "share": float(ge_a.mean()), "share_95": _bootstrap(ge_a, rng),
                    "warm_strictly_better": int(sum(better)), "cold_strictly_better": int(sum(worse)),
                    "share_better_minus_share_worse": float(np.mean(better) - np.mean(worse)),
                    "share_better_minus_share_worse_95": _bootstrap(
                        np.array(better, dtype=float) - np.array(worse, dtype=float), rng),
                    "median_relative_gain_over_cold": float(np.nanmedian(gain))}
            if opt_ge:
                mine = ge_a[names]
                theirs = np.array(opt_ge, dtype=float)
                cell["optuna_same_tables"] = f"{int(theirs.sum())}/{len(theirs)}"
                cell["flaml_minus_optuna_share"] = float((mine - theirs).mean())
                cell["flaml_minus_optuna_share_95"] = _bootstrap(mine - theirs, rng)
            out[f"after {n}: {label}"] = cell
    # issue 37's bar: warm >= cold on >= 80% of tables after 5 trials, >= 65% after 20
    bar = {5: 0.80, 20: 0.65}
    out["goal"] = {f"after {n}: {label}": out[f"after {n}: {label}"]["share"] >= bar[n]
                   for n in sorted({5, max_iter}) if n in bar
                   for label in ("bench_folds", "fresh", "flaml_cv")} if tables else {}
    return out


def write_summary(jsonl: Path, out: Path, optuna_path: Path, args: argparse.Namespace) -> dict:
    """Read the JSONL, summarise, write ``out`` whole then rename."""
    rows = read_jsonl(jsonl)
    optuna = json.loads(optuna_path.read_text())["per_dataset"] if optuna_path.exists() else {}
    summary = summarise(rows, optuna, args.max_iter)
    data = {"settings": {"estimator_list": ["lgbm"], "max_iter": args.max_iter,
                         "checkpoints": sorted({5, args.max_iter}), "time_budget": -1,
                         "eval_method": "cv", "fresh_repeats": args.fresh_repeats,
                         "warm": "flaml_starting_points(metakg LightGBM top 5, strict=False)",
                         "cold": "FLAML default start", "optuna_baseline": str(optuna_path),
                         "jsonl": str(jsonl)},
            "summary": summary, "per_run": rows}
    write_json(out, data)
    return summary


def past(stop_at: str | None) -> bool:
    """Whether the UTC wall clock is past ``stop_at`` (HH:MM, today)."""
    if not stop_at:
        return False
    now = time.gmtime()
    hour, minute = map(int, stop_at.split(":"))
    return (now.tm_hour, now.tm_min) >= (hour, minute)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed-file", default="data/seed.trig.xz")
    ap.add_argument("--datasets", default=None, help="comma-separated (default: the Optuna bench's)")
    ap.add_argument("--seeds", type=int, default=2, help="FLAML seeds per table; medians are counted")
    ap.add_argument("--max-iter", type=int, default=20)
    ap.add_argument("--fresh-repeats", type=int, default=3)
    ap.add_argument("--jsonl", default="bench/results/flaml_warmstart.jsonl")
    ap.add_argument("--out", default="bench/results/flaml_warmstart.json")
    ap.add_argument("--optuna", default="bench/results/optuna_warmstart.json")
    ap.add_argument("--summary-only", action="store_true")
    ap.add_argument("--stop-at", default=None,
                    help="UTC time HH:MM after which no new (table, seed) starts")
    args = ap.parse_args()
    jsonl, out = Path(args.jsonl), Path(args.out)
    if args.summary_only:
        print(json.dumps(write_summary(jsonl, out, Path(args.optuna), args), indent=1))
        return
    warnings.filterwarnings("ignore")
    for name in ("flaml", "flaml.automl", "flaml.tune", "flaml.automl.logger"):
        logging.getLogger(name).setLevel(logging.ERROR)
    inputs = load_inputs(args.seed_file)
    rows = {r["name"]: r for r in read_manifest(SHARED / "manifest.csv")}
    done = done_pairs(jsonl)
    for name in (args.datasets or default_datasets()).split(","):
        seeds = [s for s in range(args.seeds) if (name, s) not in done]
        if past(args.stop_at):
            break
        if not seeds:
            continue
        t0 = time.perf_counter()
        h = held_out(inputs, name, rows)
        lgbm, task, spec, table, X, y = h.lgbm, h.task, h.spec, h.table, h.X, h.y
        points = starting_points([r.config for r in lgbm], task.task_type, X.shape)
        folds, memo = fresh_folds(table, task, args.fresh_repeats), {}
        for s in seeds:
            if past(args.stop_at):
                break
            record = {"table": name, "seed": s, "metric": task.metric, "rows": int(X.shape[0]),
                      "metakg_top5": [r.config for r in lgbm], "starting_points": points,
                      "cold": run_one(X, y, spec, folds, task.metric, args.max_iter, s, None, memo),
                      "warm": run_one(X, y, spec, folds, task.metric, args.max_iter, s, points, memo)}
            jsonl.parent.mkdir(parents=True, exist_ok=True)
            with jsonl.open("a") as f:
                f.write(json.dumps(record) + "\n")
            print(f"{name} seed {s} ({time.perf_counter() - t0:.0f} s): "
                  f"cold {record['cold']['fresh']} warm {record['warm']['fresh']}", flush=True)
        write_summary(jsonl, out, Path(args.optuna), args)
    print(json.dumps(write_summary(jsonl, out, Path(args.optuna), args), indent=1))


if __name__ == "__main__":
    main()
