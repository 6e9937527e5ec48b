"""Meta-features: robust on every shared table and edge case, agree with pymfe, stored."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakg.kg import KnowledgeGraph, read_table
from metakg.kg.ingest import read_manifest
from metakg.metalearner.metafeatures import EXTRACTOR, compute_metafeatures, feature_names


def _check(mf: object) -> None:
    for name, value in mf.values.items():  # type: ignore[attr-defined]
        if value is None:
            assert mf.reasons.get(name), f"{name} missing without a reason"  # type: ignore[attr-defined]
        else:
            assert np.isfinite(value), name


# A cross-section of the shared tables for the fast tier (the probes take seconds a table):
# missing values and many nominal columns, five classes with an empty one, two columns,
# regression with nominal columns.
VARIED = ("anneal", "hepatitis", "analcatdata_chall101", "autompg")


@pytest.mark.seed  # characterises four real tables whole
def test_varied_shared_datasets(shared: Path) -> None:
    _check_shared(shared, VARIED)


@pytest.mark.slow
def test_every_shared_dataset(shared: Path) -> None:
    _check_shared(shared)


def _check_shared(shared: Path, only: tuple[str, ...] | None = None) -> None:
    names = set(feature_names())
    rows = [r for r in read_manifest(shared / "manifest.csv") if only is None or r["name"] in only]
    assert only is None or len(rows) == len(only)
    for row in rows:
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


@pytest.mark.stress
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
    ours = compute_metafeatures(pd.concat([X, df[target]], axis=1), target, task_type="regression",
                                groups=("simple", "statistical"))  # the compared ones only
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
                                task_type="classification", groups=("info-theory",))
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
    from metakg.metalearner import characterise as ch

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
    from metakg.metalearner.characterise import search_datasets, store_embedding
    from metakg.metalearner.metafeatures import model_available

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


def test_probes_say_which_kind_of_model_suits_the_table() -> None:
    """Boosted trees beat a linear model on an interaction (XOR) and lose to it on a wide
    linear rule; regression probes are R² (ridge near 1 on a linear target)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6))
    xor = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    xor["y"] = np.where((X[:, 0] > 0) ^ (X[:, 1] > 0), "a", "b")
    mf = compute_metafeatures(xor, "y", task_type="classification", groups=("probing",)).values
    assert mf["pr_boosting"] > 0.9 and mf["pr_linear"] < 0.65 and mf["pr_forest"] > 0.85

    W = rng.normal(size=(300, 40))
    linear = pd.DataFrame(W, columns=[f"w{i}" for i in range(40)])
    linear["y"] = np.where(W @ rng.normal(size=40) > 0, "pos", "neg")
    mf = compute_metafeatures(linear, "y", task_type="classification", groups=("probing",)).values
    assert mf["pr_linear"] > 0.95 and mf["pr_linear"] > mf["pr_boosting"] + 0.05
    assert mf["pr_linear"] > mf["pr_tree"] + 0.1

    reg = pd.DataFrame(W[:, :5], columns=[f"w{i}" for i in range(5)])
    reg["y"] = W[:, :5] @ np.arange(1, 6) + rng.normal(scale=0.1, size=300)
    out = compute_metafeatures(reg, "y", task_type="regression", groups=("probing",))
    assert out.values["pr_linear"] > 0.99 and out.values["pr_lda"] is None
    assert "classification only" in out.reasons["pr_lda"]


def test_probe_auc_handles_classes_missing_from_a_fold() -> None:
    """Multiclass probes are the mean one-against-the-rest ROC AUC; a class with two rows
    (absent from some folds) neither crashes a probe nor leaves it missing."""
    from metakg.metalearner.metafeatures.probing import class_auc

    y = np.array([0, 0, 1, 1, 2, 2])
    perfect = np.eye(3)[y]
    assert class_auc(y, perfect) == pytest.approx(1.0)
    assert class_auc(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.4])) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    df["y"] = np.where(df["a"] > 0.5, "hi", np.where(df["a"] < -0.5, "lo", "mid"))
    df.loc[[0, 1], "y"] = "rare"
    mf = compute_metafeatures(df, "y", task_type="classification", groups=("probing",))
    for name in ("pr_boosting", "pr_forest", "pr_linear", "pr_lda", "pr_knn", "pr_tree"):
        assert mf.values[name] is not None and 0.5 < mf.values[name] <= 1.0, (name, mf.reasons.get(name))


