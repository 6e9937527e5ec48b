"""Published configurations as candidates: wider spaces, early stopping, sources in the graph."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakg.kg import ConfigurationError, KnowledgeGraph, MemoryStore
from metakg.kg.published import published_configurations, published_sources
from metakg.kg.spaces import FAMILIES, portfolio, validate_configuration
from metakg.runner import build_estimator
from metakg.runner.early_stopping import EarlyStopped

ROOT = Path(__file__).resolve().parents[1]

#: ``portfolio(120)`` as the seed graph was built with: parameters added for published
#: configurations are never drawn, so the seed's configurations stay the same.
SEED_PORTFOLIO_SHA256 = "a8fa38dfa7bf908ac3950a03d50859826cbabb967c527a32c9db7decd6400da1"


def _frame(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"x{i}" for i in range(5)])
    X["colour"] = rng.choice(["red", "green", "blue"], size=n)
    label = np.where(X.x0 + 0.5 * rng.normal(size=n) > 0, "yes", "no")
    return X, pd.Series(label), X.x0 * 2 + X.x1 ** 2 + rng.normal(size=n)


def _manifest(shared: Path, tmp_path: Path, *names: str) -> Path:
    """A manifest of these shared datasets only, with absolute file paths."""
    import csv

    with open(shared / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["name"] in names]
    manifest = tmp_path / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "file": str(shared / r["file"])})
    return manifest


def test_the_seed_portfolio_is_unchanged_by_the_wider_spaces() -> None:
    digest = hashlib.sha256(json.dumps(portfolio(120), sort_keys=True).encode()).hexdigest()
    assert digest == SEED_PORTFOLIO_SHA256


def test_strong_library_defaults_are_valid_configurations() -> None:
    validate_configuration({"family": "catboost", "params": {"iterations": 1000}})
    validate_configuration({"family": "lightgbm", "params": {
        "n_estimators": 5000, "learning_rate": 0.05, "early_stopping_rounds": 100}})
    with pytest.raises(ConfigurationError, match=r"n_estimators=200000 must be in \[1, 100000\]"):
        validate_configuration({"family": "xgboost", "params": {"n_estimators": 200_000}})
    # what portfolios draw is still the search range
    assert FAMILIES["catboost"].by_name["iterations"].high == 300


@pytest.mark.parametrize("family,count", [("lightgbm", "n_estimators"), ("xgboost", "n_estimators"),
                                          ("catboost", "iterations")])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_early_stopping_stops_long_before_the_cap(family: str, count: str, task: str) -> None:
    X, label, value = _frame()
    y = label if task == "classification" else value
    config = {"family": family, "params": {count: 5000, "learning_rate": 0.2,
                                           "early_stopping_rounds": 20}}
    est = build_estimator(config, task=task).fit(X[:450], y[:450])
    model = est.pipeline_[-1]
    assert isinstance(model, EarlyStopped)
    booster = model.estimator_
    used = (getattr(booster, "best_iteration_", None) or getattr(booster, "best_iteration", None)
            or booster.get_best_iteration())
    assert 1 <= used < 1000
    pred = est.predict(X[450:])
    if task == "classification":
        assert set(pred) <= {"yes", "no"} and (pred == y[450:]).mean() > 0.7
    else:
        assert np.corrcoef(pred, y[450:])[0, 1] > 0.7


def test_early_stopping_keeps_every_class_in_the_part_it_learns_from() -> None:
    X, label, _ = _frame(300)
    y = label.copy()
    y.iloc[0] = "rare"  # a class with a single row must still be learnt
    est = build_estimator({"family": "xgboost", "params": {"n_estimators": 200,
                                                           "early_stopping_rounds": 10}},
                          task="classification").fit(X, y)
    assert set(est.classes_) == {"no", "rare", "yes"}
    assert est.predict_proba(X[:5]).shape == (5, 3)


def test_every_published_configuration_is_valid_and_sourced() -> None:
    published = published_configurations()
    names = [p.name for p in published]
    assert len(names) == len(set(names)) and len(published) >= 60
    assert names[0] == "catboost-default"
    assert published[0].config == {"family": "catboost", "params": {"iterations": 1000}}
    by_name = {p.name: p for p in published}
    td = by_name["lightgbm-td-classification"]
    assert td.task_types == ("classification",) and td.source.key == "pytabkit"
    assert td.config["params"]["num_leaves"] == 50 and td.config["params"]["learning_rate"] == 0.04
    assert {p.source.key for p in published} == {"catboost", "pytabkit", "autogluon", "flaml"}
    assert [k for k, s in published_sources().items() if s.shipped] == ["catboost", "pytabkit"]
    for p in published:
        validate_configuration(p.config)
        assert p.source.url.startswith("https://")
    assert all("regression" in p.task_types for p in published_configurations("regression"))


def test_the_export_writes_the_shipped_sources_unless_others_are_named(tmp_path: Path) -> None:
    """By default only the shipped sources' complete columns are written (a complete
    AutoGluon column is listed, not shipped); --by names the sources to write; an export that
    would leave out a source the existing extension holds is refused, naming the
    configuration, its source and --by; an unknown source is refused before anything is
    written."""
    from typer.testing import CliRunner

    from metakg.api.cli import app
    from metakg.kg import RunInput
    from metakg.kg.identity import configuration_id

    by_name = {p.name: p for p in published_configurations()}
    catboost, forest = by_name["catboost-default"], by_name["random-forest-autogluon-r195"]
    graph = KnowledgeGraph(MemoryStore())
    X, label, _ = _frame(60)
    ds = graph.add_dataset(X.assign(label=label.to_numpy()), name="t", target="label")
    task = graph.add_task(ds, target="label", task_type="classification", n_classes=2,
                          metric="roc_auc", folds=2, seed=0)
    ok = {"roc_auc": [0.8, 0.9]}
    graph.log_runs([RunInput(task.id, catboost.config, ok), RunInput(task.id, forest.config, ok)])
    source = tmp_path / "progress.trig.xz"
    graph.store.dump(source)

    def export(output: Path, *by: str):
        args = ["seed", "published-export", str(output), "--source", str(source)]
        return CliRunner().invoke(app, args + [a for s in by for a in ("--by", s)])

    def written(output: Path) -> set[str]:
        store = MemoryStore()
        store.load(output)
        return {r.configuration_id for r in KnowledgeGraph(store).runs()}

    shipped = export(tmp_path / "shipped.trig.xz")
    assert shipped.exit_code == 0, shipped.output
    assert "1 complete published configurations (1 runs)" in shipped.output
    assert "not written, their sources not named with --by: autogluon 1 complete" in shipped.output
    assert written(tmp_path / "shipped.trig.xz") == {configuration_id(catboost.config)}
    both = export(tmp_path / "both.trig.xz", "catboost", "autogluon")
    assert both.exit_code == 0, both.output
    assert written(tmp_path / "both.trig.xz") == {configuration_id(catboost.config),
                                                  configuration_id(forest.config)}
    before = (tmp_path / "both.trig.xz").read_bytes()
    refused = export(tmp_path / "both.trig.xz")
    assert refused.exit_code != 0
    assert "random-forest-autogluon-r195 (autogluon)" in refused.output
    assert "--by" in refused.output and "--force" in refused.output
    assert (tmp_path / "both.trig.xz").read_bytes() == before
    unknown = export(tmp_path / "u.trig.xz", "catboost", "h2o")
    assert unknown.exit_code != 0 and "unknown source h2o" in unknown.output
    assert "known: catboost, pytabkit, autogluon, flaml" in unknown.output
    assert not (tmp_path / "u.trig.xz").exists()


def test_the_shipped_extension_holds_the_shipped_sources_configurations_only() -> None:
    """What `metakg seed published-export` writes by default is what ships: every configuration
    with runs in data/seed-published.trig.xz comes from a source marked shipped."""
    from metakg.kg.identity import configuration_id

    graph = KnowledgeGraph(MemoryStore())
    graph.store.load(ROOT / "data" / "seed-published.trig.xz")
    sources = {configuration_id(p.config): p.source for p in published_configurations()}
    held = {r.configuration_id for r in graph.runs()}
    assert held and all(sources[c].shipped for c in held)
    assert {sources[c].key for c in held} == {"catboost", "pytabkit"}


def test_the_shipped_file_is_what_the_generator_writes() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(ROOT / "bench" / "make_published_configurations.py"),
                           "--check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_published_configuration_enters_the_graph_with_its_source() -> None:
    graph = KnowledgeGraph(MemoryStore())
    published = published_configurations()[1]
    record = graph.add_published_configuration(published)
    assert record.family == published.config["family"]
    rows = graph.store.select(
        "SELECT ?name ?title ?url ?version WHERE { ?c prov:wasDerivedFrom ?p . ?p dcterms:title ?name ; "
        "dcterms:isPartOf ?s . ?s a prov:Entity ; dcterms:title ?title ; dcterms:source ?url ; "
        "mkg:version ?version }")
    assert rows == [{"name": published.name, "title": published.source.title,
                     "url": published.source.url, "version": published.source.version}]
    # the same configuration added plainly (as a run does) keeps its source
    graph.add_configuration(published.config)
    assert len(graph.store.select("SELECT ?s WHERE { ?c prov:wasDerivedFrom ?s }")) == 1


@pytest.mark.seed  # evaluates configurations on real seed tasks
def test_published_configurations_are_evaluated_on_the_seed_tasks_and_exported(
        shared: Path, tmp_path: Path) -> None:
    """The extension holds the published configurations' runs on the very tasks of the seed
    graph's first repeat (same identities), with their sources; a second call resumes."""
    from metakg.kg.published import PublishedConfiguration
    from metakg.runner.candidates import evaluate_published
    from metakg.runner.seed import SeedSettings, ingest_manifest_tasks

    manifest = _manifest(shared, tmp_path, "analcatdata_boxing1", "veteran")
    chosen = [p for p in published_configurations()
              if p.name in ("random-forest-autogluon-r195", "lightgbm-td-regression")]
    cheap = [PublishedConfiguration(p.name, {**p.config, "params": {
        **p.config["params"], **({"n_estimators": 20} if "n_estimators" in p.config["params"] else {})}},
        p.task_types, p.source, p.note) for p in chosen]
    output = tmp_path / "seed-published.trig.xz"
    report = evaluate_published(manifest, cheap, work_dir=tmp_path / "work", output=output,
                                progress=False)
    assert report.completed == 3 and report.failed == 0  # the forest on both, TD on veteran
    again = evaluate_published(manifest, cheap, work_dir=tmp_path / "work", output=output,
                               progress=False)
    assert again.completed == 0 and again.skipped == 3
    graph = KnowledgeGraph(MemoryStore())
    graph.store.load(output)
    seed_like = KnowledgeGraph(MemoryStore())
    tasks = ingest_manifest_tasks(seed_like, manifest, tmp_path / "seed-work", SeedSettings(),
                                  progress=False)
    assert {r.task_id for r in graph.runs()} == {t.id for t, _ in tasks}
    sources = graph.store.select("SELECT DISTINCT ?name WHERE { ?c prov:wasDerivedFrom ?p . "
                                 "?p dcterms:title ?name }")
    assert {r["name"] for r in sources} == {p.name for p in cheap}


