"""The first `metakg recommend` on a fresh install, and the first after new runs.

A fresh store and cache: call 1 loads the seed graph and fits (the README's first command);
call 2 (`--run --k 2`) evaluates two configurations and writes them back; call 3 refits on the
grown graph; call 4 is answered from the fitted recommender on disk. Every call is a cold
process (``METAKG_WARM=0``). ``--code DIR`` (repeatable) times other checkouts in the same run,
alternating, e.g. a git worktree of an earlier commit as the baseline.

Usage: python bench/first_call.py [--code /path/to/old/checkout] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALLS = {
    "first call (seed load + fit)": [],
    "--run --k 2 (writes 2 runs)": ["--run", "--k", "2", "--jobs", "1"],
    "first call after new runs (refit)": [],
    "cached": [],
}


def one_round(code: Path) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="metakg-first-"))
    env = {**os.environ, "METAKG_STORE": str(tmp / "store"), "METAKG_CACHE": str(tmp / "cache"),
           "METAKG_WARM": "0", "METAKG_SEED": str(ROOT / "data" / "seed.nq.gz"),
           "PYTHONPATH": str(code)}
    out: dict[str, float] = {}
    try:
        for label, extra in CALLS.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "api", "recommend",
                            str(ROOT / "data" / "samples" / "credit-g.csv"), "--target", "class",
                            *extra], cwd=code, env=env, check=True, capture_output=True)
            out[label] = round(time.perf_counter() - t0, 2)
            print(f"  {code}: {label}: {out[label]} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--code", action="append", default=[], help="another checkout to time")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "first_call.json"))
    args = ap.parse_args()
    codes = [Path(c).resolve() for c in args.code] + [ROOT]
    rows: dict[str, list[dict[str, float]]] = {str(c): [] for c in codes}
    for _ in range(args.rounds):
        for code in codes:
            rows[str(code)].append(one_round(code))
    import statistics

    result = {"rounds": args.rounds, "medians": {
        code: {label: statistics.median(r[label] for r in runs) for label in CALLS}
        for code, runs in rows.items()}, "raw": rows}
    if len(codes) > 1:
        base, new = result["medians"][str(codes[0])], result["medians"][str(ROOT)]
        result["baseline"] = str(codes[0])
        result["baseline_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=codes[0], capture_output=True,
            text=True).stdout.strip()
        result["ratio_vs_baseline"] = {k: round(new[k] / base[k], 3) for k in CALLS}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result["medians"], indent=1))


if __name__ == "__main__":
    main()
