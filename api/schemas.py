"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DatasetOut", "KeyCreatedOut", "KeyIn", "KeyOut", "MetaFeaturesIn",
           "RecommendIn", "RunIn", "RunOut", "RunsIn"]


class DatasetOut(BaseModel):
    id: str
    name: str
    content_hash: str
    rows: int
    columns: int
    description: str = ""
    sources: list[str] = []
    default_target: str | None = None


class MetaFeaturesIn(BaseModel):
    """Register a dataset by its meta-features only (no table)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "churn-2026", "task_type": "classification", "n_classes": 2,
        "metafeatures": {"nr_inst": 5000, "nr_attr": 20, "log_nr_inst": 8.5}}]})

    name: str = Field(min_length=1, max_length=200)
    task_type: str = Field(pattern="^(classification|regression)$")
    n_classes: int | None = Field(default=None, ge=2)
    description: str = Field(default="", max_length=20000)
    metafeatures: dict[str, float | None]
    target_sd: float | None = Field(
        default=None, gt=0, description="Regression: the target's standard deviation, kept on "
        "the task so that its recommendations give an expected RMSE on this table's scale.")


class RecommendIn(BaseModel):
    """Options of a recommendation for a registered (meta-features only) dataset."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "task_type": "classification", "n_classes": 2, "k": 5,
        "metafeatures": {"nr_inst": 5000, "nr_attr": 20}}]})

    task_type: str = Field(pattern="^(classification|regression)$")
    n_classes: int | None = Field(default=None, ge=2)
    metafeatures: dict[str, float | None]
    description: str = Field(default="", max_length=20000)
    k: int = Field(default=5, ge=1, le=100)
    metric: str | None = None
    families: list[str] | None = None
    target_sd: float | None = Field(
        default=None, gt=0, description="Regression: the target's standard deviation, which "
        "puts the similar datasets' RMSE on this table's scale (without it: no expected RMSE).")


class RunIn(BaseModel):
    """One run to log. The principal comes from the API key, never from the body."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "task_id": "2a0324bf0436f9418b2f289a",
        "config": {"family": "lightgbm", "params": {"num_leaves": 31}},
        "fold_scores": {"roc_auc": [0.91, 0.93, 0.92]}, "tags": {"team": "risk"}}]})

    task_id: str | None = Field(default=None, description="A task in the graph.")
    dataset: str | None = Field(default=None, description="Dataset id, content hash or name (with target/task_type).")
    target: str | None = None
    task_type: str | None = Field(default=None, pattern="^(classification|regression)$")
    folds: int = Field(default=5, ge=2, le=100)
    config: dict[str, Any]
    fold_scores: dict[str, list[float]] = Field(default_factory=dict)
    status: str = Field(default="completed", pattern="^(completed|failed)$")
    error: str | None = Field(default=None, max_length=4000)
    tags: dict[str, str] = Field(default_factory=dict)
    code_version: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=200)


class RunsIn(BaseModel):
    runs: list[RunIn] = Field(min_length=1, max_length=10000)


class RunOut(BaseModel):
    id: str
    task_id: str
    dataset_id: str
    configuration_id: str
    status: str
    scores: dict[str, float]
    principal: str | None = None


class KeyIn(BaseModel):
    """A key to create (or to rotate: a name that has a key gets a new one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "alice", "role": "write"}]})

    name: str = Field(min_length=1, max_length=200,
                      pattern=r"^[^/\x00-\x1f\x7f]*[^/\s][^/\x00-\x1f\x7f]*$",
                      description="Who the key is for (no '/' or control characters).")
    role: str = Field(default="write", pattern="^(read|write|admin)$")


class KeyOut(BaseModel):
    """A principal's key as stored (never the key itself)."""

    name: str
    role: str
    revoked: bool


class KeyCreatedOut(KeyOut):
    """A new key: shown only in this response; only its hash is stored."""

    key: str
