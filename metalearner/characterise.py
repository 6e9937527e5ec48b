"""Characterise datasets in the graph: meta-features and text embeddings, stored with
the extractor's name and version; recompute what is stale in one call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from metakg.kg import dataset_index, embeddings
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.records import Dataset
from metakg.metalearner.metafeatures import (
    EXTRACTOR,
    VERSION,
    MetaFeatures,
    compute_metafeatures,
    describe,
    embed_texts,
    model_available,
)
from metakg.metalearner.metafeatures.text import MODEL_NAME

__all__ = ["characterise", "characterise_if_stale", "dataset_embedding", "dataset_embeddings",
           "dataset_table", "recompute", "register_metafeatures", "search_datasets",
           "stale_datasets", "store_embedding"]


def characterise(graph: KnowledgeGraph, dataset: Dataset, df: pd.DataFrame, target: str,
                 task_type: str | None = None, *, text: bool = True) -> MetaFeatures:
    """Compute and store a dataset's meta-features (and text embedding when available)."""
    mf = compute_metafeatures(df, target, task_type=task_type)
    graph.set_metafeatures(dataset.id, mf.values, groups=mf.groups, reasons=mf.reasons,
                           extractor=EXTRACTOR, version=VERSION)
    if text and model_available():
        store_embedding(graph, dataset, target)
    return mf


def characterise_if_stale(graph: KnowledgeGraph, dataset: Dataset, df: pd.DataFrame, target: str,
                          task_type: str | None = None) -> MetaFeatures | None:
    """:func:`characterise` a dataset unless it has meta-features of the current extractor
    version (the hook :func:`runner.seed.build_seed` calls for every table it ingests).

    Returns:
        The meta-features computed, or ``None`` when they were current.
    """
    if dataset_index.has_current_metafeatures(graph, dataset.id, extractor=EXTRACTOR,
                                              version=VERSION):
        return None
    return characterise(graph, dataset, df, target, task_type)


def store_embedding(graph: KnowledgeGraph, dataset: Dataset, target: str | None) -> np.ndarray:
    """Embed the dataset's name, description and columns; store it on the dataset node."""
    text = describe(dataset.name, dataset.description, [c.name for c in dataset.schema], target)
    vec = embed_texts([text])[0]
    embeddings.set_text_embedding(graph, dataset.id, vec, model=MODEL_NAME)
    return vec


def dataset_embeddings(graph: KnowledgeGraph) -> tuple[list[str], np.ndarray]:
    """Dataset ids and their stored text embeddings (rows aligned)."""
    stored = embeddings.text_embeddings(graph)
    if not stored:
        return [], np.empty((0, 384), dtype=np.float32)
    return list(stored), np.stack(list(stored.values()))


def dataset_embedding(graph: KnowledgeGraph, dataset_id: str) -> np.ndarray | None:
    """One dataset's stored text embedding (``None``: none stored)."""
    return embeddings.text_embedding(graph, dataset_id)


def search_datasets(graph: KnowledgeGraph, text: str, k: int = 10) -> list[tuple[Dataset, float]]:
    """Datasets whose description and columns are closest in meaning to ``text``."""
    ids, mat = dataset_embeddings(graph)
    if not ids:
        return []
    q = embed_texts([text])[0]
    sims = mat @ q
    order = np.argsort(-sims)[:k]
    return [(graph.get_dataset(ids[i]), float(sims[i])) for i in order]


def stale_datasets(graph: KnowledgeGraph) -> list[str]:
    """Ids of datasets without meta-features of the current extractor version."""
    return dataset_index.stale_datasets(graph, extractor=EXTRACTOR, version=VERSION)


def recompute(graph: KnowledgeGraph, resolve: Callable[[Dataset], Path | None], *,
              progress: bool = True) -> tuple[int, list[str]]:
    """Recompute meta-features of every stale dataset whose table can be found.

    A table is found by ``resolve``; a derived one (a binary task made from a regression or
    multiclass table, or a sample of a larger table) is made again from its source's table by
    the rule its name records, and used only if its content hash is the stored one.

    Args:
        graph: the graph whose stale datasets (:func:`stale_datasets`) are recomputed.
        resolve: dataset → path of its table file, or ``None`` when it is not at hand.
        progress: show a progress bar.

    Returns:
        (how many were recomputed, sorted ids of datasets whose table was not found).
    """
    from rich.progress import track

    from metakg.kg.tables import read_table

    stale = [graph.get_dataset(ds_id) for ds_id in stale_datasets(graph)]
    # a table and the tables derived from it one after the other, so that the source file is
    # read once for all of them (the last file read is kept, nothing more)
    stale.sort(key=lambda ds: (_root_id(graph, ds), ds.derived_from is not None, ds.id))
    last: dict[Path, pd.DataFrame] = {}

    def read_once(path: Path) -> pd.DataFrame:
        if path not in last:
            last.clear()
            last[path] = read_table(path)
        return last[path].copy()

    missing = []
    done = 0
    from rich.console import Console

    for ds in track(stale, description="meta-features", disable=not progress,
                    console=Console(stderr=True)):  # stdout stays the command's answer
        found = dataset_table(graph, ds, resolve, read=read_once)
        if found is None:
            missing.append(ds.id)
            continue
        df, target = found
        tasks = graph.tasks(ds.id)
        characterise(graph, ds, df, target, tasks[0].task_type if tasks else None)
        done += 1
    return done, sorted(missing)


