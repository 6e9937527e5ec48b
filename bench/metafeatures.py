"""Meta-feature extraction cost.

1. Every shared dataset: seconds per dataset (median, max) for our simple + statistical +
   info-theory + landmarking groups vs pymfe with comparable groups (general, statistical,
   info-theory, landmarking) on the same tables, as a ratio; peak memory of each.
2. The goals: simple+statistical+info-theory on a 40,000 x 10 table (<= 0.5 s) and on the
   widest shared table (<= 2 s); landmarking anywhere (<= 2 s); text embedding per dataset
   once the model is loaded (<= 50 ms).

Usage: python bench/metafeatures.py [--pymfe-limit 110]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from metakg.kg import read_table
from metakg.kg.ingest import read_manifest
from metakg.metalearner.metafeatures import compute_metafeatures

SHARED = Path(os.environ.get("METAKG_SHARED", "../shared/datasets"))


def ours(df: pd.DataFrame, target: str, task: str, groups: tuple[str, ...]) -> float:
    t = time.perf_counter()
    compute_metafeatures(df, target, task_type=task, groups=groups)
    return time.perf_counter() - t


def theirs(df: pd.DataFrame, target: str, task: str) -> float:
    from pymfe.mfe import MFE

    # pymfe cannot take missing categorical values or empty columns: impute first (not timed)
    X = df.drop(columns=[target]).dropna(axis=1, how="all")
    cat = [i for i, c in enumerate(X.columns) if not pd.api.types.is_numeric_dtype(X[c])]
    X = X.copy()
    for c in X.columns:
        if pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].fillna(X[c].median())
        else:
            X[c] = X[c].astype(object).where(X[c].notna(), "missing").astype(str)
    Xv = X.to_numpy()
    y = df[target].astype(str).to_numpy() if task == "classification" else df[target].to_numpy(float)
    groups = ["general", "statistical", "info-theory"] + (["landmarking"] if task == "classification" else [])
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mfe = MFE(groups=groups, summary=["mean", "sd"], random_state=0)
        mfe.fit(Xv, y, cat_cols=cat, suppress_warnings=True)
        mfe.extract(suppress_warnings=True)
    return time.perf_counter() - t


def peak_mb(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def tier_timings(tables: list[tuple[pd.DataFrame, str, str]], groups: tuple[str, ...]) -> dict:
    """Median and largest seconds of each group alone over ``tables`` (one group at a time,
    every table), and for the probing groups the median over multiclass tables too (where
    the probes are slowest: one-against-the-rest ROC AUC)."""
    out: dict = {}
    multiclass = [i for i, (d, target, task) in enumerate(tables)
                  if task == "classification" and d[target].nunique() > 2]
    for group in groups:
        seconds = [ours(d, target, task, (group,)) for d, target, task in tables]
        key = group.replace("-", "_")
        out[f"{key}_median_s"] = statistics.median(seconds)
        out[f"{key}_max_s"] = max(seconds)
        if "probing" in group and multiclass:
            out[f"{key}_multiclass_median_s"] = statistics.median(seconds[i] for i in multiclass)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pymfe-limit", type=int, default=110,
                    help="datasets also run through pymfe (it is slow on big tables)")
    ap.add_argument("--pymfe-max-rows", type=int, default=10_000)
    ap.add_argument("--out", default="bench/results/metafeatures.json")
    ap.add_argument("--probing-only", action="store_true",
                    help="only time the probing groups on every shared table, updating --out")
    args = ap.parse_args()
    rows = read_manifest(SHARED / "manifest.csv")
    if args.probing_only:
        out = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
        tables = [(read_table(SHARED / r["file"]), r["target"], r["task"]) for r in rows]
        out.update(tier_timings(tables, ("probing", "regime-probing")))
        Path(args.out).write_text(json.dumps(out, indent=1))
        print(json.dumps({k: v for k, v in out.items() if "probing" in k}, indent=1))
        return
    all_groups = ("simple", "statistical", "info-theory", "landmarking")
    per: list[dict] = []
    for i, r in enumerate(rows):
        df = read_table(SHARED / r["file"])
        entry = {"name": r["name"], "rows": len(df), "cols": df.shape[1],
                 "ours_s": ours(df, r["target"], r["task"], all_groups)}
        # pymfe ran out of 24 GB on a 40,000-row regression table (OOM-killed): it is compared
        # on tables of at most --pymfe-max-rows rows
        if i < args.pymfe_limit and len(df) <= args.pymfe_max_rows:
            try:
                entry["pymfe_s"] = theirs(df, r["target"], r["task"])
            except Exception as exc:  # recorded, not hidden
                entry["pymfe_error"] = f"{type(exc).__name__}: {exc}"[:200]
        per.append(entry)
        print(entry, flush=True)
    both = [e for e in per if "pymfe_s" in e]
    ratios = [e["pymfe_s"] / e["ours_s"] for e in both]
    out: dict = {
        "datasets": len(per),
        "ours_median_s": statistics.median(e["ours_s"] for e in per),
        "ours_max_s": max(e["ours_s"] for e in per),
        "compared_with_pymfe": len(both),
        "pymfe_median_s": statistics.median(e["pymfe_s"] for e in both) if both else None,
        "pymfe_max_s": max(e["pymfe_s"] for e in both) if both else None,
        "speedup_median_pymfe_over_ours": statistics.median(ratios) if ratios else None,
    }
    big = max(per, key=lambda e: e["rows"] * e["cols"])
    df = read_table(SHARED / next(r["file"] for r in rows if r["name"] == big["name"]))
    target = next(r["target"] for r in rows if r["name"] == big["name"])
    task = next(r["task"] for r in rows if r["name"] == big["name"])
    out["peak_mb_ours_largest"] = peak_mb(lambda: compute_metafeatures(df, target, task_type=task))
    out["largest_table"] = big["name"]
    small = next(e for e in both if e["rows"] * e["cols"] == max(x["rows"] * x["cols"] for x in both))
    sdf = read_table(SHARED / next(r["file"] for r in rows if r["name"] == small["name"]))
    srow = next(r for r in rows if r["name"] == small["name"])
    out["peak_mb_both_on"] = small["name"]
    out["peak_mb_ours_same_table"] = peak_mb(lambda: compute_metafeatures(  # pymfe's groups only
        sdf, srow["target"], task_type=srow["task"], groups=all_groups))
    out["peak_mb_pymfe_same_table"] = peak_mb(lambda: theirs(sdf, srow["target"], srow["task"]))
    rng = np.random.default_rng(0)
    long = pd.DataFrame(rng.normal(size=(40_000, 10)), columns=[f"c{i}" for i in range(10)])
    long["y"] = rng.integers(0, 3, 40_000)
    basic = ("simple", "statistical", "info-theory")
    out["basic_40000x10_s"] = statistics.median(ours(long, "y", "classification", basic) for _ in range(5))
    widest = max(rows, key=lambda r: int(r["n_features"]))
    wdf = read_table(SHARED / widest["file"])
    out["widest_table"] = f"{widest['name']} ({wdf.shape[1]} columns)"
    out["basic_widest_s"] = statistics.median(ours(wdf, widest["target"], widest["task"], basic) for _ in range(5))
    tables = [(read_table(SHARED / r["file"]), r["target"], r["task"]) for r in rows]
    out.update(tier_timings(tables, ("landmarking", "probing", "regime-probing")))
    from metakg.metalearner.metafeatures import describe, embed_texts, model_available

    if model_available():
        embed_texts(["warm up"])
        texts = [describe(r["name"], r["description"], [], r["target"]) for r in rows]
        times = []
        for t in texts:
            s = time.perf_counter()
            embed_texts([t])
            times.append(time.perf_counter() - s)
        out["text_embedding_median_ms"] = statistics.median(times) * 1000
        out["text_embedding_max_ms"] = max(times) * 1000
    out["per_dataset"] = per
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "per_dataset"}, indent=1))


if __name__ == "__main__":
    main()
