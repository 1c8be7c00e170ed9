#!/usr/bin/env bash
# The whole benchmark in one command: peers installed if missing, then the server comparison
# (results/comparison.{md,json,png}) and the repository operations (results/operations.{md,json}).
#   bash benchmarks/run_all.sh            # the full run, about 12 minutes on 2 cores
#   bash benchmarks/run_all.sh --quick    # a smoke run, about 4 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
envs="${BENCH_ENVS:-/work/bench-envs}"
if ! command -v wrk >/dev/null || [ ! -x "$envs/torchserve/bin/torchserve" ] \
    || [ ! -x "$envs/mlserver/bin/mlserver" ]; then
    bash benchmarks/setup_peers.sh
fi
.venv/bin/python -m benchmarks.compare "$@"
.venv/bin/python -m benchmarks.operations "$@"
