"""Experimental probes of hyperparameter *regimes*, for ``bench/lodo_variants.py``.

The shipped probes (:mod:`metalearner.metafeatures.probing`) are one small model per family:
they say which families are in the running on a table. This script asks whether the same
kind of signal one level down (strongly against weakly regularised boosting, linear models
and SVM kernels of narrow against wide reach) tells the surrogate which *configurations* of a
family win, before such probes become meta-features of the graph. It computes them for every
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
import pickle
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.svm import SVC, SVR

from kg.derived import SPLITS, binary_variant
from kg.errors import InvalidData
from kg.identity import table_hash
from kg.tables import infer_task_type, read_table
from metalearner.metafeatures import probing
from metalearner.metafeatures._base import NotApplicable
from metalearner.metafeatures._table import prepare_table


class _SVCScores(SVC):
    """An RBF SVM whose ``predict_proba`` is its decision function (what the probes rank by)."""

    def predict_proba(self, X):
        d = self.decision_function(X)
        return np.column_stack([-d, d]) if d.ndim == 1 else d


#: name -> (classification model, regression model)
REGIME_MODELS = {
    "rp_boost_slow": (lambda: HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.05, max_leaf_nodes=4, min_samples_leaf=20,
        l2_regularization=1.0, early_stopping=False, random_state=0),
        lambda: HistGradientBoostingRegressor(
        max_iter=100, learning_rate=0.05, max_leaf_nodes=4, min_samples_leaf=20,
        l2_regularization=1.0, early_stopping=False, random_state=0)),
    "rp_boost_deep": (lambda: HistGradientBoostingClassifier(
        max_iter=25, learning_rate=0.2, max_leaf_nodes=63, min_samples_leaf=2,
        early_stopping=False, random_state=0),
        lambda: HistGradientBoostingRegressor(
        max_iter=25, learning_rate=0.2, max_leaf_nodes=63, min_samples_leaf=2,
        early_stopping=False, random_state=0)),
    "rp_linear_strong": (lambda: LogisticRegression(C=0.003, max_iter=300), lambda: Ridge(300.0)),
    "rp_linear_weak": (lambda: LogisticRegression(C=30.0, max_iter=1000), lambda: Ridge(0.01)),
    "rp_svm_narrow": (lambda: _SVCScores(C=1.0, gamma=0.5), lambda: SVR(C=1.0, gamma=0.5)),
    "rp_svm_wide": (lambda: _SVCScores(C=10.0, gamma=0.003), lambda: SVR(C=10.0, gamma=0.003)),
}
#: contrast name -> (minuend, subtrahend): what the surrogate reads besides the probes
CONTRASTS = {
    "rc_boost_slow": ("rp_boost_slow", "pr_boosting"),
    "rc_boost_deep": ("rp_boost_deep", "pr_boosting"),
    "rc_linear_reg": ("rp_linear_strong", "rp_linear_weak"),
    "rc_svm_reach": ("rp_svm_narrow", "rp_svm_wide"),
}
NAMES = tuple(REGIME_MODELS) + tuple(CONTRASTS)


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
    """The regime probes of one table and their contrasts (``None`` where not applicable)."""
    saved = dict(probing._MODELS)
    probing._MODELS.update(REGIME_MODELS)
    try:
        t = prepare_table(df, target, task_type)
        out: dict[str, float | None] = {}
        for name in (*REGIME_MODELS, "pr_boosting"):
            try:
                value = probing._probe(name)(t).get(name)
                out[name] = float(value) if isinstance(value, float) else None
            except NotApplicable:
                out[name] = None
    finally:
        probing._MODELS.clear()
        probing._MODELS.update(saved)
    for c, (a, b) in CONTRASTS.items():
        out[c] = None if out.get(a) is None or out.get(b) is None else out[a] - out[b]
    out.pop("pr_boosting")
    return out


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

    How the shipped seed got them (session 26): ``metakg metafeatures --recompute`` on this
    machine gave the same regime probes (within 1e-15) but let the groups' time budgets cut
    31 of them and four probes of two large tables that the seed had, so the seed keeps its
    version-2 values and takes the regime probes computed here without a budget.

    Returns:
        How many datasets were given regime probes.
    """
    from kg.default_graph import open_graph
    from kg.vocabulary import entity
    from metalearner.metafeatures import EXTRACTOR, GROUPS, VERSION
    from metalearner.metafeatures.regime_probing import REGIME_PROBES

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
