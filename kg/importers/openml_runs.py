"""Import OpenML datasets (with their qualities) and evaluations with their setups.

Online use::

    import openml
    ds = import_openml_dataset(graph, 31)                         # credit-g, its qualities
    import_openml_evaluations(graph, function="area_under_roc_curve", tasks=[31], size=1000)

Every call to the OpenML server goes through ``openml`` (openml-python), so its cache and
configuration apply; tests replace those calls with recorded responses.
"""

from __future__ import annotations

import json
import math
from typing import Any

from metakg.kg.errors import InvalidData
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.records import Dataset, RunInput

__all__ = ["MEASURES", "import_openml_dataset", "import_openml_evaluations", "setup_to_config"]

#: OpenML evaluation measure → ours.
MEASURES = {"area_under_roc_curve": "roc_auc", "predictive_accuracy": "accuracy",
            "root_mean_squared_error": "rmse", "mean_absolute_error": "mae",
            "log_loss": "log_loss"}
_FOLDS = 10  # OpenML's standard estimation procedure: 10-fold cross-validation


def _openml() -> Any:
    import openml

    return openml


def import_openml_dataset(graph: KnowledgeGraph, dataset_id: int) -> Dataset:
    """Download an OpenML dataset and add it with its qualities (as meta-features of the
    extractor ``openml``). Identity is still the content hash: an OpenML copy of a table
    already in the graph joins that node (its ``openml:ID`` source is added).
    """
    oml = _openml().datasets.get_dataset(dataset_id, download_data=True,
                                         download_qualities=True,
                                         download_features_meta_data=False)
    target = oml.default_target_attribute
    df, *_ = oml.get_data(dataset_format="dataframe")
    ds = graph.add_dataset(df, name=oml.name, target=target if target in df.columns else None,
                           description=oml.description or "", source=f"openml:{dataset_id}")
    qualities = {k: (float(v) if v is not None and math.isfinite(float(v)) else None)
                 for k, v in (oml.qualities or {}).items()}
    if qualities:
        graph.set_metafeatures(ds.id, qualities, reasons={k: "missing on OpenML" for k, v in
                                                          qualities.items() if v is None},
                               extractor="openml", version="qualities")
    return ds


def setup_to_config(flow_name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """An OpenML setup as a configuration: family ``openml:<flow>``, parameters by short name
    (``...RandomForestClassifier(1)_n_estimators`` → ``n_estimators``), JSON values decoded."""
    params = {}
    for full, value in (parameters or {}).items():
        name = full.rsplit(")_", 1)[-1]
        try:
            params[name] = json.loads(value) if isinstance(value, str) else value
        except (json.JSONDecodeError, TypeError):
            params[name] = value
    return {"family": f"openml:{flow_name}", "params": params}


def import_openml_evaluations(
    graph: KnowledgeGraph, *, function: str, datasets: dict[int, Dataset] | None = None,
    task_types: dict[int, str] | None = None, **filters: Any,
) -> int:
    """Import ``openml.evaluations.list_evaluations_setups`` results as runs.

    Args:
        graph: destination.
        function: OpenML measure (``area_under_roc_curve``, ``predictive_accuracy``, ...).
        datasets: OpenML data id → dataset already imported (default: imported on demand).
        task_types: OpenML data id → classification/regression (default: from the measure).
        **filters: passed on (``tasks``, ``flows``, ``size``, ``offset``...).

    Returns:
        How many runs were added (one atomic write).

    Raises:
        InvalidData: a measure we cannot map.
    """
    if function not in MEASURES:
        raise InvalidData(f"OpenML measure {function!r} has no metakg equivalent; use one of "
                          f"{', '.join(MEASURES)}.")
    measure = MEASURES[function]
    frame = _openml().evaluations.list_evaluations_setups(function=function, per_fold=False,
                                                         output_format="dataframe", **filters)
    datasets = dict(datasets or {})
    runs = []
    for row in frame.to_dict(orient="records"):
        data_id = int(row["data_id"])
        if data_id not in datasets:
            datasets[data_id] = import_openml_dataset(graph, data_id)
        ds = datasets[data_id]
        task_type = (task_types or {}).get(data_id) or (
            "regression" if measure in ("rmse", "mae") else "classification")
        task = graph.add_task(ds, target=ds.default_target or "(openml default)",
                              task_type=task_type, metric=measure, folds=_FOLDS)
        values = row.get("values")
        folds = [float(v) for v in values] if isinstance(values, list) and values else [
            float(row["value"])]
        runs.append(RunInput(
            task_id=task.id, config=setup_to_config(row["flow_name"], row.get("parameters") or {}),
            fold_scores={measure: folds}, principal=f"openml:{row.get('uploader_name') or row.get('uploader')}",
            source=f"openml:run/{row['run_id']}", tags={"openml_run": str(row["run_id"]),
                                                        "openml_task": str(row["task_id"])}))
    if runs:
        graph.log_runs(runs)
    return len(runs)
