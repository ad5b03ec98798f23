"""The prepared device run (``make bench-gpu``): the real models on CUDA and on the CPU, one JSON document.

GPU time is scarce (minutes, lent now and then), so everything a GPU run needs is decided here and
tested on the CPU: the same code measures both devices in one process, and asking for CUDA where
there is none falls back to the CPU with the reason in the document instead of failing.

What it measures, per device (``../shared/gpu.md`` says which settings paid off on an H100):

* attribute faces/s at batch 1/16/64/256 — one gender (32×32) and one age (64×64) call per face —
  through :class:`BoundModel`: fixed shapes, I/O binding (buffers stay on the device), CUDA graphs
  (replayed kernels; batch 1 gains most) and fp16 where it keeps gender within 1 % and age within
  0.3 years of the CPU on real faces;
* CenterFace frames/s at the 720p input size (640×384), fed uint8 NHWC frames (a 4× smaller upload
  than fp32; the cast and transpose run on the device);
* JPEG decode frames/s: OpenCV on every host core, and nvJPEG through ``torchvision`` when present;
* 720p@15 fps streams sustained at p99 ≤ 100 ms with decode, detection, attributes and tracking
  (:func:`vision.bench.max_streams`, the pipeline's adapters), and where the time goes per stage;
* FAISS GPU and implicit GPU, when their wheels load.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
BATCHES = (1, 16, 64, 256)
FP16_GENDER_TOLERANCE, FP16_AGE_TOLERANCE = 0.01, 0.3


def cuda_ready() -> tuple[bool, str]:
    """Whether ONNX Runtime can run on CUDA here, and why not."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False, f"onnxruntime {ort.__version__} has no CUDA provider (install onnxruntime-gpu)"
    return True, ""


def providers_for(device: str, cuda_graph: bool = False) -> list[Any]:
    if device != "cuda":
        return ["CPUExecutionProvider"]
    options = {"device_id": "0", "enable_cuda_graph": "1" if cuda_graph else "0", "prefer_nhwc": "1"}
    return [("CUDAExecutionProvider", options), "CPUExecutionProvider"]


def to_fp16(model_bytes: bytes) -> bytes | None:
    """The graph in fp16 with fp32 inputs/outputs kept (``onnxconverter-common``), or ``None``."""
    try:
        import onnx
        from onnxconverter_common import float16
    except ImportError:
        return None
    model = float16.convert_float_to_float16(onnx.load_from_string(model_bytes), keep_io_types=True)
    return bytes(model.SerializeToString())


