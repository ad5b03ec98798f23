"""The prepared GPU run (``make bench-gpu``) on the CPU path: CI has no GPU, the script must still work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.vision import onnx_graphs
from tests.vision.shared import MODELS, needs_models
from vision import bench_gpu
from vision.runtime import OnnxModel

ROOT = Path(__file__).resolve().parents[2]


def test_a_bound_model_gives_what_a_plain_session_gives() -> None:
    graph = onnx_graphs.cydral_gender_probe()
    chips = np.random.default_rng(0).uniform(-0.5, 0.5, (4, 3, 32, 32)).astype(np.float32)
    bound = bench_gpu.BoundModel(graph, chips.shape, np.float32, "cpu", cuda_graph=False)
    bound.run(chips)
    assert bound.result() == pytest.approx(OnnxModel(graph).run(chips)[0], abs=1e-6)
    chips[:] = 0  # run() without a host batch reuses what is bound
    bound.run(chips)
    again = bound.result().copy()
    bound.run()
    assert bound.result() == pytest.approx(again)


def test_uint8_nhwc_frames_give_the_same_heatmap_as_float_nchw(tmp_path: Path) -> None:
    from vision.detectors.centerface import dynamic_graph

    path = tmp_path / "centerface.onnx"
    path.write_bytes(onnx_graphs.centerface_probe())
    graph = dynamic_graph(path)
    frames = np.random.default_rng(1).integers(0, 255, (2, 64, 96, 3), np.uint8)
    as_uint8 = OnnxModel(bench_gpu.uint8_nhwc_input(graph, "input.1")).run(frames)[0]
    as_float = OnnxModel(graph).run(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)).astype(np.float32))[0]
    assert as_uint8 == pytest.approx(as_float, abs=1e-6)


def test_without_models_the_run_says_how_to_get_them(tmp_path: Path) -> None:
    doc = bench_gpu.run(bench_gpu.parse(["--model-dir", str(tmp_path)]))
    assert "vitrine vision models fetch" in doc["error"]


def test_asking_for_cuda_without_it_falls_back_to_the_cpu_and_says_why() -> None:
    ok, reason = bench_gpu.cuda_ready()
    if ok:
        pytest.skip("this machine has CUDA")
    assert "onnxruntime-gpu" in reason


@needs_models
def test_the_prepared_script_runs_on_the_cpu_and_prints_one_json_document(tmp_path: Path) -> None:
    """``scripts/bench_gpu.sh`` end to end with tiny durations: no GPU, no wheels, real models."""
    models = tmp_path / "models"
    from vision.fetch import fetch_default_models

    fetch_default_models(models, MODELS)
    quick = "--batches 1,4 --detector-batches 1 --cpu-streams 1 --seconds 0.2 --stream-seconds 0.5 --decode-workers 1"
    done = subprocess.run(
        ["bash", "scripts/bench_gpu.sh", str(tmp_path / "no-wheels"), str(tmp_path / "out"), *quick.split()],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHON": sys.executable,
            "VITRINE_MODEL_DIR": str(models),
            "HOME": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads((tmp_path / "out" / "bench-gpu.json").read_text())
    assert json.loads(done.stdout) == doc
    if "cuda" in doc and doc["cuda"].get("available") is False:
        assert "reason" in doc["cuda"] and "ratio_cuda_over_cpu" not in doc
    cpu = doc["cpu"]
    assert [r["batch"] for r in cpu["attributes_faces_per_s"]["plain"]] == [1, 4]
    assert all(r["per_s"] > 0 for r in cpu["attributes_faces_per_s"]["plain"])
    assert cpu["centerface_frames_per_s"][0]["input"] == [640, 384]
    [stream] = cpu["streams_720p_15fps"]["runs"]
    assert set(stream["stage_ms"]) == {"decode", "detect", "attributes", "track"}
    assert doc["decode"]["opencv"]["per_s"] > 0 and "nvjpeg" in doc["decode"]
