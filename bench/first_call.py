"""The first `metakg recommend` on a fresh install, and the calls after it.

Every call is a cold process (``METAKG_WARM=0``) on a fresh store and cache, in this order:

1. the README's first command (``recommend data/samples/credit-g.csv --target class``);
2. the same again;
3. ``--run --k 2``: evaluates two configurations and writes them back, so the store is filled
   with the seed graph first;
4. the first call after new runs (a refit);
5. the same again (the refit's cache).

Each row gives wall time and peak RSS (``/usr/bin/time``). ``--baseline DIR`` times an older
checkout in the same run, alternating with this one (an older layout with top-level packages
is run as ``python -m api`` with ``PYTHONPATH=DIR``). ``--python`` and ``--root`` time another
install of this code, e.g. a fresh clone with its own virtual environment.

Usage: python bench/first_call.py [--python .venv/bin/python] [--root DIR] [--baseline DIR]
       [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALLS = {
    "first call": [],
    "second call": [],
    "--run --k 2 (fills the store, writes 2 runs)": ["--run", "--k", "2", "--jobs", "1"],
    "first call after new runs (refit)": [],
    "after the refit": [],
}


@dataclass(frozen=True)
class Install:
    """How to run one version of the code."""

    label: str
    python: str
    root: Path
    module: str
    pythonpath: str | None = None


def one_round(code: Install) -> dict[str, dict[str, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="metakg-first-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAKG_")}
    env.update({"METAKG_STORE": str(tmp / "store"), "METAKG_CACHE": str(tmp / "cache"), "METAKG_WARM": "0"})
    if code.pythonpath:
        env["PYTHONPATH"] = code.pythonpath
    out: dict[str, dict[str, float]] = {}
    try:
        for label, extra in CALLS.items():
            t0 = time.perf_counter()
            r = subprocess.run(["/usr/bin/time", "-f", "%M", code.python, "-m", code.module, "recommend",
                                "data/samples/credit-g.csv", "--target", "class", *extra],
                               cwd=code.root, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if r.returncode != 0:
                raise SystemExit(f"{code.label}: {label} failed:\n{r.stderr[-3000:]}")
            peak_mb = int(r.stderr.strip().splitlines()[-1]) / 1024
            out[label] = {"seconds": round(wall, 2), "peak_rss_mb": round(peak_mb)}
            print(f"  {code.label}: {label}: {wall:.2f} s, peak RSS {peak_mb:.0f} MB", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=sys.executable, help="interpreter of the install to time")
    ap.add_argument("--root", default=str(ROOT), help="its checkout (the calls run there)")
    ap.add_argument("--baseline", help="an older checkout to time in the same run")
    ap.add_argument("--baseline-python", default=sys.executable)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "first_call.json"))
    args = ap.parse_args()
    codes = [Install("this", args.python, Path(args.root).resolve(), "metakg.api")]
    if args.baseline:
        base = Path(args.baseline).resolve()
        codes.insert(0, Install("baseline", args.baseline_python, base, "api", str(base)))
    load_before = os.getloadavg()[0]
    rows: dict[str, list[dict[str, dict[str, float]]]] = {c.label: [] for c in codes}
    for _ in range(args.rounds):
        for code in codes:
            rows[code.label].append(one_round(code))
    medians = {label: {call: {k: statistics.median(r[call][k] for r in runs) for k in ("seconds", "peak_rss_mb")}
                       for call in CALLS} for label, runs in rows.items()}
    result: dict[str, object] = {
        "command": "python bench/first_call.py " + " ".join(sys.argv[1:]), "rounds": args.rounds,
        "cores": os.cpu_count(), "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "medians": medians, "raw": rows,
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.root, capture_output=True,
                                 text=True).stdout.strip()}
    if args.baseline:
        result["baseline_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.baseline,
                                                   capture_output=True, text=True).stdout.strip()
        result["ratio_vs_baseline"] = {call: round(medians["this"][call]["seconds"]
                                                   / medians["baseline"][call]["seconds"], 3) for call in CALLS}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(medians, indent=1))


if __name__ == "__main__":
    main()
