"""The runner: estimators on raw tables, the protocol, execution, failures, resume, Ray."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakg.kg import ConfigurationError, KnowledgeGraph, MemoryStore, OxigraphStore, read_table
from metakg.runner import (
    FAMILIES,
    TaskSpec,
    WorkItem,
    build_estimator,
    default_configuration,
    execute,
    fold_indices,
    portfolio,
    prepare_data,
    validate_configuration,
)
from metakg.runner.table_runs import table_task


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAKG_CACHE", str(tmp_path / "cache"))


def messy_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Numeric, categorical and string columns with missing values; a string target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    df = pd.DataFrame({
        "x": x, "noise": rng.normal(size=n),
        "colour": pd.Categorical(rng.choice(["red", "green", None], size=n)),
        "city": pd.Series(rng.choice(["a", "b", "c", "d"], size=n), dtype="string"),
        "flag": rng.random(n) > 0.5,
        "empty": np.nan,
    })
    df.loc[::7, "x"] = np.nan
    df["y"] = np.where(np.nan_to_num(x) + 0.3 * rng.normal(size=n) > 0, "yes", "no")
    return df


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.filterwarnings("error::UserWarning")  # a small table is no cause for a warning
def test_every_family_fits_raw_frames_for_each_task(family: str) -> None:
    df = messy_frame()
    X, y = df.drop(columns="y"), df["y"]
    cfg = default_configuration(family)
    clf = build_estimator(cfg, task="classification").fit(X.iloc[:180], y.iloc[:180])
    proba = clf.predict_proba(X.iloc[180:])
    assert proba.shape == (60, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert set(clf.predict(X.iloc[180:])) <= {"yes", "no"}
    assert (clf.predict(X.iloc[180:]) == y.iloc[180:]).mean() > 0.6  # x carries the signal
    # multiclass with integer labels and regression on the same table
    y3 = pd.cut(df["x"].fillna(0), 3, labels=False)
    m = build_estimator(cfg, task="classification").fit(X, y3)
    assert m.predict_proba(X).shape == (len(X), 3)
    yr = df["x"].fillna(0) * 2 + 1
    reg = build_estimator(cfg).fit(X, yr)  # task inferred from the numeric target
    assert np.corrcoef(reg.predict(X), yr)[0, 1] > 0.5


def test_configuration_errors_are_explained() -> None:
    with pytest.raises(ConfigurationError, match="Unknown family 'lgbm'"):
        build_estimator({"family": "lgbm"})
    with pytest.raises(TypeError, match="config must be a"):
        build_estimator("lightgbm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown device 'gpux'"):  # at once, not at fit
        build_estimator({"family": "lightgbm"}, device="gpux")
    with pytest.raises(ConfigurationError, match=r"num_leaves=1 must be in \[2, 131072\]"):
        validate_configuration({"family": "lightgbm", "params": {"num_leaves": 1}})
    with pytest.raises(ConfigurationError, match="unknown parameter 'depth'"):
        validate_configuration({"family": "lightgbm", "params": {"depth": 3}})


def test_portfolio_is_reproducible_and_grows() -> None:
    small, big = portfolio(30, seed=0), portfolio(60, seed=0)
    assert big[:30] == small
    assert small[: len(FAMILIES)] == [default_configuration(f) for f in FAMILIES]
    for cfg in big:
        validate_configuration(cfg)
    assert len({str(c) for c in big}) == 60


def test_folds_are_stratified_and_seeded(shared: Path) -> None:
    df = read_table(shared / "arff" / "credit.g.arff.gz")
    spec = TaskSpec("t", "", "class", "classification", folds=3, seed=1, subsample_rows=600)
    X, y = prepare_data(df, spec)
    assert len(X) == 600 and y.value_counts(normalize=True)["good"] == pytest.approx(0.7, abs=0.01)
    a, b = fold_indices(y, spec), fold_indices(y, spec)
    assert all((x[1] == z[1]).all() for x, z in zip(a, b, strict=True))
    for _, test in a:
        assert y.iloc[test].value_counts(normalize=True)["good"] == pytest.approx(0.7, abs=0.02)


def _scores(graph: KnowledgeGraph) -> dict[tuple[str, int, str], float]:
    rows = graph.store.select(
        """SELECT ?c ?fold ?m ?v WHERE { ?r mkg:configuration ?c ; mls:hasOutput ?e .
             ?e mkg:fold ?fold ; mls:specifiedBy ?mm ; mls:hasValue ?v . ?mm dcterms:title ?m
             FILTER(?m IN ("roc_auc", "accuracy", "log_loss")) }""")
    return {(r["c"], r["fold"], r["m"]): r["v"] for r in rows}


CONFIGS = [default_configuration("lightgbm"), default_configuration("linear"),
           default_configuration("knn"),
           {"family": "random_forest", "params": {"n_estimators": 50, "max_features": 0.3}},
           # fails at fit: one neighbour more than rows in a training fold
           {"family": "knn", "params": {"n_neighbors": 50}}]


def _small(shared: Path) -> pd.DataFrame:
    return read_table(shared / "arff" / "breast.cancer.arff.gz").iloc[:70]


def test_batch_writes_every_fold_and_records_failures(shared: Path, tmp_path: Path) -> None:
    graph = KnowledgeGraph(MemoryStore())
    _, task, spec = table_task(graph, _small(shared), target="Class", folds=3, name="bc")
    report = execute(graph, [WorkItem(task, spec, c) for c in CONFIGS], jobs=2, progress=False)
    assert (report.completed, report.failed, report.folds_run) == (4, 1, 15)
    runs = {r.configuration_id: r for r in graph.runs(task=task.id)}
    failed = [r for r in runs.values() if r.status == "failed"]
    assert len(failed) == 1 and "n_neighbors" in (failed[0].error or "")
    ok = [r for r in runs.values() if r.status == "completed"]
    assert all(0.0 <= r.scores["roc_auc"] <= 1.0 and r.scores["fit_time"] > 0 for r in ok)
    assert all(r.device == "cpu" for r in runs.values())
    # a second call repeats nothing
    again = execute(graph, [WorkItem(task, spec, c) for c in CONFIGS], progress=False)
    assert (again.skipped, again.folds_run) == (5, 0)


@pytest.mark.slow  # evaluates four configurations on a real table, twice
def test_killed_batch_resumes_without_repeating(shared: Path, tmp_path: Path) -> None:
    df = _small(shared)
    ref = KnowledgeGraph(MemoryStore())
    _, task, spec = table_task(ref, df, target="Class", folds=3, name="bc")
    execute(ref, [WorkItem(task, spec, c) for c in CONFIGS[:4]], progress=False)

    store = OxigraphStore(tmp_path / "store")
    graph = KnowledgeGraph(store)
    _, task2, spec2 = table_task(graph, df, target="Class", folds=3, name="bc")
    assert task2.id == task.id
    seen = []

    def kill_after_five(result: object) -> None:
        seen.append(result)
        if len(seen) == 5:
            raise KeyboardInterrupt  # as if the process were stopped mid-batch

    with pytest.raises(KeyboardInterrupt):
        execute(graph, [WorkItem(task2, spec2, c) for c in CONFIGS[:4]], jobs=1, progress=False,
                on_result=kill_after_five)
    store.close()
    graph = KnowledgeGraph(OxigraphStore(tmp_path / "store"))
    assert len(_scores(graph)) == 5 * 3  # 5 folds written, 3 measures each
    resumed = execute(graph, [WorkItem(task2, spec2, c) for c in CONFIGS[:4]], progress=False)
    assert resumed.folds_run == 12 - 5
    assert _scores(graph) == pytest.approx(_scores(ref))
    assert sorted(r.status for r in graph.runs()) == ["completed"] * 4


def test_an_interrupted_batch_stops_its_workers_at_once(shared: Path) -> None:
    import os
    import signal
    import threading

    graph = KnowledgeGraph(MemoryStore())
    _, task, spec = table_task(graph, read_table(shared / "arff" / "breast.cancer.arff.gz"),
                               target="Class", folds=3, name="bc")
    # 40 runs × 3 folds of a forest: a minute of backlog if the pool worked through it
    slow = [{"family": "random_forest", "params": {"n_estimators": 250 + i, "max_features": 0.5}}
            for i in range(40)]
    sent: list[float] = []
    stopped = threading.Event()

    def ctrl_c() -> None:  # arrives while the batch waits for its workers
        # pressed again each second until it lands: Python drops a KeyboardInterrupt raised
        # inside a finaliser, and on a loaded machine the first one can land there
        while not stopped.wait(1.0 if sent else 2.0):
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

    def interrupt(signum: int, frame: object) -> None:  # Python's own, quiet once stopped
        if not stopped.is_set():
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    timer = threading.Thread(target=ctrl_c)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            execute(graph, [WorkItem(task, spec, c) for c in slow], jobs=1, progress=False)
    finally:
        stopped.set()
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - sent[0] < 10  # the workers stopped, not the whole backlog


@pytest.mark.timelimit
def test_time_limit_marks_the_run_failed(shared: Path) -> None:
    graph = KnowledgeGraph(MemoryStore())
    df = read_table(shared / "arff" / "credit.g.arff.gz")
    _, task, spec = table_task(graph, df, target="class", folds=2, name="credit")
    slow = {"family": "random_forest", "params": {"n_estimators": 300, "max_features": 1.0}}
    report = execute(graph, [WorkItem(task, spec, slow)], time_limit=0.2, progress=False)
    assert report.failed == 1
    [run] = graph.runs()
    assert run.status == "failed" and "TimeLimitExceeded" in (run.error or "")


def test_a_library_that_turns_the_time_limit_into_keyboardinterrupt_fails_one_fold(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """CatBoost polls for signals in its training loop and raises KeyboardInterrupt for the
    alarm's exception; that is the fold's time limit, not a Ctrl-C of the whole batch."""
    import importlib
    import pickle

    ex = importlib.import_module("metakg.runner.execute")
    from metakg.runner.protocol import TaskSpec

    data = tmp_path / "t.pkl"
    data.write_bytes(pickle.dumps((pd.DataFrame({"x": [1, 2]}), pd.Series([0, 1]))))
    spec = TaskSpec(task_id="t", data_path=str(data), target="y", task_type="classification",
                    folds=2)

    def like_catboost(*args: object) -> None:
        try:
            time.sleep(10)
        except BaseException as exc:
            raise KeyboardInterrupt from exc

    monkeypatch.setattr(ex, "evaluate_fold", like_catboost)
    result = ex.run_job(spec, {"family": "catboost"}, "c", 0, "cpu", 0.2)
    assert result.error is not None and result.error.startswith("TimeLimitExceeded")

    def ctrl_c(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ex, "evaluate_fold", ctrl_c)
    with pytest.raises(KeyboardInterrupt):  # a real Ctrl-C still stops the batch
        ex.run_job(spec, {"family": "catboost"}, "c", 0, "cpu", 10.0)


@pytest.mark.timelimit
def test_a_catboost_fit_over_the_time_limit_does_not_stop_the_batch(shared: Path) -> None:
    graph = KnowledgeGraph(MemoryStore())
    # The largest CatBoost of the space on letter (20,000 rows, 26 classes) takes ~25 s a fold
    # here; a k-NN fold on credit-g takes milliseconds. A limit of 3 s leaves room both ways on
    # a loaded CI machine (a 0.1 s limit on one table used to cut the k-NN fold too).
    letter = read_table(shared / "arff" / "letter.arff.gz")
    _, slow_task, slow_spec = table_task(graph, letter, target="class", folds=2, name="letter")
    credit = read_table(shared / "arff" / "credit.g.arff.gz")
    _, quick_task, quick_spec = table_task(graph, credit, target="class", folds=2, name="credit")
    slow = {"family": "catboost", "params": {"iterations": 300, "depth": 8, "learning_rate": 0.1,
                                             "l2_leaf_reg": 3.0}}
    started = time.perf_counter()
    report = execute(graph, [WorkItem(slow_task, slow_spec, slow),
                             WorkItem(quick_task, quick_spec, default_configuration("knn"))],
                     time_limit=3.0, progress=False)
    assert time.perf_counter() - started < 40  # the slow folds were cut, not run to the end
    assert (report.completed, report.failed) == (1, 1)
    [bad] = [r for r in graph.runs() if r.status == "failed"]
    assert bad.task_id == slow_task.id
    assert "TimeLimitExceeded" in (bad.error or "")


@pytest.mark.ray
def test_ray_backend_gives_the_local_results(shared: Path) -> None:
    ray = pytest.importorskip("ray")
    df = _small(shared)
    local = KnowledgeGraph(MemoryStore())
    _, task, spec = table_task(local, df, target="Class", folds=3, name="bc")
    execute(local, [WorkItem(task, spec, c) for c in CONFIGS[:3]], progress=False)
    distributed = KnowledgeGraph(MemoryStore())
    _, task, spec = table_task(distributed, df, target="Class", folds=3, name="bc")
    try:
        report = execute(distributed, [WorkItem(task, spec, c) for c in CONFIGS[:3]],
                         backend="ray", jobs=2, progress=False)
    finally:
        ray.shutdown()
    assert report.completed == 3
    assert _scores(distributed) == pytest.approx(_scores(local))


@pytest.mark.gpu
def test_gpu_families_run_on_cuda() -> None:
    df = messy_frame(2000)
    for family in ("xgboost", "mlp"):
        est = build_estimator(default_configuration(family), task="classification", device="cuda")
        est.fit(df.drop(columns="y"), df["y"])
        assert est.device_ == "cuda"


_UNGUARDED_SCRIPT = '''
from metakg.kg import KnowledgeGraph, MemoryStore, read_table
from metakg.runner.table_runs import evaluate_on_table

graph = KnowledgeGraph(MemoryStore())
df = read_table({table!r}).head(120)
try:
    evaluate_on_table(graph, df, [{{"family": "linear", "params": {{}}}}], target="class",
                      folds=2, progress=False)
except RuntimeError as exc:
    print("STOPPED", "__name__ == " in str(exc), len(graph.runs()), flush=True)
    raise SystemExit(0) from None
'''


def test_a_script_without_the_main_guard_is_told_so_and_nothing_is_recorded(
        tmp_path: Path) -> None:
    """Workers import an unguarded script again and die as they start: the batch stops with
    the fix in its message, and no configuration is marked failed (a failed one is skipped on
    that task from then on)."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    table = Path(__file__).parents[1] / "data" / "samples" / "credit-g.csv"
    script.write_text(_UNGUARDED_SCRIPT.format(table=str(table)))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert "STOPPED True 0" in out.stdout, out.stdout + out.stderr[-2000:]


def test_a_table_already_in_the_graph_keeps_its_title(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAKG_CACHE", str(tmp_path))
    graph = KnowledgeGraph(MemoryStore())
    df = messy_frame()
    graph.add_dataset(df, name="churn", target="y")
    ds, _, _ = table_task(graph, df, target="y", folds=2)
    titles = graph.store.select("SELECT ?t WHERE { ?d a mls:Dataset ; dcterms:title ?t }")
    assert ds.name == "churn" and [r["t"] for r in titles] == ["churn"]
    new, _, _ = table_task(graph, df.head(100), target="y", folds=2)
    assert new.name == "table"
