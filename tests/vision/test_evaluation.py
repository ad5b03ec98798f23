"""``vitrine eval vision``: the model card's figures from real faces (skipped without ../shared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from tests.vision.shared import DATA, MODELS, needs_data, needs_models
from vision import evaluation as ev


def test_boxes_are_matched_one_to_one_at_the_iou_threshold() -> None:
    labels = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], np.float32)
    found = np.array([[1, 1, 11, 11], [2, 2, 12, 12], [50, 50, 60, 60]], np.float32)
    assert ev.match(labels, found) == 1  # two detections on one face count once
    assert ev.match(labels, labels) == 2


def test_threshold_rule_stops_at_the_first_unreliable_bin() -> None:
    def faces(confidence: float, right: int, wrong: int) -> list[ev.Face]:
        p = confidence  # p(male) = confidence: predicted male
        return [ev.Face("male", 30, 0, True, p, 30.0)] * right + [ev.Face("female", 30, 0, True, p, 30.0)] * wrong

    sample = faces(0.97, 90, 2) + faces(0.92, 9, 1) + faces(0.85, 5, 5) + faces(0.65, 9, 1)
    assert ev.choose_threshold(sample) == 0.9  # 0.8–0.9 is a coin flip, so 0.6–0.7 does not count
    figures = ev.figures(sample, 0.9)
    assert figures.decided == (92 + 10) / len(sample) and figures.gender_accuracy == (99 / 102)


@needs_models
@needs_data
def test_eval_vision_reports_detection_and_attributes(tmp_path: Path) -> None:
    from screens.cli import app
    from vision.fetch import fetch_default_models

    fetch_default_models(tmp_path / "models", MODELS)
    data = tmp_path / "data"
    (data / ev.UTK).mkdir(parents=True)
    (data / ev.GROUP).symlink_to(DATA / ev.GROUP)
    (data / ev.UTK / "images").symlink_to(DATA / ev.UTK / "images")
    rows = (DATA / ev.UTK / "labels.csv").read_text().splitlines()
    (data / ev.UTK / "labels.csv").write_text("\n".join([rows[0], *rows[1::120]]) + "\n")  # 7 faces, 15–100 years
    result = CliRunner().invoke(app, ["eval", "vision", "--data", str(data), "--model-dir", str(tmp_path / "models")])
    assert result.exit_code == 0, result.output
    assert "| centerface 640×384 | 43/43 = 1.000 | 0 | 0 |" in result.output
    assert "| haar |" in result.output and "By race code" in result.output and "| 0.90 |" in result.output
