"""Random-weight stand-ins with the real models' signatures, for benchmarking without weights.

They are sized like the real networks (a MobileNet-style 96×96 classifier for ``genderage``, a
depthwise-separable 640×640 backbone with YuNet's twelve heads) so throughput figures are indicative;
``vitrine vision bench --config`` measures the real files instead whenever they are present.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.macs = 0
        self._n = 0

    def name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def const(self, value: np.ndarray) -> str:
        name = self.name("c")
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int, hw: int, group: int = 1, relu: bool = True) -> str:
        w = self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2 / (cin // group * k * k))
        out = self.name("conv")
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, self.const(w.astype(np.float32)), self.const(np.zeros(cout, np.float32))],
                [out],
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[k // 2] * 4,
                group=group,
            )
        )
        self.macs += (hw // stride) ** 2 * cout * (cin // group) * k * k
        if not relu:
            return out
        act = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [out], [act]))
        return act

    def block(self, x: str, cin: int, cout: int, stride: int, hw: int) -> str:
        """Depthwise 3×3 then pointwise 1×1, the MobileNet / YuNet building block."""
        return self.conv(self.conv(x, cin, cin, 3, stride, hw, group=cin), cin, cout, 1, 1, hw // stride)

    def model(self, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto]) -> bytes:
        graph = helper.make_graph(self.nodes, "bench", inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        return bytes(model.SerializeToString())


def genderage_like(seed: int = 0) -> tuple[bytes, int]:
    """``data`` N×3×96×96 → ``fc1`` N×3; returns (model bytes, multiply-accumulates per face)."""
    b = _Builder(seed)
    x = b.conv("data", 3, 32, 3, 2, 96)  # 48
    for cin, cout, stride, hw in (
        (32, 64, 1, 48),
        (64, 128, 2, 48),
        (128, 128, 1, 24),
        (128, 256, 2, 24),
        (256, 256, 1, 12),
        (256, 512, 2, 12),
        (512, 512, 1, 6),
    ):
        x = b.block(x, cin, cout, stride, hw)
    pooled, flat = b.name("gap"), b.name("flat")
    b.nodes += [
        helper.make_node("GlobalAveragePool", [x], [pooled]),
        helper.make_node("Flatten", [pooled], [flat]),
        helper.make_node(
            "Gemm",
            [
                flat,
                b.const((b.rng.standard_normal((512, 3)) * 0.01).astype(np.float32)),
                b.const(np.zeros(3, np.float32)),
            ],
            ["fc1"],
        ),
    ]
    b.macs += 512 * 3
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 96, 96])]
    outputs = [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["N", 3])]
    return b.model(inputs, outputs), b.macs


def yunet_like(seed: int = 0, size: int = 640) -> tuple[bytes, int]:
    """``input`` N×3×640×640 → cls/obj/bbox/kps × strides 8/16/32 shaped 1×N×k like YuNet 2023mar.

    Scores come out of a sigmoid with a strongly negative bias, so the graph finds no faces and the
    bench adds a fixed number per frame itself; post-processing cost is then a lower bound.
    """
    b = _Builder(seed)
    x = b.conv("input", 3, 16, 3, 2, size)  # 320
    x = b.block(x, 16, 32, 2, size // 2)  # 160
    x = b.block(x, 32, 64, 2, size // 4)  # 80: stride 8
    feats = {8: b.block(x, 64, 64, 1, size // 8)}
    feats[16] = b.block(b.block(feats[8], 64, 64, 2, size // 8), 64, 64, 1, size // 16)
    feats[32] = b.block(b.block(feats[16], 64, 64, 2, size // 16), 64, 64, 1, size // 32)
    outputs = []
    for kind, width in (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10)):
        for s, feat in feats.items():
            head = b.conv(feat, 64, width, 1, 1, size // s, relu=False)
            if kind in ("cls", "obj"):
                biased = b.name("bias")
                b.nodes.append(helper.make_node("Add", [head, b.const(np.array([-30.0], np.float32))], [biased]))
                head = b.name("sig")
                b.nodes.append(helper.make_node("Sigmoid", [biased], [head]))
            moved, out = b.name("t"), f"{kind}_{s}"
            b.nodes += [
                helper.make_node("Transpose", [head], [moved], perm=[0, 2, 3, 1]),
                helper.make_node("Reshape", [moved, b.const(np.array([1, -1, width], np.int64))], [out]),
            ]
            outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, (size // s) ** 2, width]))
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])]
    return b.model(inputs, outputs), b.macs
