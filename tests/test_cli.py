"""The metakg command line: ingest, query, export/import, metafeatures, run, log, keys, validate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metakg.api.cli import app

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("METAKG_CACHE", str(tmp_path / "cache"))
    return str(tmp_path / "store")


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_manifest_ingest_query_export_import(store: str, shared: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    lines = (shared / "manifest.csv").read_text().splitlines()
    manifest.write_text("\n".join([lines[0], *[ln for ln in lines[1:] if ln.startswith(("credit.g,", "abalone,"))]]))
    for ln in lines[1:]:
        if ln.startswith(("credit.g,", "abalone,")):
            src = shared / ln.split(",")[1]
            (tmp_path / "arff").mkdir(exist_ok=True)
            (tmp_path / "arff" / src.name).write_bytes(src.read_bytes())
    out = json.loads(invoke("ingest", "--manifest", str(manifest), "--store", store, "--json"))
    assert sorted(d["name"] for d in out) == ["abalone", "credit.g"]
    q = json.loads(invoke("query", "SELECT ?n WHERE { ?d a mls:Dataset ; dcterms:title ?n } ORDER BY ?n",
                          "--store", store, "--json"))
    assert [b["n"]["value"] for b in q["results"]["bindings"]] == ["abalone", "credit.g"]
    assert "credit.g" in invoke("query", "SELECT ?n WHERE { ?d dcterms:title ?n }", "--store", store)
    assert invoke("query", "ASK { ?d a mls:Dataset }", "--store", store).strip() == "true"
    invoke("export", str(tmp_path / "g.ttl.gz"), "--store", store)
    other = str(tmp_path / "other")
    assert "imported" in invoke("import", str(tmp_path / "g.ttl.gz"), "--store", other)
    assert "imported 0 new quads" in invoke("import", str(tmp_path / "g.ttl.gz"), "--store", other)
    assert "conforms" in invoke("validate", "--store", other)



def test_damaged_files_and_unwritable_paths_are_named_without_a_traceback(
        store: str, tmp_path: Path) -> None:
    import gzip

    # a command that only reads names a mistyped store; it does not make an empty one
    done = runner.invoke(app, ["export", str(tmp_path / "g.trig.xz"), "--store", store])
    assert done.exit_code != 0 and f"No store at {store}" in str(done.exception), done.exception
    assert not Path(store).exists()
    sample = Path(__file__).resolve().parents[1] / "data" / "samples" / "autompg.csv"
    invoke("ingest", str(sample), "--store", store)
    invoke("export", str(tmp_path / "g.trig.xz"), "--store", store)
    good = (tmp_path / "g.trig.xz").read_bytes()
    for name, data in [("cut.trig.xz", good[: len(good) // 2]), ("junk.trig.xz", b"not xz at all"),
                       ("junk.nq.gz", b"not gzip"), ("cut.nq.gz", gzip.compress(b"<a> <b> <c> .\n" * 99)[:20])]:
        (tmp_path / name).write_bytes(data)
        done = runner.invoke(app, ["import", str(tmp_path / name), "--store", store])
        assert done.exit_code != 0
        assert f"{name}: a damaged or truncated compressed file" in str(done.exception), done.exception
    (tmp_path / "afile").write_text("x")
    done = runner.invoke(app, ["export", str(tmp_path / "afile" / "g.nq"), "--store", store])
    assert done.exit_code != 0 and "cannot make its folder" in str(done.exception), done.exception
    (tmp_path / "adir.nq").mkdir()  # a folder where the file would go: named, nothing left
    done = runner.invoke(app, ["export", str(tmp_path / "adir.nq"), "--store", store])
    assert done.exit_code != 0 and "adir.nq: cannot write it" in str(done.exception), done.exception
    assert not (tmp_path / "adir.nq.part").exists()


def test_metafeatures_json(shared: Path) -> None:
    doc = json.loads(invoke("metafeatures", str(shared / "arff" / "abalone.arff.gz"), "--target",
                            "Class_Rings", "--json"))
    assert doc["metafeatures"]["nr_inst"] == 4177.0
    assert doc["metafeatures"]["nr_class"] is None and "regression" in doc["missing"]["nr_class"]
    assert set(doc["timings"]) >= {"simple", "statistical", "info-theory", "landmarking"}


def test_run_log_and_keys(store: str, shared: Path, tmp_path: Path) -> None:
    configs = tmp_path / "c.json"
    configs.write_text(json.dumps([{"family": "linear", "params": {"C": 1.0}},
                                   {"family": "knn", "params": {"n_neighbors": 5}}]))
    data = shared / "arff" / "breast.cancer.arff.gz"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"family": "knn", "params": {"n_neigbors": 5}},
                               {"family": "no-such-family", "params": {}}]))
    refused = runner.invoke(app, ["run", str(data), "--target", "Class", "--configs", str(bad),
                                  "--store", store])
    assert refused.exit_code == 2 and not Path(store).exists()  # said before anything is written
    assert "configuration 1: " in refused.output and "unknown parameter 'n_neigbors'" in refused.output
    assert "configuration 2: " in refused.output
    out = json.loads(invoke("run", str(data), "--target", "Class", "--configs", str(configs), "--folds", "3",
                            "--store", store, "--json"))
    assert out["completed"] == 2 and out["metric"] == "roc_auc"
    assert all(0.4 < r["score"] < 1.0 for r in out["runs"])
    logged = json.loads(invoke("log", "--task", out["task"], "--config", '{"family": "my-net"}',
                               "--score", "roc_auc=0.7,0.72,0.74", "--tag", "team=x", "--store", store,
                               "--json"))
    assert len(logged["run"]) == 32
    # impossible scores are refused with the reason, and nothing is written
    for score, reason in [("roc_auc=0.7,nan,0.7", "roc_auc=nan is not a possible roc_auc"),
                          ("roc_auc=0.7,1.2,0.7", "it must be finite and in [0, 1]"),
                          ("rmse=0.3,0.3,0.3", "'rmse' does not measure a classification model"),
                          ("roc_auc=0.7,0.7,0.7,0.7", "4 values for a task of 3 folds")]:
        refused = runner.invoke(app, ["log", "--task", out["task"], "--config", '{"family": "knn"}',
                                      "--score", score, "--store", store])
        assert refused.exit_code != 0 and reason in str(refused.exception), refused.exception
    # a script that logs under its own id may run again: the run is logged once
    for _ in range(2):
        again = json.loads(invoke("log", "--task", out["task"], "--config", '{"family": "my-net"}',
                                  "--score", "roc_auc=0.7,0.72,0.74", "--id", "nightly-1",
                                  "--store", store, "--json"))
        assert again == {"run": "nightly-1"}
    refused = runner.invoke(app, ["log", "--task", out["task"], "--config", '{"family": "my-net"}',
                                  "--score", "roc_auc=0.6,0.6,0.6", "--id", "nightly-1", "--store", store])
    assert refused.exit_code != 0 and "its scores differ" in str(refused.exception), refused.exception
    runs = json.loads(invoke("query", "SELECT (COUNT(?r) AS ?n) WHERE { ?r a mls:Run }",
                             "--store", store, "--json"))
    assert runs["results"]["bindings"][0]["n"]["value"] == "4"
    key = invoke("keys", "create", "ann", "--role", "read", "--store", store).strip()
    assert key.startswith("mkg_")
    assert json.loads(invoke("keys", "list", "--store", store, "--json")) == [
        {"name": "ann", "role": "read", "revoked": False}]
    invoke("keys", "revoke", "ann", "--store", store)
    assert json.loads(invoke("keys", "list", "--store", store, "--json"))[0]["revoked"] is True


@pytest.mark.seed
def test_seed_build_resumes_from_the_exported_file(shared: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from metakg.metalearner.characterise import characterise_if_stale
    from metakg.runner.seed import SeedSettings, build_seed

    monkeypatch.setenv("METAKG_SEED", "")
    lines = (shared / "manifest.csv").read_text().splitlines()
    manifest = shared / "manifest.csv"
    names = ["breast.cancer", "autompg"]
    assert all(any(ln.startswith(n + ",") for ln in lines) for n in names)
    out = tmp_path / "seed.nq.gz"
    small = SeedSettings(folds=3, portfolio_size=2, time_limit=60)
    first = build_seed(manifest, work_dir=tmp_path / "w1", output=out, settings=small, jobs=1,
                       names=names, progress=False,
                       characterise=characterise_if_stale)
    assert (first.completed, first.failed) == (4, 0) and out.exists()
    # the export records its layout, so a fresh store loading it need not migrate
    import gzip

    from metakg.kg.migrations import version_marker

    marker = version_marker()
    with gzip.open(out, "rt") as fh:
        assert f"{marker.subject} {marker.predicate} {marker.object} ." in fh.read()
    # a new session: empty work directory, the exported file as the starting point
    again = build_seed(manifest, work_dir=tmp_path / "w2", output=out, settings=small, jobs=1,
                       names=names, progress=False,
                       characterise=characterise_if_stale)
    assert (again.completed, again.skipped, again.folds_run) == (0, 4, 0)
    grown = build_seed(manifest, work_dir=tmp_path / "w2", output=out,
                       settings=SeedSettings(folds=3, portfolio_size=3, time_limit=60), jobs=1,
                       names=names, progress=False,
                       characterise=characterise_if_stale)
    assert (grown.completed, grown.skipped) == (2, 4)


@pytest.mark.seed
def test_seed_build_repeats_add_a_reshuffled_task_that_the_views_average(
        shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from metakg.kg import KnowledgeGraph, MemoryStore
    from metakg.kg.views import performance_table
    from metakg.metalearner.characterise import characterise_if_stale
    from metakg.runner.seed import SeedSettings, build_seed

    monkeypatch.setenv("METAKG_SEED", "")
    out = tmp_path / "seed.nq.gz"
    one = SeedSettings(folds=3, portfolio_size=1, time_limit=60)
    build_seed(shared / "manifest.csv", work_dir=tmp_path / "w1", output=out, settings=one,
               jobs=1, names=["autompg"], progress=False,
               characterise=characterise_if_stale)
    graph = KnowledgeGraph(MemoryStore())
    graph.store.load(out)
    first = performance_table(graph, metric="rmse")
    # a later session adds a second repeat: only the new task's folds are evaluated
    report = build_seed(shared / "manifest.csv", work_dir=tmp_path / "w2", output=out,
                        settings=SeedSettings(folds=3, portfolio_size=1, time_limit=60, repeats=2),
                        jobs=1, names=["autompg"], progress=False,
                        characterise=characterise_if_stale)
    assert (report.completed, report.skipped) == (1, 1)
    graph = KnowledgeGraph(MemoryStore())
    graph.store.load(out)
    seeds = graph.store.select("SELECT ?s WHERE { ?t a mls:Task ; mkg:seed ?s }")
    assert sorted(int(r["s"]) for r in seeds) == [0, 1]
    fold_rmse = graph.store.select(
        """SELECT ?t ?v WHERE { ?r mls:achieves ?t ; mls:hasOutput ?e . ?e mkg:fold ?f ;
             mls:hasValue ?v ; mls:specifiedBy ?m . ?m dcterms:title "rmse" }""")
    per_task: dict[str, list[float]] = {}
    for r in fold_rmse:
        per_task.setdefault(r["t"], []).append(float(r["v"]))
    assert sorted(len(v) for v in per_task.values()) == [3, 3]
    means = sorted(sum(v) / 3 for v in per_task.values())
    assert means[0] != means[1]  # a different shuffle gives different folds
    both = performance_table(graph, metric="rmse")
    assert float(first["value"].iloc[0]) in [pytest.approx(m) for m in means]
    from metakg.metalearner import load_metadata

    raw = load_metadata(graph, "regression", cache=False).raw
    assert raw.iloc[0, 0] == pytest.approx(sum(means) / 2)
    assert len(both) == 2  # one row per task: the views keep the repeats apart


def test_small_tables_get_more_repeats(shared: Path, tmp_path: Path) -> None:
    from metakg.kg import KnowledgeGraph, MemoryStore
    from metakg.metalearner.characterise import characterise_if_stale
    from metakg.runner.seed import SeedSettings, ingest_manifest_tasks

    settings = SeedSettings(repeats=2, small_repeats=4, small_rows=500)
    assert settings.seeds_for(500) == [0, 1, 2, 3]
    assert settings.seeds_for(501) == [0, 1]
    assert SeedSettings(repeats=3, small_repeats=2).seeds_for(10) == [0, 1, 2]  # never fewer
    graph = KnowledgeGraph(MemoryStore())
    tasks = ingest_manifest_tasks(graph, shared / "manifest.csv", tmp_path, settings,
                                  names=["autompg", "kin8nm"], progress=False,
                                  characterise=characterise_if_stale)
    seeds: dict[str, list[int]] = {}
    for _, spec in tasks:  # kin8nm (8,192 rows) is subsampled, autompg (398 rows) is not
        seeds.setdefault("kin8nm" if spec.subsample_rows else "autompg", []).append(spec.seed)
    assert seeds == {"autompg": [0, 1, 2, 3], "kin8nm": [0, 1]}
    assert [spec.seed for _, spec in tasks] == [0, 0, 1, 1, 2, 3]  # repeat-major


def test_seed_build_passes_the_small_table_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    from metakg.runner import seed as runner_seed
    from metakg.runner.execute import BatchReport

    seen: dict = {}

    def fake_build(manifest: Path, **kwargs: object) -> BatchReport:
        seen.update(kwargs)
        return BatchReport()

    monkeypatch.setattr(runner_seed, "build_seed", fake_build)
    from metakg.api import cli_graph

    fitted: list[list[Path]] = []
    monkeypatch.setattr(cli_graph, "seed_models", lambda seed, **kw: fitted.append(seed))
    out = invoke("seed", "build", "--repeats", "2", "--small-repeats", "5", "--small-rows", "800",
                 "--dataset", "autompg")
    # the shipped recommenders follow the seed and the extensions beside it
    assert fitted == [[Path("data/seed.trig.xz"), *sorted(Path("data").glob("seed-*.trig.xz"))]]
    settings = seen["settings"]
    assert (settings.repeats, settings.small_repeats, settings.small_rows) == (2, 5, 800)
    assert settings.seeds_for(800) == [0, 1, 2, 3, 4] and settings.seeds_for(801) == [0, 1]
    assert seen["names"] == ["autompg"] and "completed 0" in out


def test_the_entry_point_exits_non_zero_with_one_line_on_failure(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``metakg`` itself (not the test runner's standalone mode): a failed command's status."""
    from metakg.api.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["metafeatures"])
    assert exc.value.code == 2  # a usage error
    assert capsys.readouterr().err == "error: give DATA and --target (or --recompute).\n"
    with pytest.raises(SystemExit) as exc:
        main(["recommend", "no-such-file.csv", "--target", "y"])
    assert exc.value.code == 2
    assert "no-such-file.csv" in capsys.readouterr().err


