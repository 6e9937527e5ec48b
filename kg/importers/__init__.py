"""Importers from other experiment stores into the graph's vocabulary."""

from metakg.kg.importers.mlflow_sync import (
    MlflowSyncReport,
    SkippedMlflowRun,
    import_mlflow_experiment,
    sync_mlflow_experiment,
    synced_mlflow_runs,
    watch_mlflow_experiment,
)
from metakg.kg.importers.openml_runs import (
    Characteriser,
    OpenMLImport,
    SkippedOpenMLRun,
    import_openml,
    import_openml_dataset,
    import_openml_evaluations,
)

__all__ = ["Characteriser", "MlflowSyncReport", "OpenMLImport", "SkippedMlflowRun", "SkippedOpenMLRun",
           "import_mlflow_experiment", "import_openml", "import_openml_dataset",
           "import_openml_evaluations", "sync_mlflow_experiment", "synced_mlflow_runs",
           "watch_mlflow_experiment"]