def test_early_stopping_keeps_every_class_of_a_table_with_many_small_classes() -> None:
    """40 classes of 3 rows: too few rows for a stratified held-out part; every class must
    still be learnt (a booster refuses labels it never saw)."""
    from metakg.runner.early_stopping import _split

    y = np.repeat(np.arange(40), 3)
    for seed in range(5):
        kept, held = _split(len(y), y, 0.2, seed)
        assert set(y[kept]) == set(range(40)) and len(held) > 0
        assert not set(kept) & set(held) and len(kept) + len(held) == len(y)
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    est = build_estimator({"family": "lightgbm", "params": {"n_estimators": 50,
                                                            "early_stopping_rounds": 5}},
                          task="classification").fit(X, pd.Series(y).astype(str))
    assert est.predict_proba(X[:3]).shape == (3, 40)


@pytest.mark.seed  # evaluates configurations on real seed tasks
def test_an_empty_work_store_resumes_from_the_exported_extension(shared: Path, tmp_path: Path) -> None:
    """A new machine (no work store) continues from the committed extension: nothing reruns."""
    from metakg.runner.candidates import evaluate_published

    manifest = _manifest(shared, tmp_path, "analcatdata_boxing1")
    forest = next(p for p in published_configurations() if p.name == "random-forest-autogluon-r195")
    output = tmp_path / "seed-published.trig.xz"
    first = evaluate_published(manifest, [forest], work_dir=tmp_path / "a", output=output, progress=False)
    assert first.completed == 1
    again = evaluate_published(manifest, [forest], work_dir=tmp_path / "b", output=output, progress=False)
    assert again.completed == 0 and again.skipped == 1
    # a work store a seed-filling command opened meanwhile is refused before it is exported
    from pyoxigraph import DefaultGraph, Literal, Quad

    from metakg.kg.errors import InvalidData
    from metakg.kg.store import OxigraphStore
    from metakg.kg.vocabulary import MKG, entity

    store = OxigraphStore(tmp_path / "b" / "store")
    store.add([Quad(entity("store", "this"), MKG.seededFromFile, Literal("seed.trig.xz"), DefaultGraph())])
    store.close()
    exported = output.read_bytes()
    with pytest.raises(InvalidData, match=r"holds the seed graph.*Delete .*b/store and run again"):
        evaluate_published(manifest, [forest], work_dir=tmp_path / "b", output=output, progress=False)
    assert output.read_bytes() == exported