def test_recompute_names_the_datasets_whose_table_is_not_found(store: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A stale dataset whose file has gone is listed by name with the way to fix it; one whose
    file is found is recomputed."""
    import numpy as np
    import pandas as pd

    from metakg.metalearner import characterise as ch

    rng = np.random.default_rng(0)
    for name in ("kept", "gone"):
        df = pd.DataFrame({"a": rng.normal(size=60), "y": rng.integers(0, 2, 60)})
        df.to_csv(tmp_path / f"{name}.csv", index=False)
        invoke("ingest", str(tmp_path / f"{name}.csv"), "--target", "y", "--store", store)
    (tmp_path / "gone.csv").unlink()
    monkeypatch.setattr(ch, "VERSION", "999")  # every dataset is now stale
    out = invoke("metafeatures", "--recompute", "--root", "/", "--root", str(tmp_path), "--store", store)
    assert "recomputed 1 dataset(s); tables not found for 1" in out
    assert "not found (give the folder that holds them with --root): gone" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["no-such-command"], "error: No such command 'no-such-command'. (see `metakg --help`)"),
    (["recommend", "t.csv"], "error: Missing option '--target'. (see `metakg recommend --help`)"),
    (["recommend"], "error: Missing argument 'data'. (see `metakg recommend --help`)"),
    (["recommend", "t.csv", "--target", "y", "--k", "many"], "error: Invalid value for '--k'"),
    (["query", "ASK {}", "--no-such-option"], "error: No such option: --no-such-option"),
    (["seed", "build", "--derived-splits", "3"], "error: Invalid value for '--derived-splits'"),
    (["run", "t.csv", "--target", "y"], "error: give exactly one of --configs FILE or --portfolio N."),
    (["log", "--task", "t", "--config", "{", "--score", "roc_auc=0.5"],
     "error: --config is not valid JSON"),
    (["log", "--task", "t", "--config", "{}", "--score", "roc_auc"],
     "error: --score 'roc_auc': expected measure=v1,v2,... (one per fold)"),
    (["log", "--task", "t", "--config", "{}", "--score", "roc_auc=0.5,,0.6"],
     "error: --score 'roc_auc=0.5,,0.6': expected measure=v1,v2,... with numbers (an empty value: a doubled comma?)."),
    (["log", "--task", "t", "--config", "{}", "--score", "roc_auc=0.5", "--score", "roc_auc=0.6"],
     "error: --score 'roc_auc=0.6': expected measure=v1,v2,... (one per fold), each measure once; "
     "roc_auc is given twice."),
    (["log", "--task", "t", "--config", "{}", "--score", "roc_auc=0.5", "--tag", "team"],
     "error: --tag 'team': expected key=value."),
    (["run", "t.csv", "--target", "y", "--portfolio", "0"], "error: Invalid value for '--portfolio'"),
    (["run", "t.csv", "--target", "y", "--portfolio", "2", "--backend", "slurm"],
     "error: --backend 'slurm': use local or ray."),
    (["run", "t.csv", "--target", "y", "--portfolio", "2", "--device", "tpu"],
     "error: --device: Unknown device 'tpu'"),
    (["recommend", "t.csv", "--target", "y", "--k", "0"], "error: Invalid value for '--k'"),
    (["improve", "--budget", "30x"], "error: --budget: '30x' is not a duration; write e.g. 30m"),
    (["improve", "--budget", "0"], "error: --budget '0': give a time above 0, e.g. 30m."),
    (["import", "no-such-file.nq"], "error: no-such-file.nq: file not found."),
    (["query", "CLEAR ALL", "--store", "memory:"], "error: Only SELECT, ASK, CONSTRUCT and DESCRIBE "
     "queries are allowed here, not CLEAR; to write, log runs (`metakg log`, POST /runs)"),
])
def test_a_usage_error_exits_2_with_one_line(argv: list[str], message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown commands and options, missing and bad values: status 2, one line, no traceback."""
    from metakg.api.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message) and captured.err.count("\n") == 1, captured.err


