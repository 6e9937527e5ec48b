"""metakg runner: configuration spaces, estimators, the CV protocol and execution back-ends."""

from metakg.kg.spaces import (
    FAMILIES,
    default_configuration,
    portfolio,
    sample_configuration,
    validate_configuration,
)
from metakg.runner.devices import cuda_available, resolve_device
from metakg.runner.estimators import build_estimator, uses_gpu
from metakg.runner.execute import BatchReport, WorkItem, execute, write_task_data
from metakg.runner.protocol import FoldResult, TaskSpec, evaluate_fold, fold_indices, prepare_data

__all__ = [
    "FAMILIES",
    "BatchReport",
    "FoldResult",
    "TaskSpec",
    "WorkItem",
    "build_estimator",
    "cuda_available",
    "default_configuration",
    "evaluate_fold",
    "execute",
    "fold_indices",
    "portfolio",
    "prepare_data",
    "resolve_device",
    "sample_configuration",
    "uses_gpu",
    "validate_configuration",
    "write_task_data",
]
