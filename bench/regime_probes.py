"""Regime probes of the seed's tables, for ``bench/lodo_variants.py --extra`` and the seed.

The probes (:mod:`metalearner.metafeatures.probing`) are one small model per family: they say
which families are in the running on a table. The regime probes ask the same one level down
(strongly against weakly regularised boosting, linear models and SVM kernels of narrow against
wide reach): which *configurations* of a family win. This script calls
:mod:`metalearner.metafeatures.regime_probing` without its time budget and computes them for every
dataset of the seed's leave-one-dataset-out views (the shared tables and the binary tables
derived from them, recognised by their content hash) with the shipped probes' protocol (the
landmarkers' 1,000-row subsample, 3 folds, single-threaded), writes each table's values as
soon as they are known (JSON lines), and resumes where it stopped.

Usage:
    python bench/regime_probes.py --out .metakg-build/regime_probes.jsonl
    python bench/lodo_variants.py --extra .metakg-build/regime_probes.jsonl --variants "..."
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import time
import warnings
from pathlib import Path

import pandas as pd

from metakg.kg.derived import SPLITS, binary_variant
from metakg.kg.errors import InvalidData
from metakg.kg.identity import table_hash
from metakg.kg.tables import infer_task_type, read_table
from metakg.metalearner.metafeatures._base import run_tier
from metakg.metalearner.metafeatures._table import prepare_table
from metakg.metalearner.metafeatures.probing import PROBING
from metakg.metalearner.metafeatures.regime_probing import REGIME_PROBES, REGIME_PROBING
from metakg.metalearner.recommenders.regime_contrasts import REGIME_CONTRASTS, query_with_regime_contrasts

#: The regime probes (metalearner.metafeatures.regime_probing) and their contrasts: what the
#: JSON lines hold per dataset.
NAMES = tuple(REGIME_PROBES) + tuple(REGIME_CONTRASTS)


def tables(manifest: Path):
    """(content id, name, frame, target, task type) of every shared table and every binary
    table derived from it, both splits."""
    rows = pd.read_csv(manifest)
    for _, row in rows.iterrows():
        df = read_table(manifest.parent / row["file"])
        target = str(row["target"])
        task_type = infer_task_type(df[target]) if pd.isna(row["task"]) else str(row["task"])
        yield table_hash(df)[:32], row["name"], df, target, task_type
        if task_type == "classification" and df[target].nunique() <= 2:
            continue
        for split in SPLITS[task_type]:
            try:
                v = binary_variant(df, target, task_type, split=split)
            except InvalidData:
                continue
            yield table_hash(v.frame)[:32], f"{row['name']}.{split}", v.frame, v.target, "classification"


def regime_values(df: pd.DataFrame, target: str, task_type: str) -> dict[str, float | None]:
    """The regime probes of one table and their contrasts (``None`` where not applicable),
    computed by the meta-feature groups themselves but without their time budgets."""
    t = prepare_table(df, target, task_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = {**run_tier(PROBING[:1], t, math.inf).values,  # the boosting probe
                  **run_tier(REGIME_PROBING, t, math.inf).values}
    with_contrasts = query_with_regime_contrasts(values)
    return {n: with_contrasts[n] for n in NAMES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", default="../shared/datasets/manifest.csv")
    ap.add_argument("--views", default=".metakg-build/lodo-views", help="lodo_variants' cache")
    ap.add_argument("--out", default=".metakg-build/regime_probes.jsonl")
    ap.add_argument("--add-to-store", default=None, metavar="STORE",
                    help="instead: give STORE's datasets the regime probes of --out (add_to_store)")
    args = ap.parse_args()
    if args.add_to_store:
        n = add_to_store(args.add_to_store, Path(args.out))
        print(f"regime probes added to {n} datasets of {args.add_to_store}")
        return
    warnings.filterwarnings("ignore")
    wanted: set[str] = set()
    for pkl in Path(args.views).glob("*/*.pkl"):
        wanted |= set(pickle.loads(pkl.read_bytes())[0].datasets)
    out = Path(args.out)
    done = {json.loads(line)["dataset"] for line in out.read_text().splitlines()} if out.exists() else set()
    t0, n = time.perf_counter(), 0
    with out.open("a") as fh:
        for dataset, name, df, target, task_type in tables(Path(args.manifest)):
            if dataset not in wanted or dataset in done:
                continue
            values = regime_values(df, target, task_type)
            fh.write(json.dumps({"dataset": dataset, "name": name, **values}) + "\n")
            fh.flush()
            done.add(dataset)
            n += 1
            print(f"{n} {name} {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"{len(done & wanted)} of {len(wanted)} view datasets have regime probes")



def add_to_store(store: str, probes: Path) -> int:
    """Give every dataset of ``store`` the regime probes of ``probes`` (this script's JSON
    lines), its other meta-features kept as they are, all under meta-feature version 3.

    This is how the shipped seed has them: ``metakg metafeatures --recompute`` gives the same
    regime probes (within 1e-15) but its groups' time budgets cut some probes of large tables,
    so the seed keeps its other values and takes the regime probes computed here without a
    budget.

    Returns:
        How many datasets were given regime probes.
    """
    from metakg.kg.default_graph import open_graph
    from metakg.kg.vocabulary import entity
    from metakg.metalearner.metafeatures import EXTRACTOR, GROUPS, VERSION
    from metakg.metalearner.metafeatures.regime_probing import REGIME_PROBES

    graph = open_graph(store)
    group_of = {n: g for g, feats in GROUPS.items() for f in feats for n in f.names}
    rows = {r["dataset"]: r for r in map(json.loads, probes.read_text().splitlines())}
    done = 0
    for dataset, row in rows.items():
        quads = graph.store.select(
            """SELECT ?name ?v ?why WHERE { ?d mls:hasQuality ?q . ?q mkg:feature ?name ;
                 mkg:extractor ?x . OPTIONAL { ?q mls:hasValue ?v } OPTIONAL { ?q mkg:missingReason ?why } }""",
            {"d": entity("dataset", dataset), "x": EXTRACTOR})
        if not quads:
            continue
        values = {r["name"]: (None if r.get("v") is None else float(r["v"])) for r in quads
                  if r["name"] not in REGIME_PROBES}
        reasons = {r["name"]: r["why"] for r in quads if r.get("why") and r["name"] not in REGIME_PROBES}
        for p in REGIME_PROBES:
            values[p] = row.get(p)
            if values[p] is None:
                reasons[p] = "not applicable to this table"
        graph.set_metafeatures(dataset, values, groups={n: group_of[n] for n in values if n in group_of},
                               reasons=reasons, extractor=EXTRACTOR, version=VERSION)
        done += 1
    return done


if __name__ == "__main__":
    main()