def test_a_query_whose_service_cannot_be_reached_fails_with_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    from metakg.api.cli import main

    # no network in the tests: a port HTTP may not use stands for an unreachable endpoint
    with pytest.raises(SystemExit) as exc:
        main(["query", "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
              "--store", "memory:"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the query could not be answered: ") and err.count("\n") == 1, err


@pytest.mark.parametrize(("sparql", "message"), [
    ("SELECT ?s WHERE { ?s foo:bar ?o }", "Malformed SPARQL at 1:29: after \"SELECT ?s WHERE { ?s "
     "foo:bar\", 'foo:' is not a declared prefix; declared here: mls:, prov:, dcterms:"),
    ("SELECT ?s WHERE { ?s ?p ?o } LIMIT -1", "expected one of HAVING, OFFSET, OPTIONAL, VALUES, a number"),
])
def test_a_malformed_query_names_the_problem_without_the_parsers_character_ranges(
        sparql: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from metakg.api.cli import main

    with pytest.raises(SystemExit):
        main(["query", sparql, "--store", "memory:"])
    err = capsys.readouterr().err
    assert message in err and "..=" not in err and err.count("\n") == 1, err


def test_a_usage_error_from_the_installed_command_is_one_line() -> None:
    """The console script itself: no traceback on stderr."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "metakg.api", "recommend", "t.csv", "--k", "x"],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "METAKG_WARM": "0"})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    from metakg.api.cli import main

    main(["--version"])
    assert capsys.readouterr().out == f"metakg {version('metakg')}\n"


#: A process that holds an embedded store (as `metakg serve` does) until killed or 60 s pass.
_HOLD = ("import sys, time; from pyoxigraph import Store; s = Store(sys.argv[1]); "
         "print('held', flush=True); time.sleep(60)")


@pytest.mark.subprocess
def test_read_commands_work_while_another_process_holds_the_store(
        shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """query, export and recommend open a held store read-only and say so; metafeatures needs
    no store; a writing command still fails with the one-line reason."""
    import subprocess
    import sys

    import numpy as np

    from metakg.api.cli import main
    from metakg.kg import KnowledgeGraph, OxigraphStore, RunInput, read_table
    from metakg.metalearner.characterise import characterise

    location = tmp_path / "store"
    graph = KnowledgeGraph(OxigraphStore(location))
    rng = np.random.default_rng(0)
    configs = [{"family": "knn", "params": {"n_neighbors": 5}}, {"family": "linear", "params": {"C": 1.0}}]
    for name, target in [("breast.cancer", "Class"), ("credit.g", "class"), ("sonar", "Class")]:
        df = read_table(shared / "arff" / f"{name}.arff.gz")
        ds = graph.add_dataset(df, name=name, target=target)
        characterise(graph, ds, df, target, "classification", text=False)
        task = graph.add_task(ds, target=target, task_type="classification", n_classes=2, folds=2)
        graph.log_runs([RunInput(task_id=task.id, config=c,
                                 fold_scores={"roc_auc": list(0.6 + 0.3 * rng.random(2))})
                        for c in configs])
    graph.store.close()
    table = tmp_path / "t.csv"
    read_table(shared / "arff" / "diabetes.arff.gz").to_csv(table, index=False)

    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(location)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = ["--store", str(location)]

        def run(*argv: str) -> tuple[str, str]:
            capsys.readouterr()
            main([*argv, *store])
            out = capsys.readouterr()
            return out.out, out.err

        out, err = run("query", "SELECT ?n WHERE { ?d a mls:Dataset ; dcterms:title ?n } ORDER BY ?n",
                       "--json")
        assert [b["n"]["value"] for b in json.loads(out)["results"]["bindings"]] == [
            "breast.cancer", "credit.g", "sonar"]
        assert "held by another process; reading it read-only" in err
        out, err = run("export", str(tmp_path / "copy.nq"))
        assert (tmp_path / "copy.nq").stat().st_size > 0 and "read-only" in err
        out, err = run("recommend", str(table), "--target", "class", "--k", "2", "--json")
        assert len(json.loads(out)["recommendations"]) == 2 and "read-only" in err
        capsys.readouterr()
        main(["metafeatures", str(table), "--target", "class", "--json"])  # reads no store
        assert json.loads(capsys.readouterr().out)["metafeatures"]["nr_inst"] == 768
        with pytest.raises(SystemExit) as exc:  # a writer cannot fall back
            run("ingest", str(table), "--target", "class")
        assert exc.value.code == 2
        assert "is open in another process" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_mistake_in_any_table_or_row_writes_none_of_them(store: str, tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[1] / "data" / "samples" / "autompg.csv"
    invoke("ingest", str(sample), "--store", store)  # the store exists, with one table

    def titles() -> str:
        return invoke("query", "SELECT ?n WHERE { ?d a mls:Dataset ; dcterms:title ?n }", "--store", store)

    before = titles()
    (tmp_path / "good.csv").write_text("a,y\n1,0\n2,1\n3,0\n")
    done = runner.invoke(app, ["ingest", str(tmp_path / "good.csv"), str(tmp_path / "missing.csv"),
                               "--store", store])
    assert done.exit_code != 0 and "missing.csv" in str(done.exception)
    done = runner.invoke(app, ["ingest", str(tmp_path / "good.csv"), str(sample), "--target", "y",
                               "--store", store])
    assert done.exit_code != 0 and "Column 'y' is not in dataset 'autompg'" in str(done.exception)
    (tmp_path / "m.csv").write_text("name,file,task,target\ngood,good.csv,classification,y\n"
                                    "bad,good.csv,regresion,y\n")
    done = runner.invoke(app, ["ingest", "--manifest", str(tmp_path / "m.csv"), "--store", store])
    assert done.exit_code != 0 and "m.csv, row 2 (bad): task must be classification or regression" \
        in str(done.exception), done.exception
    # a target or a table that is wrong only inside its file: every table is read before any is written
    (tmp_path / "broken.csv").write_text("a,y\n1,0\n2,1,7,7\n")
    missing_z = "row 2 (other): good.csv: Column 'z' is not in dataset 'other'"
    for second, says in (("other,good.csv,classification,z", missing_z),
                         ("other,broken.csv,classification,y", "row 2 (other): broken.csv: ")):
        (tmp_path / "m.csv").write_text(f"name,file,task,target\ngood,good.csv,classification,y\n{second}\n")
        done = runner.invoke(app, ["ingest", "--manifest", str(tmp_path / "m.csv"), "--store", store])
        assert done.exit_code != 0 and says in str(done.exception), done.exception
        assert "Nothing was written" in str(done.exception)
    # tables given by path are checked before the manifest's are written
    (tmp_path / "m.csv").write_text("name,file,task,target\ngood,good.csv,classification,y\n")
    done = runner.invoke(app, ["ingest", "--manifest", str(tmp_path / "m.csv"), str(tmp_path / "broken.csv"),
                               "--store", store])
    assert done.exit_code != 0 and f"{tmp_path / 'broken.csv'}: " in str(done.exception), done.exception
    assert titles() == before  # nothing of any batch was written


def test_a_name_is_one_tables(store: str, tmp_path: Path) -> None:
    """A second table under a name the graph (or the same ingest) already gives another is
    refused before anything is written; the same table again is not a second dataset."""
    (tmp_path / "sales.csv").write_text("a,y\n1,0\n2,1\n3,0\n")
    first = json.loads(invoke("ingest", str(tmp_path / "sales.csv"), "--store", store, "--json"))
    assert json.loads(invoke("ingest", str(tmp_path / "sales.csv"), "--store", store, "--json")) == first
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "sales.csv").write_text("a,y\n1,0\n2,1\n3,1\n")  # edited: other content
    done = runner.invoke(app, ["ingest", str(tmp_path / "new" / "sales.csv"), "--store", store])
    text = str(done.exception)
    assert done.exit_code != 0 and f"The name 'sales' is already dataset {first[0]['id']} (3 rows" in text
    assert "a name of its own (--name NEW), e.g. 'sales-2'" in text and "Nothing was written" in text, text
    # two different tables named alike in one ingest, by path or by manifest row
    (tmp_path / "other.csv").write_text("a,y\n5,0\n6,1\n")
    (tmp_path / "new" / "other.csv").write_text("a,y\n7,0\n8,1\n")
    done = runner.invoke(app, ["ingest", str(tmp_path / "other.csv"), str(tmp_path / "new" / "other.csv"),
                               "--store", store])
    assert done.exit_code != 0 and "given to two different tables in this ingest" in str(done.exception)
    (tmp_path / "m.csv").write_text("name,file,task,target\nfresh,other.csv,classification,y\n"
                                    "sales,new/sales.csv,classification,y\n")
    done = runner.invoke(app, ["ingest", "--manifest", str(tmp_path / "m.csv"), "--store", store])
    assert done.exit_code != 0 and "m.csv, row 2 (sales): The name 'sales' is already" in str(done.exception)
    assert "(rename its row), e.g. 'sales-2'" in str(done.exception)
    # a path and a manifest row naming two different tables alike: refused before either is written
    (tmp_path / "m.csv").write_text("name,file,task,target\nother,other.csv,classification,y\n")
    done = runner.invoke(app, ["ingest", "--manifest", str(tmp_path / "m.csv"),
                               str(tmp_path / "new" / "other.csv"), "--store", store])
    assert done.exit_code != 0 and "given to two different tables in this ingest" in str(done.exception)
    names = invoke("query", "SELECT ?n WHERE { ?d a mls:Dataset ; dcterms:title ?n }", "--store", store)
    assert "fresh" not in names and "other" not in names and names.count("sales") == 1
    # under a name of its own it is a dataset of its own
    second = json.loads(invoke("ingest", str(tmp_path / "new" / "sales.csv"), "--name", "sales-2",
                               "--store", store, "--json"))
    assert second[0]["name"] == "sales-2" and second[0]["id"] != first[0]["id"]
    done = runner.invoke(app, ["ingest", str(tmp_path / "sales.csv"), str(tmp_path / "other.csv"),
                               "--name", "x", "--store", store])
    assert done.exit_code == 2 and "--name names one table; 2 paths were given" in done.output


def test_a_target_with_a_class_per_row_is_refused_at_once(tmp_path: Path) -> None:
    import time

    import pandas as pd

    from metakg.kg.errors import InvalidData
    from metakg.metalearner import recommend

    df = pd.DataFrame({"id": [f"row-{i}" for i in range(1000)], "x": range(1000),
                       "y": [i % 2 for i in range(1000)]})
    t0 = time.perf_counter()
    with pytest.raises(InvalidData, match=r"Target 'id' has 1000 classes in 1000 rows .* an id column\?"):
        recommend(df, target="id", text=False)
    assert time.perf_counter() - t0 < 5.0
    with pytest.raises(InvalidData, match="task_type must be 'classification' or 'regression', not 'classif'"):
        from metakg.metalearner.metafeatures import compute_metafeatures

        compute_metafeatures(df, "y", task_type="classif")


def test_a_logged_family_that_looks_misspelt_is_named(capsys: pytest.CaptureFixture) -> None:
    from metakg.api.cli_commands import _warn_if_misspelt_family

    _warn_if_misspelt_family({"family": "xgbost"})
    assert "family 'xgbost' is not one of metakg's families; did you mean 'xgboost'?" in capsys.readouterr().err
    for config in ({"family": "xgboost"}, {"family": "my-net"}, [1, 2]):
        _warn_if_misspelt_family(config)
        assert capsys.readouterr().err == ""


def test_an_unreachable_server_is_one_line_not_a_traceback(capsys: pytest.CaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from metakg.api.cli import main

    monkeypatch.setattr("time.sleep", lambda s: None)  # the client's retries, without waiting
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SystemExit) as done:
        main(["log", "--task", "t1", "--config", '{"family": "knn"}', "--score", "roc_auc=0.8",
              "--server", f"http://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.startswith("error: cannot reach the metakg server (ConnectError")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
