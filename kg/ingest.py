"""Ingest tables into the graph: one file, many files, or a whole manifest."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from metakg.kg.errors import InvalidData, NameTaken
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.identity import table_hash
from metakg.kg.records import Dataset
from metakg.kg.tables import read_table

__all__ = ["CheckedTable", "IngestedTable", "check_names", "check_tables", "ingest_file", "ingest_manifest",
           "read_manifest"]

_MANIFEST_COLUMNS = ("name", "file", "task", "target")
#: Tables a manifest's check pass read are kept for its write pass up to this much memory in
#: all (pandas' deep memory use); the rest are read again, so an ingest's memory stays bounded.
KEEP_CHECKED_MB = 512


@dataclass(frozen=True)
class IngestedTable:
    """A dataset node and the table it came from."""

    dataset: Dataset
    frame: pd.DataFrame
    task_type: str | None = None


def ingest_file(
    graph: KnowledgeGraph,
    path: str | Path,
    *,
    target: str | None = None,
    name: str | None = None,
    description: str = "",
    source: str | None = None,
) -> IngestedTable:
    """Read a table file and add its dataset node (idempotent).

    Args:
        graph: destination.
        path: ARFF, CSV/TSV or Parquet file (text formats may be gzipped).
        target: the target column, checked to exist.
        name: dataset name (default: the file name without suffixes).
        description: free text.
        source: provenance (default: the path).

    Raises:
        InvalidData: unreadable or malformed file, or unknown target (nothing written).
        NameTaken: the name is another table's (nothing written).
    """
    p = Path(path)
    df = read_table(p)
    ds = graph.add_dataset(df, name=name or _table_name(p), target=target,
                           description=description, source=source or str(p), unique_name=True)
    return IngestedTable(ds, df)


@dataclass(frozen=True)
class CheckedTable:
    """A table file read and checked, not written: the name and dataset id it will have."""

    path: Path
    name: str
    dataset_id: str


def check_tables(paths: list[str | Path], *, target: str | None = None, name: str | None = None,
                 progress: bool = False) -> list[CheckedTable]:
    """Read and check table files before any is written, one at a time (each is dropped once
    checked: memory holds one table; :func:`ingest_file` then reads each again to write it).

    Args:
        paths: the table files.
        target: the target column each must have.
        name: the dataset name of a single file (default: each file's name).
        progress: show a progress bar on stderr.

    Returns:
        Each file's name and dataset id, for :func:`check_names` against the graph.

    Raises:
        InvalidData: an unreadable or malformed file, an empty table, or a table without
            ``target``, named; nothing was written.
        NameTaken: two different tables would have one name; nothing was written.
    """
    named: dict[str, str] = {}
    checked = []
    for path in _tracked(list(map(Path, paths)), "check", progress):
        table_name = name or _table_name(path)
        try:
            _, dataset_id = _checked_table(path, target, table_name)
            _check_name(None, named, table_name, dataset_id)
        except (InvalidData, NameTaken) as exc:  # named by the path as given: two files may share a name
            text = str(exc).removeprefix(f"{path.name}: ")
            raise type(exc)(f"{path}: {text} Nothing was written.") from None
        checked.append(CheckedTable(path, table_name, dataset_id))
    return checked


def check_names(graph: KnowledgeGraph, tables: list[CheckedTable]) -> None:
    """Check that no other table of the graph has the name one of these tables is to have.

    Raises:
        NameTaken: a table's name is another's, named by its path; nothing was written.
    """
    for table in tables:
        try:
            graph.check_name_free(table.name, table.dataset_id, how="--name NEW")
        except NameTaken as exc:
            raise NameTaken(f"{table.path}: {exc} Nothing was written.") from None


def _checked_table(path: Path, target: str | None, name: str) -> tuple[pd.DataFrame, str]:
    """Read a table and check it as :meth:`KnowledgeGraph.add_dataset` will (each refusal
    starts with the file's name).

    Returns:
        The table and the dataset id it will have.
    """
    from metakg.kg.graph_inputs import missing_column_message

    df = read_table(path)
    if df.empty:
        raise InvalidData(f"{path.name}: the table is empty ({df.shape[0]} rows, {df.shape[1]} columns).")
    if target is not None and target not in df.columns:
        raise InvalidData(f"{path.name}: {missing_column_message(name, target, df.columns)}")
    return df, table_hash(df)[:32]


def _check_name(graph: KnowledgeGraph | None, names: dict[str, str], name: str,
                dataset_id: str, how: str = "") -> None:
    """Refuse a name another table of this batch (``names``: name → dataset id, updated) or
    of the graph has."""
    earlier = names.setdefault(name, dataset_id)
    if earlier != dataset_id:
        raise NameTaken(f"the name {name!r} is given to two different tables in this ingest "
                        f"(datasets {earlier} and {dataset_id}); give one of them another name.")
    if graph is not None:
        graph.check_name_free(name, dataset_id, how=how)


def _tracked(items: list, description: str, progress: bool) -> Any:
    """``items`` with a progress bar on stderr (none when ``progress`` is false)."""
    from rich.progress import track

    return track(items, description=description, disable=not progress, console=_stderr())


def _table_name(p: Path) -> str:
    """A table's dataset name from its file: the name without its table suffixes."""
    return _stem(p) or (p.name.split(".")[0] if not p.name.startswith(".") else p.name)


def _stem(p: Path) -> str:
    name = p.name
    for suffix in (".gz", ".arff", ".csv", ".tsv", ".parquet", ".pq"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def read_manifest(manifest: str | Path) -> list[dict[str, str]]:
    """Rows of a manifest CSV (columns name, file, task, target[, description]).

    Raises:
        InvalidData: missing file or required columns.
    """
    p = Path(manifest)
    if not p.exists():
        raise InvalidData(f"{p}: manifest not found.")
    with open(p, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidData(f"{p.name}: manifest lacks column(s) {', '.join(missing)}; "
                              f"expected {', '.join(_MANIFEST_COLUMNS)}[, description].")
        return list(reader)


def ingest_manifest(
    graph: KnowledgeGraph, manifest: str | Path, *, names: list[str] | None = None,
    progress: bool = True, unique_names: bool = True, alongside: Sequence[CheckedTable] = (),
) -> Iterator[IngestedTable]:
    """Ingest every table a manifest lists (paths relative to the manifest), with a progress bar.

    Every row is checked (each table read; up to :data:`KEEP_CHECKED_MB` of them kept for
    the write, the rest dropped and read again) before the first table is written.

    Args:
        graph: destination.
        manifest: the manifest CSV.
        names: only the rows of these names (default: every row).
        progress: show progress bars on stderr.
        unique_names: refuse a row's name that another table has (a person's manifest); a
            build that re-reads its own manifest (the seed) passes ``False``, so a changed
            file adds a dataset rather than stopping the build.
        alongside: tables checked to be written in the same ingest (paths given beside the
            manifest), whose names the rows must not take either.

    Yields each ingested table as it lands.

    Raises:
        InvalidData: a row with an unknown task, a file that is not there, a broken or empty
            table or a missing target, named by its row; nothing was written.
        NameTaken: a row's name is another table's (in the graph or an earlier row); nothing
            was written.
    """
    p = Path(manifest)
    numbered = [(i, r) for i, r in enumerate(read_manifest(p), start=1)
                if names is None or r["name"] in names]
    for i, row in numbered:  # every row's task and file checked before any table is written
        if row["task"] not in ("classification", "regression"):
            raise InvalidData(f"{p.name}, row {i} ({row['name']}): task must be classification "
                              f"or regression, not {row['task']!r}. Nothing was written.")
        if not (p.parent / row["file"]).is_file():
            raise InvalidData(f"{p.name}, row {i} ({row['name']}): no file {row['file']} beside "
                              f"the manifest (in {p.parent}). Nothing was written.")
    named = {t.name: t.dataset_id for t in alongside}
    kept: dict[int, pd.DataFrame] = {}  # checked tables the write pass need not read again
    budget = KEEP_CHECKED_MB * 2**20
    for i, row in _tracked(numbered, "check", progress):
        try:
            df, dataset_id = _checked_table(p.parent / row["file"], row["target"], row["name"])
            _check_name(graph if unique_names else None, named, row["name"], dataset_id,
                        how="rename its row")
        except (InvalidData, NameTaken) as exc:
            raise type(exc)(f"{p.name}, row {i} ({row['name']}): {exc} Nothing was written.") from None
        size = int(df.memory_usage(deep=True).sum())
        if size <= budget:
            kept[i], budget = df, budget - size
        del df
    for i, row in _tracked(numbered, "ingest", progress):
        try:
            df = kept.pop(i) if i in kept else read_table(p.parent / row["file"])
            ds = graph.add_dataset(df, name=row["name"], target=row["target"],
                                   description=row.get("description", ""),
                                   source=f"shared/datasets/{row['file']}", unique_name=unique_names)
        except (InvalidData, NameTaken) as exc:  # the file changed since it was checked
            raise type(exc)(f"{p.name}, row {i} ({row['name']}): {exc} The tables of the rows "
                              "before it were written; run the ingest again once it is fixed "
                              "(a table already in the graph is not written twice).") from None
        yield IngestedTable(ds, df, row["task"])


def _stderr() -> Any:
    """A console on stderr: progress bars stay out of what scripts read from stdout."""
    from rich.console import Console

    return Console(stderr=True)