def uint8_nhwc_input(model_bytes: bytes, input_name: str) -> bytes:
    """Prepend Transpose + Cast so the graph takes B×H×W×3 ``uint8`` frames as they come from decode."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    old = next(i for i in graph.input if i.name == input_name)
    dims = [d.dim_param or d.dim_value for d in old.type.tensor_type.shape.dim]
    graph.input.remove(old)
    graph.input.insert(0, helper.make_tensor_value_info("frames_u8", TensorProto.UINT8, [dims[0], dims[2], dims[3], 3]))
    graph.node.insert(0, helper.make_node("Cast", ["nchw_u8"], [input_name], to=TensorProto.FLOAT))
    graph.node.insert(0, helper.make_node("Transpose", ["frames_u8"], ["nchw_u8"], perm=[0, 3, 1, 2]))
    return bytes(model.SerializeToString())


class BoundModel:
    """One model at one fixed input shape with I/O binding: input and outputs live on the device.

    With CUDA graphs ORT captures the kernels on the first run and replays them; that needs fixed
    shapes and fixed device addresses, hence the preallocated buffers. ``run(host)`` copies a host
    batch into the bound input; ``run()`` reuses what is there (data already on the device).
    """

    def __init__(self, model: bytes, shape: tuple[int, ...], dtype: Any, device: str, cuda_graph: bool) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        where = "cuda" if device == "cuda" else "cpu"
        self.session = ort.InferenceSession(model, options, providers=providers_for(device, cuda_graph))
        probe = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        zeros = np.zeros(shape, dtype)
        name = self.session.get_inputs()[0].name
        shapes = [o.shape for o in probe.run(None, {name: zeros})]
        self.input = ort.OrtValue.ortvalue_from_numpy(zeros, where, 0)
        self.outputs = [ort.OrtValue.ortvalue_from_shape_and_type(s, np.float32, where, 0) for s in shapes]
        self.binding = self.session.io_binding()
        self.binding.bind_ortvalue_input(name, self.input)
        for meta, value in zip(self.session.get_outputs(), self.outputs, strict=True):
            self.binding.bind_ortvalue_output(meta.name, value)
        self.run()  # the first run captures the CUDA graph / plans memory

    def run(self, host: np.ndarray | None = None) -> None:
        if host is not None:
            self.input.update_inplace(host)
        self.session.run_with_iobinding(self.binding)

    def result(self, index: int = 0) -> np.ndarray:
        return np.asarray(self.outputs[index].numpy())


def rate(call: Callable[[], object], items: int, seconds: float) -> dict[str, float]:
    """items/s and p99 ms per call of ``call`` repeated for ``seconds`` (at least 3 times)."""
    call()
    timings: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds or len(timings) < 3:
        t0 = time.perf_counter()
        call()
        timings.append(time.perf_counter() - t0)
    return {
        "per_s": round(items * len(timings) / sum(timings), 1),
        "p99_ms": round(float(np.percentile(timings, 99)) * 1e3, 3),
    }


def attribute_rates(
    gender: bytes, age: bytes, device: str, batches: tuple[int, ...], seconds: float, cuda_graph: bool
) -> list[dict[str, Any]]:
    """Faces/s of one gender + one age call per face, inputs uploaded from the host every call."""
    rng = np.random.default_rng(0)
    rows = []
    for batch in batches:
        chips = {s: rng.uniform(-0.5, 0.5, (batch, 3, s, s)).astype(np.float32) for s in (32, 64)}
        g = BoundModel(gender, (batch, 3, 32, 32), np.float32, device, cuda_graph)
        a = BoundModel(age, (batch, 3, 64, 64), np.float32, device, cuda_graph)

        def both(g: BoundModel = g, a: BoundModel = a, c: dict[int, np.ndarray] = chips) -> None:
            g.run(c[32])
            a.run(c[64])
            a.result()  # wait for the device and bring the probabilities home, as the pipeline does

        rows.append({"batch": batch, **rate(both, batch, seconds)})
        log.info("%s attributes batch %d: %s faces/s", device, batch, rows[-1]["per_s"])
    return rows


def detector_rates(centerface: bytes, device: str, batches: tuple[int, ...], seconds: float) -> list[dict[str, Any]]:
    """CenterFace frames/s at 640×384 fed uint8 NHWC frames (letterboxed 720p)."""
    model = uint8_nhwc_input(centerface, "input.1")
    rows = []
    for batch in batches:
        frames = np.random.default_rng(1).integers(0, 255, (batch, 384, 640, 3), np.uint8)
        bound = BoundModel(model, frames.shape, np.uint8, device, cuda_graph=False)

        def call(b: BoundModel = bound, f: np.ndarray = frames) -> None:
            b.run(f)
            b.result()

        rows.append({"batch": batch, "input": [640, 384], **rate(call, batch, seconds)})
        log.info("%s centerface batch %d: %s frames/s", device, batch, rows[-1]["per_s"])
    return rows


def decode_rates(seconds: float) -> dict[str, Any]:
    """JPEG 1280×720 decode frames/s: OpenCV on every core, nvJPEG (torchvision) when it works."""
    from vision.bench import decode, synthetic_frame

    jpeg = synthetic_frame()
    workers = os.cpu_count() or 1
    batch = 64
    with ThreadPoolExecutor(workers) as pool:
        out: dict[str, Any] = {"jpeg_bytes": len(jpeg), "opencv_threads": workers}
        out["opencv"] = rate(lambda: list(pool.map(lambda _: decode(jpeg), range(batch))), batch, seconds)
    try:
        import torch
        from torchvision.io import decode_jpeg

        if not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device")
        data = [torch.frombuffer(bytearray(jpeg), dtype=torch.uint8)] * batch

        def nvjpeg() -> None:
            decode_jpeg(data, device="cuda")
            torch.cuda.synchronize()

        out["nvjpeg"] = rate(nvjpeg, batch, seconds)
    except Exception as exc:  # optional path: say why it was not measured
        out["nvjpeg"] = f"not measured: {exc}"
    return out


def fp16_check(models: Any, device: str, faces: int = 16) -> dict[str, Any]:
    """Gender p and age of real faces (UTKFace when ``VITRINE_EVAL_DATA`` points at it, else
    random-texture chips) through fp16 on ``device`` against fp32 on the CPU."""
    from vision.attributes import build_attributes

    cpu = build_attributes(models.attributes, ["CPUExecutionProvider"])
    chips = _check_chips(cpu, faces)
    g16, a16 = (to_fp16(Path(m.path).read_bytes()) for m in (models.attributes.gender, models.attributes.age))
    if g16 is None or a16 is None:
        return {"accepted": False, "reason": "onnxconverter-common is not installed"}
    result: dict[str, Any] = {"faces": faces, "source": chips[2]}
    diffs = {}
    for name, fp16, blob, weights in (
        ("gender", g16, chips[0], None),
        ("age", a16, chips[1], cpu.manifest.age_weights),
    ):
        reference = (cpu.gender_model if name == "gender" else cpu.age_model).run(blob)[0]
        bound = BoundModel(fp16, blob.shape, np.float32, device, cuda_graph=False)
        bound.run(blob)
        half = bound.result()
        diffs[name] = float(
            np.abs(half - reference).max() if weights is None else np.abs((half - reference) @ weights).max()
        )
    result |= {"max_gender_p_diff": round(diffs["gender"], 5), "max_age_diff_years": round(diffs["age"], 4)}
    result["accepted"] = diffs["gender"] <= FP16_GENDER_TOLERANCE and diffs["age"] <= FP16_AGE_TOLERANCE
    return result


def _check_chips(cpu: Any, faces: int) -> tuple[np.ndarray, np.ndarray, str]:
    import cv2

    from vision.attributes.chips import template
    from vision.detectors.base import Detection

    data = Path(os.environ.get("VITRINE_EVAL_DATA", "../shared/data")) / "faces-utkface-adults" / "images"
    paths = sorted(data.glob("*.jpg"))[:: max(1, len(list(data.glob("*.jpg"))) // faces)][:faces]
    if paths:
        frames, source = [cv2.imread(str(p)) for p in paths], "UTKFace chips (dlib-aligned, 200×200)"
    else:
        rng = np.random.default_rng(2)
        frames, source = [rng.integers(0, 255, (200, 200, 3), np.uint8) for _ in range(faces)], "random texture"
    pairs = [(f, Detection((0, 0, 200, 200), 1.0, (template(1) * 200).astype(np.float32))) for f in frames]
    return cpu.chips(pairs, 32), cpu.chips(pairs, 64), source


def streams(device: str, models: Any, candidates: list[int], seconds: float, workers: int) -> dict[str, Any]:
    from vision.bench import build_models, max_streams

    detector, attributes, which = build_models(models, providers_for(device))
    best, results = max_streams(detector, attributes, candidates, seconds=seconds, decode_workers=workers)
    return {"models": which, "sustained": best, "runs": [r.as_dict() for r in results]}


def recsys_gpu() -> dict[str, Any]:
    """FAISS GPU and implicit GPU: whether their wheels load here (measured only when they do)."""
    out: dict[str, Any] = {}
    try:
        import faiss

        gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
        if not gpus:
            raise RuntimeError("faiss has no GPU here")
        rng = np.random.default_rng(3)
        items = rng.standard_normal((200_000, 64)).astype(np.float32)
        index = faiss.GpuIndexFlatIP(faiss.StandardGpuResources(), 64)
        index.add(items)
        queries = rng.standard_normal((1024, 64)).astype(np.float32)
        out["faiss_gpu_flat_ip_200k"] = rate(lambda: index.search(queries, 10), 1024, 2.0)
    except Exception as exc:
        out["faiss_gpu"] = f"not measured: {exc}"
    try:
        from implicit.gpu import HAS_CUDA

        if not HAS_CUDA:
            raise RuntimeError("implicit was built without CUDA")
        import scipy.sparse as sp
        from implicit.gpu.als import AlternatingLeastSquares

        matrix = sp.random(200_000, 50_000, density=5.5e6 / 1e10, format="csr", dtype=np.float32, random_state=4)
        model = AlternatingLeastSquares(factors=64, iterations=10)
        t0 = time.perf_counter()
        model.fit(matrix, show_progress=False)
        out["implicit_gpu_als_200k_x_50k_s"] = round(time.perf_counter() - t0, 2)
    except Exception as exc:
        out["implicit_gpu"] = f"not measured: {exc}"
    return out


def machine() -> dict[str, Any]:
    import onnxruntime as ort

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "cpu_cores": os.cpu_count(),
        "onnxruntime": ort.__version__,
        "providers": ort.get_available_providers(),
    }
    try:
        import torch

        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception as exc:
        info["gpu"] = f"unknown ({exc})"
    return info


def measure(device: str, models: Any, args: argparse.Namespace) -> dict[str, Any]:
    files = {
        name: Path(f.path).read_bytes()
        for name, f in (("gender", models.attributes.gender), ("age", models.attributes.age))
    }
    from vision.detectors.centerface import dynamic_graph

    centerface = dynamic_graph(Path(models.detector.path))
    report: dict[str, Any] = {"device": device}
    graphs = [False, True] if device == "cuda" else [False]
    report["attributes_faces_per_s"] = {
        ("cuda_graph" if g else "plain"): attribute_rates(
            files["gender"], files["age"], device, args.batches, args.seconds, g
        )
        for g in graphs
    }
    if device == "cuda" and not args.no_fp16:
        check = fp16_check(models, device)
        report["fp16_check"] = check
        if check.get("accepted"):
            g16, a16 = to_fp16(files["gender"]), to_fp16(files["age"])
            assert g16 is not None and a16 is not None
            report["attributes_faces_per_s"]["fp16_cuda_graph"] = attribute_rates(
                g16, a16, device, args.batches, args.seconds, True
            )
    report["centerface_frames_per_s"] = detector_rates(centerface, device, args.detector_batches, args.seconds)
    candidates = args.streams if device == "cuda" else args.cpu_streams
    report["streams_720p_15fps"] = streams(device, models, candidates, args.stream_seconds, args.decode_workers)
    return report


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ints = lambda text: tuple(int(x) for x in text.split(","))  # noqa: E731
    p = argparse.ArgumentParser(prog="python -m vision.bench_gpu", description=__doc__.split("\n")[0])
    p.add_argument(
        "--device",
        choices=("auto", "cuda", "cpu"),
        default="auto",
        help="auto: CUDA when it works, and the CPU beside it",
    )
    p.add_argument("--model-dir", type=Path, default=None, help="default set's folder (default: VITRINE_MODEL_DIR)")
    p.add_argument("--batches", type=ints, default=BATCHES)
    p.add_argument("--detector-batches", type=ints, default=(1, 8, 32))
    p.add_argument("--streams", type=ints, default=(16, 32, 64, 96, 128, 192, 256), help="stream counts on CUDA")
    p.add_argument("--cpu-streams", type=ints, default=(1, 2, 4), help="stream counts on the CPU")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per model measurement")
    p.add_argument("--stream-seconds", type=float, default=4.0)
    p.add_argument("--decode-workers", type=int, default=os.cpu_count() or 4)
    p.add_argument("--no-fp16", action="store_true")
    p.add_argument("--skip-recsys", action="store_true")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON document here")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from vision.model_set import FETCH_COMMAND, default_model_dir, default_models

    folder = args.model_dir or default_model_dir()
    models = default_models(folder)
    if models is None:
        return {"error": f"the default models are not in {folder}; run `{FETCH_COMMAND}` (or --from a folder)"}
    ok, reason = cuda_ready()
    doc: dict[str, Any] = {"command": "python -m vision.bench_gpu " + " ".join(sys.argv[1:]), "machine": machine()}
    devices = ["cpu"] if args.device == "cpu" else (["cuda", "cpu"] if ok else ["cpu"])
    if args.device != "cpu" and not ok:
        doc["cuda"] = {"available": False, "reason": reason}
        if args.device == "cuda":
            log.warning("--device cuda asked for, but %s: measuring the CPU only", reason)
    for device in devices:
        doc[device] = measure(device, models, args)
    doc["decode"] = decode_rates(args.seconds)
    if "cuda" in devices:
        doc["ratio_cuda_over_cpu"] = ratios(doc["cuda"], doc["cpu"])
        if not args.skip_recsys:
            doc["recsys_gpu"] = recsys_gpu()
    return doc


def ratios(cuda: dict[str, Any], cpu: dict[str, Any]) -> dict[str, float | None]:
    def best(rows: list[dict[str, Any]]) -> float:
        return max(r["per_s"] for r in rows)

    gpu_attr = max(best(rows) for rows in cuda["attributes_faces_per_s"].values())
    return {
        "attributes_faces_per_s": round(gpu_attr / best(cpu["attributes_faces_per_s"]["plain"]), 1),
        "centerface_frames_per_s": round(
            best(cuda["centerface_frames_per_s"]) / best(cpu["centerface_frames_per_s"]), 1
        ),
        "streams": (
            round(cuda["streams_720p_15fps"]["sustained"] / cpu["streams_720p_15fps"]["sustained"], 1)
            if cpu["streams_720p_15fps"]["sustained"]
            else None
        ),
    }


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    args = parse(argv)
    doc = run(args)
    text = json.dumps(doc, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 2 if "error" in doc else 0


if __name__ == "__main__":
    raise SystemExit(main())
