"""Recommendation latency.

1. Seed graph, already-characterised dataset (``recommend_for_dataset``): p50/p99 over every
   seed dataset (goal p50 <= 20 ms), after the first call fitted the recommender.
2. Synthetic views of 2,000 datasets x 1,000 configurations (dense matrices built in memory,
   not read from a store): fit once, then p50/p99 of ``recommend_for_query`` (goal <= 200 ms),
   with peak RSS.
3. ``metakg recommend`` end to end on a 10,000 x 50 CSV, as separate processes after a first
   call: median wall time (goal <= 3 s) and the split reported by ``--verbose``, both for
   calls answered by the warm worker (the default) and for cold processes (``METAKG_WARM=0``,
   the baseline, measured alternately in the same run).

Usage: python bench/recommend_speed.py [--seed data/seed.trig.xz] [--parts seed,synthetic,cli]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from metakg.kg import KnowledgeGraph, OxigraphStore
from metakg.kg.spaces import portfolio
from metakg.metalearner.knowledge import MetaData, normalise_scores
from metakg.metalearner.recommend import recommend_for_dataset, recommend_for_query
from metakg.metalearner.recommender import MetaRecommender
from metakg.metalearner.recommenders import Query


def pct(xs: list[float]) -> dict[str, float]:
    return {"p50_ms": statistics.median(xs) * 1000, "p99_ms": float(np.percentile(xs, 99)) * 1000,
            "n": len(xs)}


def seed_latency(seed: Path, work: Path) -> dict:
    store = OxigraphStore(work / "seedstore")
    store.load(seed)
    graph = KnowledgeGraph(store)
    ds = graph.datasets()
    t = time.perf_counter()
    recommend_for_dataset(graph, ds[0].id, k=5)
    first = time.perf_counter() - t
    xs = []
    for d in ds * 2:
        t = time.perf_counter()
        recommend_for_dataset(graph, d.id, k=5)
        xs.append(time.perf_counter() - t)
    store.close()
    return {"first_call_s": first, **pct(xs)}


def synthetic(n_datasets: int = 2000, n_configs: int = 1000) -> dict:
    rng = np.random.default_rng(0)
    ids = [f"d{i}" for i in range(n_datasets)]
    cfg_list = portfolio(n_configs, seed=1)
    from metakg.kg.graph import make_configuration

    cids = [make_configuration(c).id for c in cfg_list]
    latent = rng.normal(size=(n_datasets, 8))
    weights = rng.normal(size=(8, n_configs))
    raw = pd.DataFrame(0.7 + 0.05 * np.tanh(latent @ weights) + 0.01 * rng.random((n_datasets, n_configs)),
                       index=ids, columns=cids)
    feats = ["log_nr_inst", "log_nr_attr", "frac_cat", "missing_frac", "nr_class", "skewness.mean",
             "cor.mean", "pca_95_frac", "attr_ent.mean", "mut_inf.mean", "lm_1nn", "lm_stump"]
    mf = pd.DataFrame(latent @ rng.normal(size=(8, len(feats))), index=ids, columns=feats)
    meta = MetaData(task_type="classification", datasets=ids, names={d: d for d in ids}, raw=raw,
                    norm=normalise_scores(raw, pd.Series(True, index=ids)),
                    metric=dict.fromkeys(ids, "roc_auc"), higher=dict.fromkeys(ids, True),
                    configs=dict(zip(cids, cfg_list, strict=True)),
                    families={c: cfg["family"] for c, cfg in zip(cids, cfg_list, strict=True)},
                    metafeatures=mf, rows=dict.fromkeys(ids, 1000))
    t = time.perf_counter()
    rec = MetaRecommender().fit(meta)
    fit_s = time.perf_counter() - t
    # the first query compiles the ranker's bag for the candidates, once per fitted model
    t = time.perf_counter()
    recommend_for_query(meta, Query(metafeatures=mf.iloc[0].to_dict()), k=5, recommender=rec)
    first_s = time.perf_counter() - t
    xs = []
    for i in range(50):
        q = Query(metafeatures=(mf.iloc[i] + rng.normal(scale=0.1, size=len(feats))).to_dict())
        t = time.perf_counter()
        recommend_for_query(meta, q, k=5, recommender=rec)
        xs.append(time.perf_counter() - t)
    return {"datasets": n_datasets, "configurations": n_configs, "fit_s": fit_s,
            "first_query_s": first_s, **pct(xs),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _cli_calls(exe: list[str], env: dict[str, str], repeat: int) -> dict:
    walls, splits = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run(exe, env=env, capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - t)
        splits.append({k: float(v) for k, v in re.findall(r"(\w+) (\d+) ms", r.stdout.splitlines()[-1])})
    split = {k: statistics.median(s[k] for s in splits) for k in splits[0]}
    return {"median_wall_s": statistics.median(walls), "split_ms": split,
            "outside_split_ms": statistics.median(walls) * 1000 - sum(split.values()),
            "warm_worker_answered": "answered by the warm worker" in r.stdout}


def cli(seed: Path, work: Path, repeat: int = 5) -> dict:
    """Cold processes (``METAKG_WARM=0``: Python start-up and imports every call) and calls
    answered by the warm worker that the first call starts (the default), alternately."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(10_000, 49)), columns=[f"x{i}" for i in range(49)])
    df["y"] = (df["x0"] + rng.normal(size=10_000) > 0).astype(int)
    csv = work / "big.csv"
    df.to_csv(csv, index=False)
    sockets = Path(tempfile.mkdtemp(prefix="mkw"))
    env = {**os.environ, "METAKG_STORE": str(work / "clistore"), "METAKG_SEED": str(seed),
           "METAKG_CACHE": str(work / "cache"), "TMPDIR": str(sockets), "METAKG_WARM": "1"}
    cold_env = {**env, "METAKG_WARM": "0"}
    exe = [sys.executable, "-m", "api", "recommend", str(csv), "--target", "y", "-v"]
    t = time.perf_counter()
    subprocess.run(exe, env=env, capture_output=True, check=True)  # seeds, fits, starts a worker
    first = time.perf_counter() - t
    warm = [sys.executable, "-m", "api", "warm"]
    while "pid" not in subprocess.run(warm, env=env, capture_output=True, text=True).stdout:
        time.sleep(0.5)
    cold_runs, warm_runs = [], []
    for _ in range(repeat):
        cold_runs.append(_cli_calls(exe, cold_env, 1))
        warm_runs.append(_cli_calls(exe, env, 1))
    subprocess.run([*warm, "--stop"], env=env, capture_output=True)

    def median(runs: list[dict]) -> dict:
        return {"median_wall_s": statistics.median(r["median_wall_s"] for r in runs),
                "split_ms": {k: statistics.median(r["split_ms"][k] for r in runs)
                             for k in runs[0]["split_ms"]},
                "outside_split_ms": statistics.median(r["outside_split_ms"] for r in runs),
                "warm_worker_answered": all(r["warm_worker_answered"] for r in runs)}

    cold, hot = median(cold_runs), median(warm_runs)
    return {"first_call_s": first, "cold_process": cold, "warm_worker": hot,
            "ratio_warm_to_cold": hot["median_wall_s"] / cold["median_wall_s"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", default="data/seed.trig.xz")
    ap.add_argument("--out", default="bench/results/recommend_speed.json")
    ap.add_argument("--parts", default="seed,synthetic,cli",
                    help="comma-separated: which of seed, synthetic, cli to measure; the others "
                         "are kept from --out")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    work = Path(tempfile.mkdtemp(prefix="metakg-rec-"))
    os.environ["METAKG_CACHE"] = str(work / "cache")
    out = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    if "seed" in parts:
        out["seed_graph"] = seed_latency(Path(args.seed), work)
        print(out, flush=True)
    if "synthetic" in parts:
        out["synthetic_2000x1000"] = synthetic()
        print(out, flush=True)
    if "cli" in parts:
        out["cli_10000x50"] = cli(Path(args.seed).resolve(), work)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