@pytest.mark.seed  # evaluates configurations on real seed tasks
def test_the_shipped_extension_holds_complete_columns_only(shared: Path, tmp_path: Path) -> None:
    """A configuration evaluated on some of its tasks so far is left out of the exported
    extension (runs and all), as is one published under two names where one name's tasks are
    not done; the complete ones are written whole; an export never silently drops a complete
    configuration the existing extension holds; the CLI says what it did."""
    from typer.testing import CliRunner

    from metakg.api.cli import app
    from metakg.kg.identity import configuration_id
    from metakg.runner.candidates import ColumnsWouldBeLost, evaluate_published, export_complete_columns

    manifest = _manifest(shared, tmp_path, "analcatdata_boxing1", "veteran")
    by_name = {p.name: p for p in published_configurations()}
    forest, extra = by_name["random-forest-autogluon-r195"], by_name["extra-trees-autogluon-r42"]
    # one configuration, published for multiclass (classification) and regression
    twin_c, twin_r = by_name["flaml-xgboost-multiclass-1"], by_name["flaml-xgboost-regression-0"]
    assert configuration_id(twin_c.config) == configuration_id(twin_r.config)
    work, progress = tmp_path / "work", tmp_path / "published-progress.trig.xz"
    evaluate_published(manifest, [forest], work_dir=work, output=progress, progress=False)
    part = evaluate_published(manifest, [extra, twin_c], work_dir=work, output=progress,
                              progress=False, names=["analcatdata_boxing1"])
    assert part.completed == 2
    output = tmp_path / "seed-published.trig.xz"
    chosen = [forest, extra, twin_c, twin_r]
    done = export_complete_columns(progress, output, chosen)
    assert done.complete == [forest.name] and done.runs == 2 and done.failed == {}
    assert done.partial == {extra.name: (1, 2), twin_c.name: (1, 1), twin_r.name: (0, 1)}
    graph = KnowledgeGraph(MemoryStore())
    graph.store.load(output)
    assert {r.configuration_id for r in graph.runs()} == {configuration_id(forest.config)}
    assert len(graph.runs()) == 2 and len(graph.tasks()) == 2
    graph.get_configuration(configuration_id(extra.config))  # still described
    # an export from an evaluation without the forest would drop it: refused, file unchanged
    other = tmp_path / "other"
    evaluate_published(manifest, [extra], work_dir=other, output=tmp_path / "other.trig.xz",
                       progress=False)
    before = output.read_bytes()
    with pytest.raises(ColumnsWouldBeLost, match="random-forest-autogluon-r195"):
        export_complete_columns(tmp_path / "other.trig.xz", output, chosen)
    assert output.read_bytes() == before
    result = CliRunner().invoke(app, ["seed", "published-export", str(output), "--source",
                                      str(tmp_path / "other.trig.xz")])
    assert result.exit_code != 0 and "--force" in result.output
    # an evaluation of fewer datasets would judge completeness on those alone: refused too
    evaluate_published(manifest, [forest], work_dir=tmp_path / "few", output=tmp_path / "few.trig.xz",
                       progress=False, names=["analcatdata_boxing1"])
    with pytest.raises(ColumnsWouldBeLost, match="1 tasks that"):
        export_complete_columns(tmp_path / "few.trig.xz", output, chosen)
    assert output.read_bytes() == before
    result = CliRunner().invoke(app, ["seed", "published-export", str(tmp_path / "cli.trig.xz"),
                                      "--source", str(progress), "--by", "autogluon", "--by", "flaml"])
    assert result.exit_code == 0, result.output
    assert "1 complete published configurations (2 runs)" in result.output
    assert "left out extra-trees-autogluon-r42: 1 of 2 tasks" in result.output
    assert "left out flaml-xgboost-multiclass-1: its 1 tasks are done" in result.output
    # by default only the shipped sources' columns are written: the complete AutoGluon
    # configuration is a candidate still to be measured, not part of the shipped extension
    shipped = CliRunner().invoke(app, ["seed", "published-export", str(tmp_path / "shipped.trig.xz"),
                                       "--source", str(progress)])
    assert shipped.exit_code == 0, shipped.output
    assert "0 complete published configurations (0 runs)" in shipped.output
    assert "random-forest-autogluon-r195" not in shipped.output
    missing = CliRunner().invoke(app, ["seed", "published-export", str(tmp_path / "x.trig.xz"),
                                       "--source", str(tmp_path / "nowhere.trig.xz")])
    assert missing.exit_code != 0 and "run `metakg seed published --output" in missing.output
    assert not (tmp_path / "x.trig.xz").exists()


