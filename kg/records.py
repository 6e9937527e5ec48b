"""Frozen records returned by the graph (never live handles) and inputs for writes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Column", "Configuration", "Dataset", "Run", "RunInput", "Task"]


@dataclass(frozen=True)
class Column:
    """One column of a dataset's schema."""

    name: str
    dtype: str
    position: int


@dataclass(frozen=True)
class Dataset:
    """A dataset node: identity from its content hash.

    ``derived_from`` is the id of the dataset it was derived from (``prov:wasDerivedFrom``:
    a binary task made from a regression table, say), ``derivation`` the rule in words.
    """

    id: str
    name: str
    content_hash: str
    rows: int
    columns: int
    description: str = ""
    sources: tuple[str, ...] = ()
    default_target: str | None = None
    schema: tuple[Column, ...] = ()
    derived_from: str | None = None
    derivation: str = ""

    @property
    def iri(self) -> str:
        from metakg.kg.vocabulary import entity

        return entity("dataset", self.id).value


@dataclass(frozen=True)
class Task:
    """A supervised task on a dataset with its evaluation protocol."""

    id: str
    dataset_id: str
    target: str
    task_type: str
    metric: str
    folds: int = 5
    seed: int = 0
    subsample_rows: int | None = None
    n_classes: int | None = None
    #: standard deviation of a regression target (population, over the rows with a target):
    #: puts this task's RMSEs on the scale of another's
    target_sd: float | None = None

    @property
    def iri(self) -> str:
        from metakg.kg.vocabulary import entity

        return entity("task", self.id).value


@dataclass(frozen=True)
class Configuration:
    """A pipeline configuration; ``json`` is canonical and ``id`` its hash."""

    id: str
    family: str
    json: str

    @property
    def config(self) -> dict[str, Any]:
        """The configuration as a new dict."""
        return json.loads(self.json)

    @property
    def iri(self) -> str:
        from metakg.kg.vocabulary import entity

        return entity("config", self.id).value


@dataclass(frozen=True)
class Run:
    """A run: one configuration evaluated on one task (all its folds)."""

    id: str
    task_id: str
    dataset_id: str
    configuration_id: str
    status: str
    scores: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    principal: str | None = None
    started_at: str | None = None
    source: str | None = None
    device: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def iri(self) -> str:
        from metakg.kg.vocabulary import entity

        return entity("run", self.id).value


@dataclass
class RunInput:
    """What a caller gives to log one complete run.

    Args:
        task_id: the task the run achieves.
        config: the configuration (a JSON object) it executes.
        fold_scores: measure name → one value per fold (``{"roc_auc": [0.91, 0.93]}``).
        status: ``completed`` or ``failed``.
        error: error text of a failed run.
        principal: who ran it (set by the API from the key, never from a request body).
        started_at: when it started (default: now).
        device, source, code_version, tags, software: provenance.
    """

    task_id: str
    config: dict[str, Any]
    fold_scores: dict[str, list[float]] = field(default_factory=dict)
    status: str = "completed"
    error: str | None = None
    principal: str | None = None
    started_at: datetime | None = None
    device: str | None = None
    source: str | None = None
    code_version: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    software: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