def _root_id(graph: KnowledgeGraph, ds: Dataset) -> str:
    """The id of the table a dataset is derived from, through any chain of derivations."""
    while ds.derived_from is not None:
        ds = graph.get_dataset(ds.derived_from)
    return ds.id


def dataset_table(graph: KnowledgeGraph, ds: Dataset, resolve: Callable[[Dataset], Path | None],
                  *, read: Callable[[Path], pd.DataFrame] | None = None,
                  ) -> tuple[pd.DataFrame, str] | None:
    """A dataset's table and target: read from the file ``resolve`` finds or, for a derived
    dataset, made again from its source's table (:func:`kg.derived.binary_variant` or
    :func:`kg.derived.small_sample`, by the split or sample size its name records).

    Args:
        graph: the graph that knows the dataset and its sources.
        ds: the dataset.
        resolve: dataset → path of its table file, or ``None`` when it is not at hand.
        read: path → table (default :func:`kg.tables.read_table`); :func:`recompute` passes
            one that keeps the last table read, so a source is read once for its derivations.

    Returns:
        (table, target), or ``None`` when the file (or its source's) is not found, or the
        table made again does not have the stored content hash.
    """
    import re

    from metakg.kg.derived import SPLITS, binary_variant, small_sample, split_index
    from metakg.kg.errors import InvalidData
    from metakg.kg.identity import table_hash
    from metakg.kg.tables import read_table

    if ds.derived_from is None:
        path = resolve(ds)
        return None if path is None else ((read or read_table)(path),
                                          ds.default_target or ds.schema[-1].name)
    source = graph.get_dataset(ds.derived_from)
    found = dataset_table(graph, source, resolve, read=read)
    if found is None:
        return None
    df, target = found
    sample = re.search(r"\.n(\d+)$", ds.name)
    try:
        if sample:
            frame = small_sample(df, target, int(sample.group(1))).frame
        else:
            tasks = graph.tasks(source.id)
            task_type = tasks[0].task_type if tasks else "classification"
            split = split_index(ds.name)
            if split is None:
                return None
            frame = binary_variant(df, target, task_type, split=SPLITS[task_type][split]).frame
    except InvalidData:
        return None
    return (frame, target) if table_hash(frame) == ds.content_hash else None


def register_metafeatures(graph: KnowledgeGraph, *, name: str, task_type: str,
                          metafeatures: dict[str, float | None], n_classes: int | None = None,
                          description: str = "", target_sd: float | None = None) -> Dataset:
    """Register a dataset known only by its meta-features (no table).

    Its identity is the hash of its name and meta-features; rows and columns come from
    ``nr_inst`` and ``nr_attr`` when given.

    Args:
        graph: the knowledge graph.
        name, task_type, n_classes, description: the dataset and its task.
        metafeatures: meta-feature name → value (:func:`compute_metafeatures` names).
        target_sd: a regression target's standard deviation, recorded on its task so that its
            recommendations can put other datasets' RMSE on its scale.

    Returns:
        The registered dataset.

    Raises:
        InvalidData: unknown task type, no meta-feature with a finite value, or a negative
            ``target_sd``.
        NameTaken: ``name`` already names another dataset (a table, or other meta-features
            under that name); registering the same name and meta-features again is allowed.
    """
    import hashlib

    from metakg.kg.errors import InvalidData, NameTaken
    from metakg.kg.identity import canonical_json

    if task_type not in ("classification", "regression"):
        raise InvalidData(f"task_type must be classification or regression, not {task_type!r}.")
    clean = {k: (None if v is None or not np.isfinite(v) else float(v)) for k, v in metafeatures.items()}
    if not any(v is not None for v in clean.values()):
        raise InvalidData(f"{name}: no meta-feature has a finite value; send what "
                          "compute_metafeatures gives for the table (e.g. nr_inst, nr_attr).")
    digest = hashlib.sha256(canonical_json({"name": name, "metafeatures": clean}).encode()).hexdigest()
    rows = int(clean.get("nr_inst") or 1)
    cols = int(clean.get("nr_attr") or 1)
    ds = Dataset(id=digest[:32], name=name, content_hash=digest, rows=max(rows, 1),
                 columns=max(cols, 1), description=description, sources=("metafeatures-only",))
    named = graph.datasets_named(name)
    taken = next((d for d in named if d != ds.id), None)
    if taken is not None and ds.id not in named:  # registered before: the same dataset again
        raise NameTaken(
            f"A dataset named {name!r} is already in the graph ({taken}); a second one of that "
            "name would make looking it up by name ambiguous. Register these meta-features "
            f"under another name (e.g. {name + '-2'!r}), or log runs against the existing "
            f"dataset by its id ({taken}).")
    # the task first: it checks target_sd, so a bad one leaves nothing behind
    graph.add_task(ds, target="(unknown)", task_type=task_type, n_classes=n_classes,
                   target_sd=target_sd)
    graph.add_dataset_record(ds)
    graph.set_metafeatures(ds.id, clean, extractor=EXTRACTOR, version=VERSION)
    if description and model_available():
        store_embedding(graph, ds, None)
    return graph.get_dataset(ds.id)