def test_the_export_counts_failed_runs_and_drops_runs_left_running(tmp_path: Path) -> None:
    """A failed run is a result (its configuration is complete, the failure is counted); a run
    an interruption left ``running`` is not one: its pair still counts as not done, and the
    run itself is never written to the extension."""
    from metakg.kg import RunInput, RunStart, make_configuration, record_fold
    from metakg.kg.identity import configuration_id
    from metakg.runner.candidates import export_complete_columns

    by_name = {p.name: p for p in published_configurations()}
    forest, extra = by_name["random-forest-autogluon-r195"], by_name["extra-trees-autogluon-r42"]
    graph = KnowledgeGraph(MemoryStore())
    X, label, _ = _frame(60)
    tasks = []
    for seed in (0, 1):
        ds = graph.add_dataset(X.assign(label=label.to_numpy()).iloc[seed:], name=f"t{seed}", target="label")
        tasks.append(graph.add_task(ds, target="label", task_type="classification", n_classes=2,
                                    metric="roc_auc", folds=2, seed=seed))
    ok = {"roc_auc": [0.8, 0.9]}
    graph.log_runs([RunInput(tasks[0].id, forest.config, ok),
                    RunInput(tasks[1].id, forest.config, status="failed", error="timed out"),
                    RunInput(tasks[0].id, extra.config, ok)])
    # the evaluation was stopped after a run's first fold: on extra's second task (its only
    # run there) and on a task the forest has a completed run of (a retried pair)
    record_fold(graph, "stale", 0, {"roc_auc": 0.7},
                start=RunStart(task=tasks[1], config=make_configuration(extra.config)))
    record_fold(graph, "stale-retried", 0, {"roc_auc": 0.7},
                start=RunStart(task=tasks[0], config=make_configuration(forest.config)))
    source = tmp_path / "progress.trig.xz"
    graph.store.dump(source)

    done = export_complete_columns(source, tmp_path / "ext.trig.xz", [forest, extra])

    assert done.complete == [forest.name]
    assert done.failed == {forest.name: 1}
    assert done.partial == {extra.name: (1, 2)}
    assert done.runs == 2
    written = KnowledgeGraph(MemoryStore())
    written.store.load(tmp_path / "ext.trig.xz")
    runs = written.runs()
    assert sorted((r.configuration_id, r.status) for r in runs) == [
        (configuration_id(forest.config), "completed"), (configuration_id(forest.config), "failed")]
