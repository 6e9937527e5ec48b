"""Reading tables: every shared ARFF file, the malformed ones, CSV/Parquet identity."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakg.kg import InvalidData, KnowledgeGraph, read_table, table_hash
from metakg.kg.ingest import ingest_file, read_manifest

# A cross-section for the fast tier: '?' and '-' values, only nominal columns, a target named
# with hyphens, a two-column table, a numeric regression table.
VARIED = ("anneal", "audiology", "solar.flare1", "analcatdata_chall101", "cpu.small")


def test_varied_shared_arffs_read_with_their_targets(shared: Path) -> None:
    _check_shared(shared, VARIED)


@pytest.mark.slow
def test_every_shared_arff_reads_with_its_target(shared: Path) -> None:
    _check_shared(shared)


def _check_shared(shared: Path, only: tuple[str, ...] | None = None) -> None:
    rows = read_manifest(shared / "manifest.csv")
    assert len(rows) == 110
    rows = [r for r in rows if only is None or r["name"] in only]
    assert only is None or len(rows) == len(only)
    for row in rows:
        df = read_table(shared / row["file"])
        assert row["target"] in df.columns, row["name"]
        assert df.shape[0] == int(row["n_rows"]), row["name"]
        if row["task"] == "classification":
            assert df[row["target"]].nunique() == int(row["n_classes"]), row["name"]


def test_nominal_becomes_category_and_question_mark_missing(shared: Path) -> None:
    df = read_table(shared / "arff" / "anneal.arff.gz")
    assert isinstance(df["family"].dtype, pd.CategoricalDtype)
    assert "?" not in df["family"].cat.categories
    assert df["family"].isna().sum() > 0  # '?' in the file
    assert pd.api.types.is_float_dtype(df["carbon"])


# What EXPECTED.csv says → words our message must contain.
KEYWORDS = {
    "a data row with the wrong number of values": ["wrong number of values", ":"],
    "attribute type": ["is not ARFF", "range"],
    "space-separated data rows": ["space-separated", "commas"],
    "empty file": ["empty"],
}


def _expected(shared: Path) -> list[tuple[str, str]]:
    with open(shared / "malformed" / "EXPECTED.csv", newline="") as fh:
        return [(r["file"], r["what is wrong"]) for r in csv.DictReader(fh)]


@pytest.mark.parametrize("index", range(7))
def test_malformed_files_give_clear_errors(shared: Path, index: int,
                                           memory_graph: KnowledgeGraph) -> None:
    name, what = _expected(shared)[index]
    path = shared / "malformed" / name
    with pytest.raises(InvalidData) as err:
        ingest_file(memory_graph, path)
    msg = str(err.value)
    assert msg.startswith(name), msg  # names the file
    words = next(v for k, v in KEYWORDS.items() if what.startswith(k))
    for w in words:
        assert w in msg, (msg, what)
    if "empty" not in what:
        assert any(ch.isdigit() for ch in msg.split(":")[1]), f"no line number in {msg}"
    if "range" in what:
        assert what.split("'")[1] in msg  # quotes the offending type
    assert len(memory_graph.store) == 0  # nothing written


def test_malformed_file_exits_non_zero_from_cli(shared: Path, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "metakg.api", "ingest",
                        str(shared / "malformed" / "bank8FM.arff.gz"), "--store",
                        str(tmp_path / "s")], capture_output=True, text=True)
    assert r.returncode != 0
    assert "bank8FM.arff.gz:30" in r.stderr and "trailing commas" in r.stderr
    assert r.stderr.count("\n") == 1


def test_same_table_from_arff_csv_parquet_is_one_dataset(shared: Path, tmp_path: Path,
                                                         memory_graph: KnowledgeGraph) -> None:
    df = read_table(shared / "arff" / "autos.arff.gz")
    df.to_csv(tmp_path / "autos.csv", index=False, na_rep="?")
    df.to_parquet(tmp_path / "autos.parquet")
    ids = {ingest_file(memory_graph, p, target="symboling").dataset.id for p in
           [shared / "arff" / "autos.arff.gz", tmp_path / "autos.csv", tmp_path / "autos.parquet"]}
    assert len(ids) == 1
    assert len(memory_graph.datasets()) == 1
    [ds] = memory_graph.datasets()
    assert len(ds.sources) == 3
    assert {c.name: c.dtype for c in ds.schema}["make"] == "categorical"


def test_hash_changes_with_content() -> None:
    a = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    b = a.copy()
    b.loc[1, "x"] = 2.5
    assert table_hash(a) != table_hash(b)
    assert table_hash(a) == table_hash(a.astype({"y": "category"}))
    c = a.copy()
    c.loc[0, "x"] = np.nan
    assert table_hash(c) != table_hash(a)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(InvalidData, match="unknown table format"):
        read_table(tmp_path / "t.xlsx")
    with pytest.raises(InvalidData, match="file not found"):
        read_table(tmp_path / "nope.csv")


def test_csv_ragged_row_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InvalidData, match=r"r.csv: line 3"):
        read_table(tmp_path / "r.csv")


@pytest.mark.parametrize(("content", "message"), [
    (b"a,b,y\n1,2\n3,4,5\n", "r.csv: line 2 has 2 fields, the header 3"),  # short: not padded
    (b"a,a,y\n1,2,0\n3,4,1\n", "r.csv:1: column name(s) 'a' given more than once"),
    (b"a;b;y\n1;2;0\n3;4;1\n", "r.csv:1: the header is one column ('a;b;y'); the separator looks like ';'"),
    ("a,b,y\n1,2,0\n3,caf\u00e9,1\n".encode("latin-1"), "r.csv:3: not UTF-8 text (byte 0xe9)"),
])
def test_a_malformed_csv_names_the_line_and_the_fix(content: bytes, message: str,
                                                    tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_bytes(content)
    with pytest.raises(InvalidData, match=re.escape(message)):
        read_table(tmp_path / "r.csv")


def test_a_csv_with_a_long_text_cell_is_read(tmp_path: Path) -> None:
    long_text = "word " * 60_000  # 300,000 characters: above the csv module's default field limit
    (tmp_path / "t.csv").write_text(f'x,note,y\n1,"{long_text}",0\n2,short,1\n')
    df = read_table(tmp_path / "t.csv")
    assert df.shape == (2, 3) and len(str(df["note"].iloc[0])) >= 299_000


def test_unknown_target_suggests_close_names(shared: Path, memory_graph: KnowledgeGraph) -> None:
    with pytest.raises(InvalidData, match="Did you mean 'class'"):
        ingest_file(memory_graph, shared / "arff" / "anneal.arff.gz", target="clas")
    assert len(memory_graph.store) == 0


def test_a_file_whose_content_is_another_format_says_which(tmp_path: Path, shared: Path) -> None:
    import gzip

    arff_gz = (shared / "arff" / "credit.g.arff.gz").read_bytes()
    cases = {"t.csv": (gzip.decompress(arff_gz), "this looks like an ARFF file, not .csv; name it .arff"),
             "t.arff": (arff_gz, "this looks like a gzip-compressed file, not .arff; add .gz to its name (t.arff.gz)")}
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "p.csv")
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InvalidData, match=re.escape(f"{name}: {message}")):
            read_table(tmp_path / name)
    with pytest.raises(InvalidData, match=re.escape("p.csv: this looks like a Parquet file, not .csv")):
        read_table(tmp_path / "p.csv")
    (tmp_path / "ok.arff").write_bytes(gzip.decompress(arff_gz))  # comments before @relation
    assert read_table(tmp_path / "ok.arff").shape == (1000, 21)
    # text that merely starts like another format is a CSV
    (tmp_path / "par.csv").write_text("PAR1,PAR2,y\n1,2,0\n3,4,1\n")
    (tmp_path / "rel.csv").write_text("@relation_id,y\n1,0\n2,1\n")
    assert read_table(tmp_path / "par.csv").shape == (2, 3) and read_table(tmp_path / "rel.csv").shape == (2, 2)
    (tmp_path / "twice.csv.gz").write_bytes(gzip.compress(gzip.compress(b"a,y\n1,0\n")))
    with pytest.raises(InvalidData, match=re.escape("twice.csv.gz: compressed twice")):
        read_table(tmp_path / "twice.csv.gz")


def test_a_manifest_ingest_reads_each_table_once_within_its_memory_budget(
        tmp_path: Path, memory_graph: KnowledgeGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    import metakg.kg.ingest as ingest

    for n in range(3):
        (tmp_path / f"t{n}.csv").write_text("a,y\n" + "".join(f"{n * 10 + i},{i % 2}\n" for i in range(6)))
    (tmp_path / "m.csv").write_text("name,file,task,target\n" + "".join(
        f"t{n},t{n}.csv,classification,y\n" for n in range(3)))
    reads: list[str] = []
    monkeypatch.setattr(ingest, "read_table", lambda p: reads.append(Path(p).name) or read_table(p))
    ids = [t.dataset.id for t in ingest.ingest_manifest(memory_graph, tmp_path / "m.csv", progress=False)]
    assert reads == ["t0.csv", "t1.csv", "t2.csv"] and len(set(ids)) == 3  # kept for the write
    reads.clear()
    monkeypatch.setattr(ingest, "KEEP_CHECKED_MB", 0)  # nothing fits: each read again to write
    again = [t.dataset.id for t in ingest.ingest_manifest(memory_graph, tmp_path / "m.csv", progress=False)]
    assert reads == ["t0.csv", "t1.csv", "t2.csv"] * 2 and again == ids
    assert len(memory_graph.datasets()) == 3
