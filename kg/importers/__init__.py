"""Importers from other experiment stores into the graph's vocabulary."""

from metakg.kg.importers.mlflow_runs import import_mlflow_experiment
from metakg.kg.importers.openml_runs import import_openml_dataset, import_openml_evaluations

__all__ = ["import_mlflow_experiment", "import_openml_dataset", "import_openml_evaluations"]
