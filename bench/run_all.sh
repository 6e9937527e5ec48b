#!/usr/bin/env bash
# Run every benchmark in sequence on a quiet machine (stop the seed build first); results
# land in bench/results/*.json, and the README's tables are written from them.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
python bench/kg_store.py --runs "${RUNS:-100000}"
python bench/runner_overhead.py --configs 20 --datasets 5 --folds 3
python bench/metafeatures.py
python bench/recommend_speed.py
python bench/api_load.py
python bench/flaml_zeroshot.py
python bench/lodo.py --normalisations rank   # the README table reads the rank rows
python bench/lodo_families.py
python bench/interval_coverage.py
python bench/noise_ceiling.py
python bench/optuna_warmstart.py             # 33 tables, one process: about 1.5 h
python bench/report.py
