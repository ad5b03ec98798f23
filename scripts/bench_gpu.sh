#!/usr/bin/env bash
# The prepared GPU run of docs/benchmarks.md (issue 16): `make bench-gpu`, or on the device machine
#   bash scripts/bench_gpu.sh WHEELS_DIR OUT_DIR [options of `python -m vision.bench_gpu`]
# 1. reassembles wheels carried in parts (NAME.whl.part-aa, -ab, … from `split -b 60M`),
# 2. installs every wheel of WHEELS_DIR with pip --no-index --no-deps into a target dir put first on
#    PYTHONPATH (onnxruntime-gpu there shadows the CPU build, as ../shared/gpu.md describes),
# 3. imports torch first when present (its cuDNN/cuBLAS; one cuDNN copy per process),
# 4. writes one JSON document to OUT_DIR/bench-gpu.json (and stdout): CUDA and CPU figures and their
#    ratio, or the CPU alone with the reason CUDA was not used.
set -euo pipefail
WHEELS=${1:-var/gpu-wheels}
OUT_DIR=${2:-${OUT:-var/bench-gpu}}
shift $(( $# > 2 ? 2 : $# ))
PY=${PYTHON:-python3}
TARGET=${TARGET:-${TMPDIR:-/tmp}/vitrine-gpu-site}
cd "$(dirname "$0")/.."
mkdir -p "$OUT_DIR" "$TARGET"
if [ -d "$WHEELS" ]; then
  for first in "$WHEELS"/*.whl.part-aa; do
    [ -e "$first" ] || continue
    wheel=${first%.part-aa}
    [ -e "$wheel" ] || cat "$wheel".part-* > "$wheel"
  done
  if compgen -G "$WHEELS/*.whl" > /dev/null; then
    echo "installing $(ls "$WHEELS"/*.whl | wc -l) carried wheels into $TARGET" >&2
    "$PY" -m pip install -q --no-index --no-deps --upgrade --target "$TARGET" "$WHEELS"/*.whl
  fi
else
  echo "no wheel folder $WHEELS: measuring with what is installed" >&2
fi
export PYTHONPATH="$TARGET:$PWD${PYTHONPATH:+:$PYTHONPATH}"
MODELS=${VITRINE_MODEL_DIR:-var/models}
if [ ! -f "$MODELS/centerface.onnx" ] && [ -d ../shared/models ]; then
  mkdir -p "$MODELS"  # plain copies: every file is checked against its pinned sha256 when loaded
  cp ../shared/models/{centerface.onnx,gender-v1.onnx,age-v1.onnx,manifest.json} "$MODELS"/
fi
# torch first: ONNX Runtime then uses torch's CUDA libraries (../shared/gpu.md)
exec "$PY" -c 'import importlib.util, sys
if importlib.util.find_spec("torch"): import torch
from vision.bench_gpu import main
sys.exit(main(sys.argv[1:]))' --out "$OUT_DIR/bench-gpu.json" "$@"
