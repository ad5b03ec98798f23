#!/usr/bin/env bash
# Prepare the wheel folder the GPU run carries (run it on a machine with internet access):
#   bash scripts/gpu_wheels.sh [DEST]     (default var/gpu-wheels)
# cp312 manylinux wheels of what the GPU host lacks (../shared/gpu.md: it has torch, onnx, OpenCV,
# CuPy and the CPU build of onnxruntime): onnxruntime-gpu for CUDA 13, onnxconverter-common (fp16),
# pydantic and PyYAML (vision.config). Files over 60 MiB are split into NAME.whl.part-aa, -ab, …
# because one transfer to the device machine carries at most 64 MiB; scripts/bench_gpu.sh joins them.
set -euo pipefail
DEST=${1:-var/gpu-wheels}
PY=${PYTHON:-python3}
mkdir -p "$DEST"
"$PY" -m pip download --no-deps --only-binary :all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$DEST" onnxruntime-gpu==1.31.1 onnxconverter-common==1.16.0 \
  annotated-types==0.8.0 pydantic==2.14.4 pydantic_core==2.50.5 PyYAML==6.0.4 typing_extensions==4.16.0 typing-inspection==0.4.5 
for wheel in "$DEST"/*.whl; do
  if [ "$(stat -c %s "$wheel")" -gt $((60 * 1024 * 1024)) ]; then
    split -b 60M "$wheel" "$wheel.part-" && rm "$wheel"
  fi
done
ls -la "$DEST"
