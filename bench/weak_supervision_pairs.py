"""Paired comparisons of ``bench/weak_supervision.py`` rows: condition A − condition B per scenario.

``bench/weak_supervision.py --conditions ...`` with a partial set of conditions writes rows only
(no report): a stress test (``--bias-scale``) or a candidate condition (``estimated``) fitted on
the same draws as other rows. This reads any number of rows files (the draws of one held-out
dataset and seed are the same in each, so their rows pair), averages each condition's best@k
over the seeds of a held-out dataset and gives, per scenario and k, the mean paired difference
with a 95% percentile bootstrap interval over held-out datasets (``bench/lodo_paired.py``'s), the
datasets that gain and lose, and the mean reliability weight of each condition's weak runs.
Only the (dataset, seed) draws both conditions have are paired. Rows of different bias scales,
recommenders or splits (``--split``) do not pair: give files of one of each (rows record them;
older rows do not, so name those files with care; a row without a split is of cells).

Usage: python bench/weak_supervision_pairs.py ROWS.jsonl [ROWS.jsonl ...]
           [--pairs weighted-equal,equal-strong_only] [--seeds 0,1] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

# bench/lodo_paired.py, beside this script
from lodo_paired import bootstrap_interval, write_json

KS = (1, 5)


def load_rows(paths: list[str]) -> pd.DataFrame:
    """Every row of these files (a row found twice, in two files, counts once).

    Raises:
        SystemExit: the files mix bias scales, recommenders or splits (rows that record them),
            whose rows must not pair.
    """
    rows = [json.loads(line) for p in paths for line in Path(p).read_text().splitlines() if line.strip()]
    frame = pd.DataFrame(rows)
    if "split" in frame:  # rows from before the option are of cells drawn within tables
        frame["split"] = frame["split"].fillna("cells")
    for column in ("bias_scale", "recommender", "split"):
        if column in frame and frame[column].nunique(dropna=True) > 1:
            raise SystemExit(f"the rows mix {column} values {sorted(frame[column].dropna().unique())}; "
                             "compare rows of one bias scale, recommender and split")
    return frame.drop_duplicates(subset=["group", "dataset", "seed", "scenario", "condition"])


def per_draw(rows: pd.DataFrame, scenario: str, condition: str, k: int) -> pd.Series:
    """A condition's best@k per (held-out dataset, seed); the conditions without a scenario
    (``strong_only``, ``all_strong``) are shared by every scenario."""
    part = rows[(rows["condition"] == condition) & rows["scenario"].isin([scenario, "-"])]
    return part.groupby(["dataset", "seed"])[f"best@{k}"].mean()


def compare(rows: pd.DataFrame, scenario: str, a: str, b: str, k: int) -> dict | None:
    """``a`` − ``b`` at best@k on the draws (dataset, seed) both have, averaged per held-out
    dataset over its seeds (``None``: no draw in common)."""
    x, y = per_draw(rows, scenario, a, k), per_draw(rows, scenario, b, k)
    common = x.index.intersection(y.index)
    if common.empty:
        return None
    per_dataset = (x[common] - y[common]).groupby(level="dataset").mean()
    d = per_dataset.to_numpy()
    return {"mean": round(float(d.mean()), 4), "interval_95": [round(v, 4) for v in bootstrap_interval(d)],
            "held_out": len(d), "draws": len(common), "gain": int((d > 1e-9).sum()),
            "loss": int((d < -1e-9).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", nargs="+")
    ap.add_argument("--pairs", default="weighted-equal,equal-strong_only,weighted-strong_only",
                    help="comma-separated A-B condition pairs")
    ap.add_argument("--seeds", default=None, help="only these seeds (comma-separated)")
    ap.add_argument("--out", default=None, help="also write the comparisons as JSON")
    args = ap.parse_args()
    rows = load_rows(args.rows)
    if args.seeds:
        rows = rows[rows["seed"].isin([int(s) for s in args.seeds.split(",")])]
    pairs = [tuple(p.split("-", 1)) for p in args.pairs.split(",")]
    report: dict = {"rows": args.rows, "seeds": sorted(int(s) for s in rows["seed"].unique()),
                    "held_out": int(rows["dataset"].nunique()), "scenarios": {}}
    for scenario in sorted(set(rows["scenario"]) - {"-"}):
        weak = rows[rows["scenario"] == scenario]
        entry: dict = {"weight": {c: round(float(w), 3) for c, w in
                                  weak.groupby("condition")["weight"].mean().items()}}
        for k in KS:
            for a, b in pairs:
                found = compare(rows, scenario, a, b, k)
                if found is not None:
                    entry[f"{a}_minus_{b}@{k}"] = found
                    lo, hi = found["interval_95"]
                    print(f"{scenario:15s} best@{k} {a} - {b}: {found['mean']:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                          f" over {found['held_out']} (+{found['gain']}/-{found['loss']})")
        report["scenarios"][scenario] = entry
    if args.out:
        write_json(Path(args.out), report)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
