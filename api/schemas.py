"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from metakg.kg.feedback import Feedback

__all__ = ["DatasetOut", "KeyCreatedOut", "KeyIn", "KeyOut", "MetaFeaturesIn",
           "ProposalOut", "ProposalsIn", "ProposalsOut", "RecommendIn", "RunIn", "RunOut",
           "RunsIn"]


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

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
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

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
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

    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._~-]{1,200}$", description=(
        "A run id of your own (default: one is made). The same run sent again under it is "
        "taken as logged and not written twice, so a retry after a lost answer is safe; "
        "another run under a taken id is refused."))
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

    @model_validator(mode="after")
    def _one_task_reference(self) -> RunIn:
        if self.task_id and self.dataset:
            raise ValueError("give task_id, or dataset with target and task_type, not both (the "
                             "two could name different tasks)")
        return self


class RunsIn(BaseModel):
    """A batch of runs, logged all or none."""

    model_config = ConfigDict(extra="forbid")

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


class FeedbackIn(BaseModel):
    """What happened to one configuration of a recommendation. The principal comes from the
    API key, never from the body."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"rank": 2, "verdict": "used", "score": 0.81},
        {"rank": 3, "verdict": "rejected", "reason": "too slow to fit on our data"}]})

    rank: int = Field(ge=1, le=1000, description="The configuration's rank (1-based).")
    verdict: str = Field(pattern="^(used|skipped|rejected)$")
    score: float | None = Field(default=None, description=(
        "The outcome by the recommendation's metric (with 'used'); on a table in the graph "
        "it is also logged as a run, which the recommender learns from."))
    reason: str = Field(default="", max_length=4000, description="Why (required for 'rejected').")


#: Recorded feedback: the library's record, as the route returns it.
FeedbackOut = Feedback


class MlflowSyncIn(BaseModel):
    """Sync an MLflow experiment: its finished runs that the graph lacks are added."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "tracking_uri": "http://mlflow.internal:5000", "experiment": "churn-models",
        "metric_step": "last"}]})

    tracking_uri: str = Field(
        max_length=2000, pattern=r"^https?://\S+$",
        description="The MLflow tracking server (http or https: the server reads no local "
                    "store of its own machine on a request's behalf).")
    experiment: str = Field(min_length=1, max_length=500, description="Name or id.")
    metric_step: str = Field(default="last", pattern="^(last|best)$",
                             description="A metric logged at several steps counts by its last "
                                         "step or its best one.")
    folds: int = Field(default=5, ge=2, le=100,
                       description="Folds of tasks made for runs that name none.")
    page_size: int = Field(default=1000, ge=1, le=50_000, description="Runs per MLflow page.")


class MlflowSkippedRunOut(BaseModel):
    """A finished MLflow run that was not synced, and why."""

    run_id: str
    run_name: str
    reason: str


class MlflowSyncOut(BaseModel):
    """What a sync did: runs added, already there (duplicates), skipped (listed), unfinished."""

    tracking_uri: str
    experiment: str
    experiment_id: str
    seen: int
    added: int
    duplicates: int
    skipped: int
    unfinished: int
    skipped_runs: list[MlflowSkippedRunOut]


class OpenMLImportIn(BaseModel):
    """OpenML tasks or a study whose runs to import (see ``metakg import openml``)."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[int] = Field(default_factory=list, max_length=1000, description="OpenML task ids.")
    study: int | None = Field(default=None, ge=1, description="OpenML study or benchmark suite id.")
    max_runs: int = Field(default=100, ge=1, le=100_000, description="Most runs listed per task "
                                                                     "(or per study).")
    download_data: bool = Field(default=True, description="Download each dataset's table and "
                                "compute its meta-features (false: OpenML's qualities, mapped).")
    unknown_flows: str = Field(default="keep", pattern="^(keep|skip)$",
                               description="A run whose flow matches no family: keep it (family "
                                           "openml:<flow>) or skip it.")


class OpenMLSkippedRunOut(BaseModel):
    """An OpenML run that was not imported, and why."""

    run_id: int
    reason: str


class OpenMLImportOut(BaseModel):
    """What an OpenML import did: OpenML run ids added, already in the graph, skipped."""

    tasks: list[int]
    added: list[int]
    already: list[int]
    skipped: list[OpenMLSkippedRunOut]
    datasets: dict[str, str] = Field(description="Graph dataset id → how its meta-features were "
                                                 "obtained (computed, openml qualities, none).")
    families: dict[str, int] = Field(description="Family → runs added with it.")


class ProposalsIn(BaseModel):
    """Ask for the runs that would improve the recommendations most (see ``metakg next``)."""

    model_config = ConfigDict(extra="forbid")

    budget: int = Field(default=10, ge=1, le=1000, description="How many runs to propose.")
    dataset: str | None = Field(default=None, min_length=1, max_length=200,
                                description="Only runs on this dataset (name or id); leave it out "
                                            "for every dataset.")


class ProposalOut(BaseModel):
    """A proposed run: which configuration on which dataset, why, and what became of it."""

    id: str
    rank: int = Field(description="Place in the queue (1 first).")
    dataset_id: str
    dataset: str
    config_id: str
    task_type: str
    metric: str
    utility: float = Field(description="Members' disagreement × chance of entering the top 5, "
                                       "divided by the largest on its dataset.")
    reason: str
    status: str = Field(description="open, done or failed.")
    generated_by: str = Field(description="Id of the recommender version that proposed it.")
    created: str
    run_id: str | None = Field(default=None, description="The run that answered it (done).")
    error: str | None = Field(default=None, description="Why it failed (failed).")


class ProposalsOut(BaseModel):
    """Proposed runs, best first."""

    proposals: list[ProposalOut]
