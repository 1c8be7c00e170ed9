#!/usr/bin/env bash
# Installs what the comparison needs outside the project's .venv:
#   wrk (Debian package), the load generator;
#   $BENCH_ENVS/torchserve: TorchServe 0.12, torch-model-archiver, pyyaml, torch (CPU, pinned by
#     constraints.txt), onnxruntime for the ONNX handler, plus matplotlib (the plot) and py-spy (profiling our server);
#   $BENCH_ENVS/mlserver: MLServer 1.7 with onnxruntime for the custom runtime in benchmarks/.
# Peers live in their own environments so their pins never touch the project's dependencies.
# Re-running is cheap: existing environments are kept and pip only checks them.
set -euo pipefail
cd "$(dirname "$0")/.."
envs="${BENCH_ENVS:-/work/bench-envs}"
python="${PYTHON:-python3.11}"

if ! command -v wrk >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
command -v java >/dev/null || { echo "TorchServe needs Java 17 (java not found)" >&2; exit 1; }

# The same onnxruntime as the project's .venv, so every server runs the same kernels.
ort_pin=onnxruntime
if [ -x .venv/bin/python ]; then
    ort_pin="onnxruntime==$(.venv/bin/python -c 'import onnxruntime; print(onnxruntime.__version__)')"
fi

make_env() {
    [ -x "$envs/$1/bin/python" ] || "$python" -m venv "$envs/$1"
    "$envs/$1/bin/python" -m pip install --quiet --upgrade pip
}

make_env torchserve
"$envs/torchserve/bin/python" -m pip install --quiet -c constraints.txt \
    'torchserve==0.12.*' 'torch-model-archiver==0.12.*' pyyaml torch numpy "$ort_pin" matplotlib py-spy

make_env mlserver
"$envs/mlserver/bin/python" -m pip install --quiet -c constraints.txt \
    'mlserver==1.7.*' "$ort_pin" numpy

echo "peers ready under $envs"
