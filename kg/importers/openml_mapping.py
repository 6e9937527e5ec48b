"""OpenML's vocabulary in the graph's: flows → families, parameter settings → parameters,
evaluation measures → measures, data qualities → meta-features.

Only what agrees in meaning is mapped; everything else is reported, never guessed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from metakg.kg.graph_inputs import family_name
from metakg.kg.spaces import FAMILIES

__all__ = ["FLOW_FAMILIES", "RUN_MEASURES", "FlowMapping", "map_flow", "metafeatures_from_qualities",
           "run_measures"]

#: Estimator class (the last part of a flow's dotted name, without the version) → family.
#: A flow whose estimator is not here keeps the family ``openml:<flow name>``.
FLOW_FAMILIES: dict[str, str] = {
    "RandomForestClassifier": "random_forest", "RandomForestRegressor": "random_forest",
    "ExtraTreesClassifier": "extra_trees", "ExtraTreesRegressor": "extra_trees",
    "HistGradientBoostingClassifier": "hist_gradient_boosting",
    "HistGradientBoostingRegressor": "hist_gradient_boosting",
    "LGBMClassifier": "lightgbm", "LGBMRegressor": "lightgbm",
    "XGBClassifier": "xgboost", "XGBRegressor": "xgboost",
    "CatBoostClassifier": "catboost", "CatBoostRegressor": "catboost",
    "KNeighborsClassifier": "knn", "KNeighborsRegressor": "knn",
    "LogisticRegression": "linear", "ElasticNet": "linear",
    # mlr (R) learners, by their OpenML flow names
    "mlr.classif.ranger": "random_forest", "mlr.regr.ranger": "random_forest",
    "mlr.classif.xgboost": "xgboost", "mlr.regr.xgboost": "xgboost",
    "mlr.classif.kknn": "knn", "mlr.regr.kknn": "knn",
}

#: Parameters named differently by a flow than by its family (flow parameter → ours).
_RENAMES: dict[str, dict[str, str]] = {
    "mlr.classif.ranger": {"num.trees": "n_estimators", "min.node.size": "min_samples_leaf"},
    "mlr.regr.ranger": {"num.trees": "n_estimators", "min.node.size": "min_samples_leaf"},
    "mlr.classif.xgboost": {"nrounds": "n_estimators", "eta": "learning_rate",
                            "lambda": "reg_lambda", "alpha": "reg_alpha"},
    "mlr.regr.xgboost": {"nrounds": "n_estimators", "eta": "learning_rate",
                         "lambda": "reg_lambda", "alpha": "reg_alpha"},
    "mlr.classif.kknn": {"k": "n_neighbors"}, "mlr.regr.kknn": {"k": "n_neighbors"},
    "XGBClassifier": {"lambda": "reg_lambda", "alpha": "reg_alpha", "eta": "learning_rate"},
    "XGBRegressor": {"lambda": "reg_lambda", "alpha": "reg_alpha", "eta": "learning_rate"},
}

#: OpenML evaluation measure → ours, per task type. Only measures that mean the same thing:
#: OpenML's ``root_mean_squared_error`` of a classification run is on class probabilities,
#: and its ``area_under_roc_curve`` of a multiclass run a weighted one-vs-rest mean.
RUN_MEASURES: dict[str, dict[str, str]] = {
    "binary": {"area_under_roc_curve": "roc_auc", "predictive_accuracy": "accuracy"},
    "multiclass": {"predictive_accuracy": "accuracy"},
    "regression": {"root_mean_squared_error": "rmse", "mean_absolute_error": "mae"},
}


def run_measures(task_type: str, n_classes: int | None) -> dict[str, str]:
    """The OpenML measures a run of this kind of task is imported with (OpenML → ours).

    Args:
        task_type: ``classification`` or ``regression``.
        n_classes: the number of classes of a classification task.
    """
    if task_type == "regression":
        return RUN_MEASURES["regression"]
    return RUN_MEASURES["binary" if (n_classes or 2) <= 2 else "multiclass"]


@dataclass(frozen=True)
class FlowMapping:
    """What a flow and its parameter settings become.

    Attributes:
        config: the configuration (``{"family": ..., "params": {...}}``).
        known: whether the family is one of :data:`kg.spaces.FAMILIES`.
        estimator: the estimator's flow name (a pipeline's last step; the flow itself otherwise).
        unmapped: parameters of the estimator left out: not in the family's space, or a value it
            does not accept (``name=value``).
    """

    config: dict[str, Any]
    known: bool
    estimator: str
    unmapped: tuple[str, ...] = field(default_factory=tuple)


def _decode(value: Any) -> Any:
    """An OpenML parameter value (JSON text, mostly) as a Python value."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _estimator_key(flow_name: str) -> str:
    """``sklearn.ensemble._forest.RandomForestClassifier(1)`` → ``RandomForestClassifier``;
    an mlr learner keeps its whole name (``mlr.classif.ranger``)."""
    name = re.sub(r"\(\d+\)$", "", flow_name)
    if name.startswith("mlr."):
        return name
    return name.split("(", 1)[0].rsplit(".", 1)[-1]


