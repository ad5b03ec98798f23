"""ONNX Runtime sessions: provider choice, checksum pinning and batch handling.

Providers are probed once per process; the preferred order is TensorRT, CUDA, CPU, restricted to what
the installed ``onnxruntime`` build offers, so the same ``cameras.yaml`` runs on a GPU box and on a
laptop. A model file is only loaded after its sha256 matches the configured one: a swapped file would
otherwise silently change what the screens are told about their audience.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import onnxruntime as ort

log = logging.getLogger(__name__)

PROVIDER_NAMES = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
PREFERENCE = ("tensorrt", "cuda", "cpu")


class ModelError(RuntimeError):
    """A model file is missing, does not match its sha256, or has an unexpected signature."""


@cache
def available_providers() -> tuple[str, ...]:
    return tuple(ort.get_available_providers())


def cuda_available() -> bool:
    return PROVIDER_NAMES["cuda"] in available_providers()


def choose_providers(preferred: Sequence[str] | None = None, device: str = "auto") -> list[str]:
    """ORT provider names to request, best first.

    ``device`` ``cpu`` / ``cuda`` pins one; ``auto`` walks ``preferred`` (default TensorRT > CUDA >
    CPU) and keeps those installed. CPU is always appended so a session can fall back per node.
    """
    if device == "cpu":
        return [PROVIDER_NAMES["cpu"]]
    if device == "cuda":
        if not cuda_available():
            raise ModelError(
                "device=cuda asked for, but this onnxruntime has no CUDA provider; "
                "install onnxruntime-gpu or use --device cpu"
            )
        return [PROVIDER_NAMES["cuda"], PROVIDER_NAMES["cpu"]]
    wanted = [PROVIDER_NAMES[p] for p in (preferred or PREFERENCE)]
    chosen = [p for p in wanted if p in available_providers()]
    missing = [p for p in wanted if p not in chosen and p != PROVIDER_NAMES["cpu"]]
    if preferred and missing:
        log.warning("providers %s are not installed; using %s", missing, chosen or ["CPU"])
    if PROVIDER_NAMES["cpu"] not in chosen:
        chosen.append(PROVIDER_NAMES["cpu"])
    return chosen


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model_file(path: Path, sha256: str | None) -> None:
    if not path.is_file():
        raise ModelError(
            f"model file {path} does not exist; run `vitrine vision models fetch` "
            "or remove it from the config to use the fallback"
        )
    if sha256 is not None and sha256_of(path).lower() != sha256.lower():
        raise ModelError(f"model file {path} does not match its configured sha256; refusing to load it")


class OnnxModel:
    """One inference session with its input geometry.

    Real exports differ in whether the batch axis is dynamic (InsightFace ``genderage``) or fixed
    at 1 (YuNet 2023mar); :meth:`run` hides that by splitting a batch into chunks the graph accepts.
    """

    def __init__(
        self,
        path: Path | str | bytes,
        providers: Sequence[str] | None = None,
        sha256: str | None = None,
        threads: int = 0,
    ) -> None:
        if not isinstance(path, bytes):
            verify_model_file(Path(path), sha256)
            source: str | bytes = str(path)
        else:
            source = path
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(source, options, providers=list(providers or choose_providers()))
        first = self.session.get_inputs()[0]
        self.input_name: str = first.name
        self.input_shape: list[int | str | None] = list(first.shape)
        self.output_names: list[str] = [o.name for o in self.session.get_outputs()]
        self.output_shapes: list[list[int | str | None]] = [list(o.shape) for o in self.session.get_outputs()]
        batch = self.input_shape[0]
        self.fixed_batch: int | None = batch if isinstance(batch, int) and batch > 0 else None

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def spatial_size(self, default: int) -> tuple[int, int]:
        """(height, width) of the input, or ``default`` for dynamic axes."""
        h, w = self.input_shape[2], self.input_shape[3]
        return (h if isinstance(h, int) else default, w if isinstance(w, int) else default)

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        """Outputs for an N-sized batch, concatenated along axis 0 when the graph takes fewer."""
        step = self.fixed_batch or len(blob)
        if step >= len(blob):
            return list(self.session.run(None, {self.input_name: blob}))
        parts = [self.session.run(None, {self.input_name: blob[i : i + step]}) for i in range(0, len(blob), step)]
        return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]

    def warm_up(self, size: int) -> None:
        """One throw-away inference: the first CUDA/TensorRT call compiles kernels and takes seconds."""
        h, w = self.spatial_size(size)
        self.run(np.zeros((self.fixed_batch or 1, 3, h, w), np.float32))
