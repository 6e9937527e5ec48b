"""Seed-graph recommendation latency by metric, for same-run comparisons between versions.

Every dataset of an existing seed store twice, after a first call that fits (or loads) the
recommenders; prints one JSON line: the p50 in ms overall and per metric, and which code ran.
To compare two versions in one run, alternate processes, the older one from a worktree:

    git worktree add /tmp/base <commit>
    for i in 1 2; do
      PYTHONPATH=/tmp/base python bench/seed_latency.py --store S
      python bench/seed_latency.py --store S
    done

(``bench/recommend_speed.py`` measures the goal itself, on a store loaded from the seed file.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from metakg import metalearner
from metakg.kg import KnowledgeGraph, OxigraphStore
from metakg.metalearner.recommend import recommend_for_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, help="an Oxigraph store of the seed")
    args = ap.parse_args()
    graph = KnowledgeGraph(OxigraphStore(args.store))
    datasets = graph.datasets()
    recommend_for_dataset(graph, datasets[0].id, k=5)
    by_metric: dict[str, list[float]] = {}
    times = []
    for d in datasets * 2:
        t = time.perf_counter()
        result = recommend_for_dataset(graph, d.id, k=5)
        elapsed = time.perf_counter() - t
        times.append(elapsed)
        by_metric.setdefault(result.metric, []).append(elapsed)
    out = {"code": metalearner.__file__, "all_p50_ms": statistics.median(times) * 1000,
           **{f"{m}_p50_ms": statistics.median(v) * 1000 for m, v in by_metric.items()}}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