def map_flow(
    flow_name: str, settings: Mapping[str, Any], *, estimator_name: str | None = None,
) -> FlowMapping:
    """Map a flow and its parameter settings to a configuration.

    Args:
        flow_name: the run's flow name (``sklearn.pipeline.Pipeline(...)(1)`` included).
        settings: the estimator's parameter settings, name → OpenML value (JSON text).
        estimator_name: for a pipeline, the name of its estimator's flow (its last step).

    Returns:
        A known family with the parameters its space holds, or ``openml:<flow name>`` with every
        setting decoded when the estimator has no family here.
    """
    estimator = estimator_name or flow_name
    key = _estimator_key(estimator)
    family = FLOW_FAMILIES.get(key)
    if family is None:
        params = {name: _decode(v) for name, v in settings.items()}
        return FlowMapping({"family": f"openml:{family_name(flow_name)}", "params": params}, False, estimator)
    space = FAMILIES[family]
    renames = _RENAMES.get(key, {})
    params: dict[str, Any] = {}
    unmapped = []
    for name, raw in settings.items():
        value = _decode(raw)
        if value is None:  # the library's default: the family's default applies too
            continue
        ours = renames.get(name, name)
        param = space.by_name.get(ours)
        if param is None or param.check(value) is not None:
            unmapped.append(f"{name}={raw}")
            continue
        params[ours] = value
    return FlowMapping({"family": family, "params": params}, True, estimator, tuple(sorted(unmapped)))


def _number(qualities: Mapping[str, Any], name: str) -> float | None:
    value = qualities.get(name)
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def metafeatures_from_qualities(
    qualities: Mapping[str, Any], *, task_type: str,
) -> dict[str, float]:
    """The graph's meta-features that OpenML data qualities give exactly.

    OpenML counts the target among the features (``NumberOfFeatures``, and
    ``NumberOfSymbolicFeatures`` for a nominal target or ``NumberOfNumericFeatures`` for a
    numeric one); the graph's ``nr_attr``, ``nr_cat`` and ``nr_num`` do not, so one is taken
    off. Missing values are counted over the feature cells, assuming the target has none
    (OpenML tasks need a target on every row). The class entropy in bits, divided by
    ``log2(nr_class)``, is the graph's normalised ``class_balance_entropy``.

    Args:
        qualities: OpenML quality name → value (``None``/NaN where OpenML has none).
        task_type: ``classification`` or ``regression`` (which count the target is in).

    Returns:
        Meta-feature name → value, only those the qualities determine.
    """
    q = {name: _number(qualities, name) for name in qualities}
    out: dict[str, float] = {}
    n, d_all = q.get("NumberOfInstances"), q.get("NumberOfFeatures")
    num, sym = q.get("NumberOfNumericFeatures"), q.get("NumberOfSymbolicFeatures")
    if n is not None and n > 0:
        out |= {"nr_inst": n, "log_nr_inst": math.log(n)}
    if d_all is not None and d_all >= 1:
        d = d_all - 1
        out["nr_attr"] = d
        out["log_nr_attr"] = math.log(max(d, 1))
        if n:
            out["log_attr_to_inst"] = math.log(max(d, 1) / n)
        if num is not None and sym is not None:
            nr_num = num - (task_type == "regression")
            nr_cat = sym - (task_type == "classification")
            out |= {"nr_num": nr_num, "nr_cat": nr_cat, "frac_num": nr_num / max(d, 1),
                    "frac_cat": nr_cat / max(d, 1)}
        missing = q.get("NumberOfMissingValues")
        if missing is not None and n and d > 0:
            out["missing_frac"] = missing / (n * d)
    rows_missing = q.get("PercentageOfInstancesWithMissingValues")
    if rows_missing is not None:
        out["rows_with_missing_frac"] = rows_missing / 100
    if task_type == "classification":
        k = q.get("NumberOfClasses")
        hi, lo = q.get("MajorityClassPercentage"), q.get("MinorityClassPercentage")
        entropy = q.get("ClassEntropy")
        if k is not None and k >= 1:
            out["nr_class"] = k
            if entropy is not None:
                out["class_balance_entropy"] = entropy / math.log2(k) if k > 1 else 0.0
        if hi is not None and lo is not None and lo > 0:
            out |= {"class_prob_max": hi / 100, "class_prob_min": lo / 100,
                    "class_imbalance": hi / lo}
    return out