def test_recompute_makes_derived_tables_again(memory_graph: KnowledgeGraph, shared: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A derived binary task has no file of its own: recomputing its meta-features makes it
    again from its source's file by the split its name records, checked by content hash."""
    from metakg.kg.derived import binary_variant
    from metakg.metalearner import characterise as ch

    df = read_table(shared / "arff" / "autompg.arff.gz")
    src = memory_graph.add_dataset(df, name="autompg", target="class", source="arff/autompg.arff.gz")
    memory_graph.add_task(src, target="class", task_type="regression")
    variant = binary_variant(df, "class", "regression", split="upper_quartile")
    derived = memory_graph.add_dataset(variant.frame, name="autompg.upper_quartile", target="class",
                                       derived_from=src.id, derivation=variant.rule)
    forged = memory_graph.add_dataset(variant.frame.iloc[:-1], name="autompg.binary", target="class",
                                      derived_from=src.id, derivation="not what the name says")
    table, target = ch.dataset_table(memory_graph, derived, lambda d: shared / d.sources[0])
    assert target == "class" and table.equals(variant.frame)
    assert ch.dataset_table(memory_graph, forged, lambda d: shared / d.sources[0]) is None
    assert ch.dataset_table(memory_graph, derived, lambda d: None) is None
    from metakg.kg import tables as kg_tables

    reads: list[Path] = []
    real_read = kg_tables.read_table
    monkeypatch.setattr(kg_tables, "read_table", lambda path: reads.append(path) or real_read(path))
    done, missing = ch.recompute(memory_graph, lambda d: shared / d.sources[0], progress=False)
    assert (done, missing) == (2, [forged.id])
    assert reads == [shared / "arff" / "autompg.arff.gz"]  # once for the source and its two derivations
    stored = memory_graph.metafeatures(derived.id, extractor=EXTRACTOR)
    assert stored["nr_class"] == 2.0 and stored["pr_boosting"] is not None


def test_regime_probes_say_which_end_of_a_family_suits_the_table() -> None:
    """A narrow RBF kernel finds an XOR that a wide one (close to linear) cannot; deep, fast
    boosting finds a fine checkerboard better than slow, shallow boosting; strong shrinkage
    costs a ridge model on a clean linear target; greedy extra trees find the one feature that
    decides, smoothed ones rank noisy labels better; every regime probe has a value on a binary
    table (the kernels' one-column scores) and on a multiclass one."""
    from metakg.metalearner.metafeatures.regime_probing import REGIME_PROBES

    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(800, 2))
    xor = pd.DataFrame(X, columns=["a", "b"])
    xor["y"] = np.where((X[:, 0] > 0) ^ (X[:, 1] > 0), "a", "b")
    mf = compute_metafeatures(xor, "y", task_type="classification", groups=("regime-probing",))
    assert all(mf.values[p] is not None for p in REGIME_PROBES), mf.reasons
    assert mf.values["rp_svm_narrow"] > 0.95 and mf.values["rp_svm_wide"] < 0.8
    assert mf.values["rp_boost_deep"] > mf.values["rp_linear_weak"] + 0.3
    board = xor.assign(y=np.where((np.floor(X[:, 0]) + np.floor(X[:, 1])) % 2 == 0, "even", "odd"))
    fine = compute_metafeatures(board, "y", task_type="classification", groups=("regime-probing",)).values
    assert fine["rp_boost_deep"] > fine["rp_boost_slow"] + 0.05

    W = rng.normal(size=(300, 5))
    reg = pd.DataFrame(W, columns=[f"w{i}" for i in range(5)])
    reg["y"] = W @ np.arange(1, 6) + rng.normal(scale=0.1, size=300)
    out = compute_metafeatures(reg, "y", task_type="regression", groups=("regime-probing",)).values
    assert out["rp_linear_weak"] > 0.99 and out["rp_linear_weak"] > out["rp_linear_strong"] + 0.1

    # one feature of twenty decides: trees that see every feature find it at once, trees that
    # see a tenth of them per split mostly do not; twenty weak features under label noise: the
    # smoothed, randomised trees rank rows better than fully grown ones
    Z = rng.normal(size=(800, 20))
    one = pd.DataFrame(Z, columns=[f"z{i}" for i in range(20)])
    one["y"] = np.where(Z[:, 0] > 0, "a", "b")
    sharp = compute_metafeatures(one, "y", task_type="classification", groups=("regime-probing",)).values
    assert sharp["rp_forest_greedy"] > 0.99 and sharp["rp_forest_greedy"] > sharp["rp_forest_smooth"] + 0.01
    noisy = one.assign(y=np.where(Z.sum(axis=1) + rng.normal(scale=3, size=800) > 0, "a", "b"))
    soft = compute_metafeatures(noisy, "y", task_type="classification", groups=("regime-probing",)).values
    assert soft["rp_forest_smooth"] > soft["rp_forest_greedy"] + 0.01

    three = pd.DataFrame(X, columns=["a", "b"])
    three["y"] = np.select([X[:, 0] < -0.7, X[:, 0] < 0.7], ["lo", "mid"], "hi")
    values = compute_metafeatures(three, "y", task_type="classification",
                                  groups=("regime-probing",)).values
    assert all(values[p] is not None and 0.5 < values[p] <= 1.0 for p in REGIME_PROBES), values


def test_probes_fitted_two_at_a_time_give_the_same_values() -> None:
    """The probing groups run their small fits on two threads (the CLI's meta-feature time);
    the values are those of one at a time, and a spent budget still stops new ones."""
    import math
    import warnings

    from metakg.metalearner.metafeatures._base import run_tier
    from metakg.metalearner.metafeatures._table import prepare_table
    from metakg.metalearner.metafeatures.regime_probing import REGIME_PROBING

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 6))
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    df["y"] = np.where(X[:, 0] + X[:, 1] ** 2 + rng.normal(size=300) > 1, "a", "b")
    table = prepare_table(df, "y", "classification")
    one = run_tier(REGIME_PROBING, table, math.inf)
    filters = list(warnings.filters)
    two = run_tier(REGIME_PROBING, table, math.inf, workers=2)
    assert warnings.filters == filters  # the threads leave the process's warning filters alone
    assert two.values == one.values and all(v is not None for v in one.values.values())
    spent = run_tier(REGIME_PROBING, table, -1.0, workers=2)
    assert all(v is None for v in spent.values.values())
    assert set(spent.reasons.values()) == {"time budget of -1 s for this group was spent"}
