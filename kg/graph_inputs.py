"""What callers hand to the graph, checked and resolved: configuration JSON objects, the
task a logged run refers to, column names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from metakg.kg.errors import InvalidData
from metakg.kg.identity import canonical_json, configuration_id
from metakg.kg.records import Configuration, Task
from metakg.kg.vocabulary import entity

if TYPE_CHECKING:
    from collections.abc import Iterable

    from metakg.kg.graph import KnowledgeGraph

__all__ = ["make_configuration", "missing_column_message", "task_for_run"]


def make_configuration(config: dict[str, Any]) -> Configuration:
    """Build the configuration record of a JSON object.

    Raises:
        InvalidData: not an object, no string ``family``, or not JSON-serialisable.
    """
    if not isinstance(config, dict) or not isinstance(config.get("family"), str):
        raise InvalidData(
            f"A configuration must be a JSON object with a 'family' string, got {config!r:.120}.")
    family = config["family"]
    try:  # the family names a node of the graph: it must fit in an IRI
        usable = bool(family.strip()) and family == family.strip() and bool(
            entity("implementation", family))
    except ValueError:
        usable = False
    if not usable:
        raise InvalidData(f"config.family {family!r:.80} cannot name a model family: give a name "
                          "without spaces or the characters <>\"{}|^`\\ (e.g. 'lightgbm', "
                          "'my-net').")
    try:
        text = canonical_json(config)
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"Configuration is not valid JSON: {exc}") from None
    return Configuration(id=configuration_id(config), family=config["family"], json=text)


def missing_column_message(name: str, column: str, columns: Iterable[object]) -> str:
    """The error message for a column that a table lacks, with the closest names.

    Args:
        name: the table's name, as the user knows it.
        column: the column asked for.
        columns: the table's columns.

    Returns:
        One sentence naming the table, its first columns and up to three close matches.
    """
    import difflib

    cols = [str(c) for c in columns]
    close = difflib.get_close_matches(column, cols, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return (f"Column {column!r} is not in dataset {name!r} (columns: "
            f"{', '.join(cols[:12])}{'...' if len(cols) > 12 else ''}).{hint}")



def task_for_run(graph: KnowledgeGraph, *, task_id: str | None, dataset: str | None,
                 target: str | None, task_type: str | None, folds: int = 5,
                 memo: dict[tuple[Any, ...], Task] | None = None, write: bool = True) -> Task:
    """The task a logged run refers to: by id, or by dataset + target + task type.

    Args:
        memo: a dict shared across the runs of one batch, so each task is resolved once.
        write: write a task named by dataset + target + type now; ``False`` leaves that to
            the caller (``KnowledgeGraph.log_runs(..., new_tasks=...)``, with the runs).

    Raises:
        InvalidData: neither a task id nor a full dataset reference.
        NotFound, DatasetNotFound: unknown task or dataset.
    """
    key = (task_id, dataset, target, task_type, folds)
    if memo is not None and key in memo:
        return memo[key]
    if task_id:
        task = graph.get_task(task_id)
    elif not (dataset and target and task_type):
        raise InvalidData("Give task_id, or dataset with target and task_type.")
    else:
        make = graph.add_task if write else graph.task_record
        task = make(graph.get_dataset(dataset), target=target, task_type=task_type, folds=folds)
    if memo is not None:
        memo[key] = task
    return task
