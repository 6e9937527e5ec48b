"""Meta-features: robust on every shared table and edge case, agree with pymfe, stored."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kg import KnowledgeGraph, read_table
from kg.ingest import read_manifest
from metalearner.metafeatures import EXTRACTOR, compute_metafeatures, feature_names


def _check(mf: object) -> None:
    for name, value in mf.values.items():  # type: ignore[attr-defined]
        if value is None:
            assert mf.reasons.get(name), f"{name} missing without a reason"  # type: ignore[attr-defined]
        else:
            assert np.isfinite(value), name


def test_every_shared_dataset(shared: Path) -> None:
    names = set(feature_names())
    for row in read_manifest(shared / "manifest.csv"):
        df = read_table(shared / row["file"])
        mf = compute_metafeatures(df, row["target"], task_type=row["task"])
        assert set(mf.values) == names, row["name"]
        _check(mf)
        assert mf.values["nr_inst"] == len(df)
        if row["task"] == "classification":
            assert mf.values["nr_class"] == int(row["n_classes"])


def test_awkward_tables() -> None:
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({
        "const": 1.0, "all_missing": np.nan, "text": pd.Series([f"id{i}" for i in range(n)], dtype="string"),
        "cat": pd.Categorical(rng.choice(["a", "b"], n)), "x": rng.normal(size=n),
        "y": ["rare"] + ["common"] * (n - 1),  # a single row of a class
    })
    mf = compute_metafeatures(df, "y")
    _check(mf)
    assert mf.values["nr_class"] == 2 and mf.values["class_prob_min"] == pytest.approx(1 / n)
    assert mf.values["constant_cols_frac"] == pytest.approx(2 / 5)
    assert mf.values["lm_1nn"] is not None
    # regression on a single numeric column that is constant: statistics are missing, with why
    flat = pd.DataFrame({"c": [1.0] * 50, "t": rng.normal(size=50)})
    mf = compute_metafeatures(flat, "t")
    assert mf.task_type == "regression"
    assert mf.values["skewness.mean"] is None and "no numeric column varies" in mf.reasons["skewness.mean"]
    assert mf.values["nr_class"] is None and "regression" in mf.reasons["nr_class"]


def test_wide_and_long_tables() -> None:
    rng = np.random.default_rng(1)
    wide = pd.DataFrame(rng.normal(size=(200, 1200)), columns=[f"c{i}" for i in range(1200)])
    wide["y"] = rng.integers(0, 3, 200)
    mf = compute_metafeatures(wide, "y", task_type="classification")
    _check(mf)
    assert mf.values["nr_attr"] == 1200
    long = pd.DataFrame(rng.normal(size=(45_000, 10)))
    long.columns = [f"c{i}" for i in range(10)]
    long["y"] = long["c0"] * 2 + rng.normal(size=45_000)
    mf = compute_metafeatures(long, "y")
    _check(mf)
    assert mf.values["nr_inst"] == 45_000 and mf.values["lm_ridge"] > 0.5


# pymfe name → ours. Tolerances: statistical 1e-6 relative (same formulas); information
# theory 1e-4 relative (pymfe sums mutual information in another order: ~4e-6 seen).
PYMFE_STAT = {"skewness.mean": "skewness.mean", "kurtosis.mean": "kurtosis.mean",
              "cor.mean": "cor.mean", "nr_inst": "nr_inst", "nr_attr": "nr_attr"}
PYMFE_INFO = {"class_ent": "class_ent", "attr_ent.mean": "attr_ent.mean",
              "mut_inf.mean": "mut_inf.mean", "joint_ent.mean": "joint_ent.mean",
              "eq_num_attr": "eq_num_attr", "ns_ratio": "ns_ratio"}


@pytest.mark.parametrize("name,target", [("abalone", "Class_Rings"), ("cpu.small", "usr"),
                                         ("elevators", "Goal")])
def test_statistical_agrees_with_pymfe(shared: Path, name: str, target: str) -> None:
    mfe_mod = pytest.importorskip("pymfe.mfe")
    df = read_table(shared / "arff" / f"{name}.arff.gz")
    if target not in df.columns:
        target = df.columns[-1]
    X = df.drop(columns=[target]).select_dtypes("number").dropna(axis=1)
    ours = compute_metafeatures(pd.concat([X, df[target]], axis=1), target, task_type="regression")
    mfe = mfe_mod.MFE(features=["skewness", "kurtosis", "cor", "nr_inst", "nr_attr"],
                      summary=["mean"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mfe.fit(X.to_numpy(float), None)
        theirs = dict(zip(*mfe.extract(), strict=True))
    for p, o in PYMFE_STAT.items():
        assert ours.values[o] == pytest.approx(theirs[p], rel=1e-6), p


@pytest.mark.parametrize("name,target", [("kr.vs.kp", "class"), ("breast.cancer", "Class"),
                                         ("car", "class")])
def test_info_theory_agrees_with_pymfe_on_nominal_tables(shared: Path, name: str, target: str) -> None:
    mfe_mod = pytest.importorskip("pymfe.mfe")
    path = shared / "arff" / f"{name}.arff.gz"
    if not path.exists():
        pytest.skip(f"{name} not in the shared datasets")
    df = read_table(path).dropna()
    X = df.drop(columns=[target])
    X = X[[c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]]
    ours = compute_metafeatures(pd.concat([X, df[target]], axis=1), target,
                                task_type="classification")
    mfe = mfe_mod.MFE(groups=["info-theory"], summary=["mean"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mfe.fit(X.astype(str).to_numpy(), df[target].astype(str).to_numpy(),
                transform_num=False, transform_cat=None)
        theirs = dict(zip(*mfe.extract(), strict=True))
    for p, o in PYMFE_INFO.items():
        assert ours.values[o] == pytest.approx(theirs[p], rel=1e-4), p


def test_stored_with_version_and_recomputed(memory_graph: KnowledgeGraph, shared: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from metalearner import characterise as ch

    df = read_table(shared / "arff" / "credit.g.arff.gz")
    ds = memory_graph.add_dataset(df, name="credit.g", target="class",
                                  source="arff/credit.g.arff.gz")
    ch.characterise(memory_graph, ds, df, "class", "classification", text=False)
    assert ch.stale_datasets(memory_graph) == []
    stored = memory_graph.metafeatures(ds.id, extractor=EXTRACTOR)
    assert stored["nr_inst"] == 1000.0 and stored["target_skewness"] is None
    monkeypatch.setattr(ch, "VERSION", "999")
    assert ch.stale_datasets(memory_graph) == [ds.id]
    done, missing = ch.recompute(memory_graph, lambda d: shared / d.sources[0], progress=False)
    assert (done, missing) == (1, [])
    versions = memory_graph.store.select("SELECT DISTINCT ?v WHERE { ?q mkg:extractorVersion ?v }")
    assert versions == [{"v": "999"}]


def test_text_search_finds_credit_data(memory_graph: KnowledgeGraph, shared: Path) -> None:
    from metalearner.characterise import search_datasets, store_embedding
    from metalearner.metafeatures import model_available

    if not model_available():
        pytest.skip("text model not installed")
    rows = {r["name"]: r for r in read_manifest(shared / "manifest.csv")}
    for name in ("credit.g", "abalone", "cal.housing", "kr.vs.kp", "hypothyroid", "letter"):
        df = read_table(shared / rows[name]["file"])
        ds = memory_graph.add_dataset(df, name=name, target=rows[name]["target"],
                                      description=rows[name]["description"])
        store_embedding(memory_graph, ds, rows[name]["target"])
    hits = search_datasets(memory_graph, "loan default credit risk of bank customers", k=2)
    assert hits[0][0].name == "credit.g"
    assert search_datasets(memory_graph, "house prices in California", k=1)[0][0].name == "cal.housing"
