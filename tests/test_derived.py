"""Binary tasks derived from regression and multiclass tables: the rule, the graph records,
the seed build, and leave-one-dataset-out keeping them out of the held-out side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakg.kg import InvalidData, KnowledgeGraph, MemoryStore, RunInput, read_table
from metakg.kg.derived import binary_variant, small_sample, small_sample_name, split_index, variant_name
from metakg.kg.ingest import read_manifest
from metakg.metalearner import load_metadata
from metakg.metalearner.evaluation import same_table
from metakg.metalearner.knowledge import feature_columns


def test_regression_target_is_split_at_its_median() -> None:
    df = pd.DataFrame({"x": range(8), "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, None, 8.0]})
    v = binary_variant(df, "y", "regression")
    assert v.rule == "y > 4 (its median)"
    assert len(v.frame) == 7  # the row without a target is dropped
    assert v.frame["y"].astype(str).tolist() == ["at_or_below"] * 4 + ["above"] * 3
    assert v.frame["x"].tolist() == [0, 1, 2, 3, 4, 5, 7]
    assert df["y"].iloc[0] == 1.0  # the source is untouched


def test_multiclass_target_becomes_its_most_frequent_class_against_the_rest() -> None:
    df = pd.DataFrame({"x": range(10), "c": list("aaaabbbccd")})
    v = binary_variant(df, "c", "classification")
    assert v.rule == "c = 'a' (its most frequent class) against the rest"
    assert v.frame["c"].astype(str).value_counts().to_dict() == {"other": 6, "a": 4}


def test_second_splits_take_the_upper_quartile_or_the_two_most_frequent_classes() -> None:
    reg = pd.DataFrame({"x": range(8), "y": [float(i) for i in range(1, 9)]})
    v = binary_variant(reg, "y", "regression", split="upper_quartile")
    assert v.rule == "y > 6.25 (its upper quartile)"
    assert v.frame["y"].astype(str).value_counts().to_dict() == {"at_or_below": 6, "above": 2}
    cls = pd.DataFrame({"x": range(10), "c": list("aaaabbbccd")})
    v = binary_variant(cls, "c", "classification", split="top_two")
    assert v.rule == "c = 'a' against 'b' (its two most frequent classes)"
    assert v.frame["x"].tolist() == [0, 1, 2, 3, 4, 5, 6]  # rows of c and d are dropped
    assert v.frame["c"].astype(str).tolist() == list("aaaabbb")
    assert variant_name("vowel", "top_two") == "vowel.top_two"
    assert variant_name("vowel", "majority") == "vowel.binary"
    assert [split_index(variant_name("autompg", s)) for s in ("median", "upper_quartile")] == [0, 1]
    assert split_index("vowel.top_two") == 1
    assert split_index("vowel") is None
    with pytest.raises(InvalidData, match="does not apply to a regression target; use one of "
                                          "median, upper_quartile"):
        binary_variant(reg, "y", "regression", split="top_two")


@pytest.mark.parametrize(("frame", "target", "task", "message"), [
    (pd.DataFrame({"x": [1, 2, 3], "c": ["a", "b", "a"]}), "c", "classification", "has 2 classes"),
    (pd.DataFrame({"x": range(20), "c": ["a"] * 19 + ["b"]}), "x", "regression", None),
    (pd.DataFrame({"x": range(20), "c": ["a"] * 19 + ["b"]}), "c", "classification", "has 2 classes"),
    (pd.DataFrame({"x": range(40), "c": ["a"] * 37 + ["b", "c", "d"]}), "c", "classification",
     "leaves 7.5% of the rows in the smaller class"),
    (pd.DataFrame({"x": [1.0] * 19 + [2.0]}), "x", "regression", "leaves 5.0%"),
    (pd.DataFrame({"x": ["1", "n/a", "3"]}), "x", "regression", "not numbers"),
    (pd.DataFrame({"x": [1, 2]}), "y", "regression", "'y' is not in the table"),
    (pd.DataFrame({"x": [1, 2]}), "x", "ranking", "Task type must be"),
])
def test_what_cannot_give_a_binary_task_says_why(frame: pd.DataFrame, target: str, task: str,
                                                  message: str | None) -> None:
    if message is None:  # a plain regression target splits fine
        assert binary_variant(frame, target, task).frame[target].nunique() == 2
        return
    with pytest.raises(InvalidData, match=message):
        binary_variant(frame, target, task)


def test_a_derived_dataset_records_its_source_and_rule() -> None:
    graph = KnowledgeGraph(MemoryStore())
    df = pd.DataFrame({"x": range(10), "y": [float(i) for i in range(10)]})
    source = graph.add_dataset(df, name="src", target="y")
    v = binary_variant(df, "y", "regression")
    derived = graph.add_dataset(v.frame, name="src.binary", target="y", derived_from=source.id,
                                derivation=v.rule)
    assert derived.id != source.id  # another table, another node
    back = graph.get_dataset("src.binary")
    assert (back.derived_from, back.derivation) == (source.id, "y > 4.5 (its median)")
    assert graph.get_dataset("src").derived_from is None
    assert graph.store.ask("ASK { ?d prov:wasDerivedFrom ?s }", {"d": _iri(derived), "s": _iri(source)})
    with pytest.raises(InvalidData, match="says not how"):
        graph.add_dataset(v.frame.assign(x=1), name="no-rule", derived_from=source.id)
    assert len(graph.datasets()) == 2  # nothing written by the refused call


def _iri(ds: object) -> object:
    from pyoxigraph import NamedNode

    return NamedNode(ds.iri)


@pytest.mark.seed
def test_seed_ingest_adds_a_derived_binary_task_per_regression_and_multiclass_table(
        shared: Path, tmp_path: Path) -> None:
    from metakg.metalearner.characterise import characterise_if_stale
    from metakg.runner.seed import SeedSettings, ingest_manifest_tasks

    graph = KnowledgeGraph(MemoryStore())
    settings = SeedSettings(derived_binary=True)
    with pytest.warns(UserWarning, match=r"vowel: no derived binary task .*9\.1% of the rows"):
        tasks = ingest_manifest_tasks(graph, shared / "manifest.csv", tmp_path, settings,
                                      names=["autompg", "iris", "sonar", "vowel"], progress=False,
                                      characterise=characterise_if_stale)
    by_name = {graph.get_dataset(t.dataset_id).name: t for t, _ in tasks}
    assert sorted(by_name) == ["autompg", "autompg.binary", "iris", "iris.binary", "sonar", "vowel"]
    assert (by_name["autompg.binary"].task_type, by_name["autompg.binary"].metric) == (
        "classification", "roc_auc")
    assert by_name["iris.binary"].n_classes == 2
    # a regression task keeps its target's spread; a classification task has none
    y = read_table(shared / "arff" / "autompg.arff.gz")["class"].dropna()
    assert by_name["autompg"].target_sd == pytest.approx(float(np.std(y)))
    assert by_name["autompg.binary"].target_sd is None and by_name["iris"].target_sd is None
    derived = graph.get_dataset("autompg.binary")
    assert derived.derived_from == graph.get_dataset("autompg").id
    assert derived.derivation == "class > 23 (its median)"
    assert "Derived from autompg: class > 23" in derived.description
    assert graph.metafeatures(derived.id)["nr_inst"] == 398  # characterised as its own table
    without = ingest_manifest_tasks(KnowledgeGraph(MemoryStore()), shared / "manifest.csv",
                                    tmp_path, SeedSettings(), names=["autompg"], progress=False)
    assert len(without) == 1  # off by default
    graph = KnowledgeGraph(MemoryStore())
    with pytest.warns(UserWarning, match=r"hypothyroid: no derived binary task by top_two"):
        tasks = ingest_manifest_tasks(graph, shared / "manifest.csv", tmp_path,
                                      SeedSettings(derived_binary=True, derived_splits=2),
                                      names=["autompg", "vowel", "hypothyroid"], progress=False,
                                      characterise=characterise_if_stale)
    names = sorted(graph.get_dataset(t.dataset_id).name for t, _ in tasks)
    assert names == ["autompg", "autompg.binary", "autompg.upper_quartile", "hypothyroid",
                     "vowel", "vowel.top_two"]
    assert graph.get_dataset("vowel.top_two").derived_from == graph.get_dataset("vowel").id


def test_a_small_sample_keeps_the_class_shares_and_rows_of_its_source() -> None:
    df = pd.DataFrame({"x": range(1000), "c": ["yes"] * 700 + ["no"] * 290 + [None] * 10})
    s = small_sample(df, "c", 300, seed=3)
    assert len(s.frame) == 300
    assert s.frame["c"].value_counts().to_dict() == {"yes": 212, "no": 88}  # 70.7% / 29.3% of 990
    assert s.rule == "300 of its 990 rows, sampled stratified by c (seed 3)"
    source_rows = df.set_index("x").loc[s.frame["x"], "c"]
    assert source_rows.tolist() == s.frame["c"].tolist()  # rows as they were, not shuffled labels
    assert s.frame["x"].is_monotonic_increasing
    assert s.frame.equals(small_sample(df, "c", 300, seed=3).frame)  # seeded
    assert not s.frame.equals(small_sample(df, "c", 300, seed=4).frame)
    assert small_sample_name("kr.vs.kp", 300) == "kr.vs.kp.n300"
    assert split_index("autompg.binary.n300") == 0  # a sample is of its source's split
    assert split_index("vowel.top_two.n300") == 1 and split_index("kr.vs.kp.n300") is None
    with pytest.raises(InvalidData, match="needs a table of at least 600 rows with a target; this one has 590"):
        small_sample(df.iloc[400:], "c", 300)
    with pytest.raises(InvalidData, match="has 3 classes; only a binary table is sampled"):
        small_sample(pd.DataFrame({"x": range(900), "c": list("abc") * 300}), "c", 300)


@pytest.mark.seed
def test_seed_ingest_adds_a_small_sample_of_each_large_binary_table(shared: Path, tmp_path: Path) -> None:
    from metakg.metalearner.characterise import characterise_if_stale
    from metakg.runner.seed import SeedSettings, ingest_manifest_tasks

    graph = KnowledgeGraph(MemoryStore())
    settings = SeedSettings(derived_binary=True, small_binary=150)
    tasks = ingest_manifest_tasks(graph, shared / "manifest.csv", tmp_path, settings,
                                  names=["autompg", "iris", "sonar"], progress=False,
                                  characterise=characterise_if_stale)
    names = sorted(graph.get_dataset(t.dataset_id).name for t, _ in tasks)
    # autompg (398 rows): its derived binary task is sampled; iris.binary (150) and sonar
    # (208) are under twice 150 rows; the regression and multiclass tables are never sampled
    assert names == ["autompg", "autompg.binary", "autompg.binary.n150", "iris", "iris.binary", "sonar"]
    sample = graph.get_dataset("autompg.binary.n150")
    assert sample.derived_from == graph.get_dataset("autompg.binary").id
    assert sample.derivation == "150 of its 398 rows, sampled stratified by class (seed 0)"
    assert graph.metafeatures(sample.id)["nr_inst"] == 150
    meta_names = {graph.get_dataset(t.dataset_id).name: t for t, _ in tasks}
    assert (meta_names["autompg.binary.n150"].task_type, meta_names["autompg.binary.n150"].metric) == (
        "classification", "roc_auc")
    # leave-one-dataset-out: holding autompg out drops its derived task and that task's sample
    configs = [{"family": "knn", "params": {"n_neighbors": k}} for k in (1, 5, 15)]
    for task, _ in tasks:
        if task.metric == "roc_auc":
            graph.log_runs([RunInput(task_id=task.id, config=c, fold_scores={"roc_auc": [0.7] * 3})
                            for c in configs])
    meta = load_metadata(graph, "classification", "roc_auc", cache=False)
    assert meta.originals == [graph.get_dataset("sonar").id]
    left = meta.without(graph.get_dataset("autompg").id).datasets
    assert sorted(graph.get_dataset(d).name for d in left) == ["iris.binary", "sonar"]


def test_leave_one_out_drops_a_source_with_its_derived_and_same_table_datasets(
        shared: Path) -> None:
    rows = {r["name"]: r for r in read_manifest(shared / "manifest.csv")}
    graph = KnowledgeGraph(MemoryStore())
    configs = [{"family": "knn", "params": {"n_neighbors": k}} for k in (1, 5, 15)]

    def add(name: str, df: pd.DataFrame, target: str, **derived: str) -> str:
        ds = graph.add_dataset(df, name=name, target=target, **derived)
        task = graph.add_task(ds, target=target, task_type="classification", n_classes=2, folds=3)
        graph.log_runs([RunInput(task_id=task.id, config=c,
                                 fold_scores={"roc_auc": [0.6 + i / 10] * 3})
                        for i, c in enumerate(configs)])
        return ds.id

    heart = add("heart.c", read_table(shared / rows["heart.c"]["file"]), rows["heart.c"]["target"])
    sonar = add("sonar", read_table(shared / rows["sonar"]["file"]), rows["sonar"]["target"])
    cleveland = read_table(shared / rows["cleveland"]["file"])
    source = graph.add_dataset(cleveland, name="cleveland", target="num")
    v = binary_variant(cleveland, "num", "regression")
    derived = add("cleveland.binary", v.frame, "num", derived_from=source.id, derivation=v.rule)
    meta = load_metadata(graph, "classification", "roc_auc", cache=False)
    assert meta.derived_from == {derived: source.id}
    assert sorted(meta.originals) == sorted([heart, sonar])
    assert derived not in meta.without(source.id).datasets  # derived goes with its source
    related = same_table(feature_columns(graph))
    assert source.id in related[heart] and sonar not in related.get(heart, [])
    # heart.c is the cleveland table with another target: holding it out drops cleveland.binary
    assert meta.without(heart, *related[heart]).datasets == [sonar]
    assert sorted(meta.without(sonar, *related.get(sonar, [])).datasets) == sorted([heart, derived])


def test_the_views_leave_the_second_split_out_unless_asked(shared: Path) -> None:
    rows = {r["name"]: r for r in read_manifest(shared / "manifest.csv")}
    graph = KnowledgeGraph(MemoryStore())
    autompg = read_table(shared / rows["autompg"]["file"])
    source = graph.add_dataset(autompg, name="autompg", target=rows["autompg"]["target"])
    configs = [{"family": "knn", "params": {"n_neighbors": k}} for k in (1, 5, 15)]
    ids = {}
    for split in ("median", "upper_quartile"):
        v = binary_variant(autompg, rows["autompg"]["target"], "regression", split=split)
        ds = graph.add_dataset(v.frame, name=variant_name("autompg", split),
                               target=rows["autompg"]["target"], derived_from=source.id,
                               derivation=v.rule)
        task = graph.add_task(ds, target=rows["autompg"]["target"], task_type="classification",
                              n_classes=2, folds=3)
        graph.log_runs([RunInput(task_id=task.id, config=c, fold_scores={"roc_auc": [0.7] * 3})
                        for c in configs])
        ids[split] = ds.id
    shipped = load_metadata(graph, "classification", "roc_auc", cache=False)
    assert shipped.datasets == [ids["median"]]
    assert shipped.derived_from == {ids["median"]: source.id}
    everything = load_metadata(graph, "classification", "roc_auc", cache=False, derived_splits=None)
    assert sorted(everything.datasets) == sorted(ids.values())
    assert load_metadata(graph, "classification", "roc_auc", derived_splits=2).datasets == \
        everything.datasets
    with pytest.raises(ValueError, match="derived_splits=0 keeps no derived split"):
        load_metadata(graph, "classification", "roc_auc", derived_splits=0)


def test_seed_build_refuses_a_derived_split_count_it_does_not_have(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from metakg.api.cli import app

    args = ["seed", "build", "--derived-binary", "--derived-splits", "3",
            "--work-dir", str(tmp_path / "w"), "--output", str(tmp_path / "seed.nq.gz")]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, args)
    assert result.exit_code != 0
    assert "Invalid value for '--derived-splits': Input should be less than or equal to 2" in result.output
    assert not (tmp_path / "w").exists()  # refused before anything was written


def test_seed_build_refuses_a_negative_sample_size(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from metakg.api.cli import app

    args = ["seed", "build", "--small-binary", "-5",
            "--work-dir", str(tmp_path / "w"), "--output", str(tmp_path / "seed.nq.gz")]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, args)
    assert result.exit_code != 0
    assert "Invalid value for '--small-binary'" in result.output
    assert not (tmp_path / "w").exists()  # refused before anything is written
