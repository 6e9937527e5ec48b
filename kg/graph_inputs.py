"""What callers hand to the graph, checked and resolved: configuration JSON objects, the
task a logged run refers to, column names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metakg.kg.errors import InvalidData, MetaKGError
from metakg.kg.identity import canonical_json, configuration_id
from metakg.kg.records import Configuration, Task
from metakg.kg.vocabulary import entity

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from metakg.kg.graph import KnowledgeGraph

__all__ = ["RunTasks", "TaskReference", "batch_prefix", "family_name", "make_configuration",
           "missing_column_message", "run_tasks", "task_for_run"]


def make_configuration(config: dict[str, Any]) -> Configuration:
    """Build the configuration record of a JSON object.

    Raises:
        InvalidData: not an object, no string ``family``, or not JSON-serialisable.
    """
    if not isinstance(config, dict) or not isinstance(config.get("family"), str):
        raise InvalidData(
            f"A configuration must be a JSON object with a 'family' string, got {config!r:.120}.")
    family = config["family"]
    if not family or family_name(family) != family or not _is_iri_segment(family):
        raise InvalidData(f"config.family {family!r:.80} cannot name a model family: a family "
                          "names a node of the graph, so it is a valid IRI segment (no spaces, "
                          "'/', '#', '?', or <>\"{}|^`\\; '%' only as an escape), e.g. "
                          "'lightgbm', 'my-net'.")
    try:
        text = canonical_json(config)
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"Configuration is not valid JSON: {exc}") from None
    return Configuration(id=configuration_id(config), family=config["family"], json=text)


#: Characters a family name leaves out, percent-encoded by :func:`family_name`: what an IRI
#: cannot hold, and what would change its structure (``/``, ``#``, ``?``).
_NOT_IN_FAMILY = frozenset(' <>"{}|\\^`/#?')


def _is_iri_segment(text: str) -> bool:
    try:
        entity("implementation", text)
    except ValueError:
        return False
    return True


def family_name(text: str) -> str:
    """``text`` as a family name: the characters an IRI segment cannot hold (spaces, ``/``,
    ``#``, ``?``, a ``%`` that starts no escape, control characters and the like)
    percent-encoded, the rest kept, so a name an importer reads from another tool (an MLflow
    run name, an OpenML flow) can name a node.

    Args:
        text: the name as the other tool gives it.

    Returns:
        The name, unchanged when it already is one.
    """
    out = []
    for i, ch in enumerate(text):
        stray_percent = ch == "%" and not re.fullmatch(r"[0-9A-Fa-f]{2}", text[i + 1:i + 3])
        if ch in _NOT_IN_FAMILY or ord(ch) < 0x20 or ord(ch) == 0x7F or stray_percent:
            out.append("".join(f"%{b:02X}" for b in ch.encode()))
        else:
            out.append(ch)
    return "".join(out)


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


def batch_prefix(i: int, n: int, run_id: str | None = None) -> str:
    """How a refusal starts, naming the batch's run ``i`` (0-based): ``runs[i]: ``, the index
    in the list the caller passed (the JSON path of an HTTP batch), with the run's own id when
    it has one (``runs[1] (my-id): ``); nothing for a run alone (``run 'my-id': `` with an id).
    """
    where = f"runs[{i}]" if n > 1 else ""
    if run_id:
        where = f"{where} ({run_id})" if where else f"run {run_id!r}"
    return f"{where}: " if where else ""


@dataclass(frozen=True)
class TaskReference:
    """Which task a run to log achieves: its id, or a dataset (id, content hash or name) with a
    target and a task type, whose task is created with the run.

    Attributes:
        task_id: the task's id.
        dataset, target, task_type: the dataset's reference, the column, the task type.
        folds: the folds of a task created by reference.
    """

    task_id: str | None = None
    dataset: str | None = None
    target: str | None = None
    task_type: str | None = None
    folds: int = 5


@dataclass(frozen=True)
class RunTasks:
    """The tasks of a batch of runs to log.

    Attributes:
        tasks: each run's task, in the batch's order.
        new: the tasks named by reference, to write with the runs
            (``KnowledgeGraph.log_runs(..., new_tasks=new)``): a refused batch leaves none.
    """

    tasks: list[Task]
    new: list[Task]


def run_tasks(graph: KnowledgeGraph, references: Sequence[TaskReference]) -> RunTasks:
    """Resolve the tasks of a batch of runs, each once, writing nothing.

    Args:
        graph: the knowledge graph.
        references: each run's task reference, in the batch's order.

    Returns:
        The runs' tasks and those to write with them.

    Raises:
        InvalidData: a reference gives neither a task id nor a full dataset reference, or both.
        NotFound, DatasetNotFound: an unknown task or dataset (an id that cannot be part of an
            IRI names none). Each refusal names the run (:func:`batch_prefix`); its message
            says what is missing, without hints on how to fix it (the caller knows its tools).
    """
    memo: dict[tuple[Any, ...], Task] = {}
    tasks: list[Task] = []
    new: dict[str, Task] = {}
    for i, ref in enumerate(references):
        try:
            if ref.task_id and ref.dataset:
                raise InvalidData("Give task_id or dataset (with target and task_type), not both.")
            task = _referenced_task(graph, ref, memo)
        except MetaKGError as exc:
            raise type(exc)(f"{batch_prefix(i, len(references))}{exc}") from None
        tasks.append(task)
        if not ref.task_id:  # a task named by its id is in the graph already
            new[task.id] = task
    return RunTasks(tasks=tasks, new=list(new.values()))


def _referenced_task(graph: KnowledgeGraph, ref: TaskReference, memo: dict) -> Task:
    from metakg.kg.errors import DatasetNotFound, NotFound

    try:
        return task_for_run(graph, task_id=ref.task_id, dataset=ref.dataset, target=ref.target,
                            task_type=ref.task_type, folds=ref.folds, memo=memo, write=False)
    except DatasetNotFound:
        raise DatasetNotFound(f"No dataset {ref.dataset!r} in the graph (looked up by id, "
                              "content hash and name).") from None
    except NotFound:
        raise NotFound(f"No task {ref.task_id!r} in the graph.") from None
    except MetaKGError:
        raise
    except ValueError:  # an id that cannot be part of an IRI names no task or dataset
        if ref.task_id:
            raise NotFound(f"No task {ref.task_id!r} in the graph.") from None
        raise DatasetNotFound(f"No dataset {ref.dataset!r} in the graph (looked up by id, "
                              "content hash and name).") from None
