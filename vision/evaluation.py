"""``vitrine eval vision``: the face detector and the attribute models measured on real faces.

Two public data sets, read from a folder the operator points at (``--data ../shared/data``), never
copied anywhere and never written out — only the figures are:

* ``faces-group-dlib``: dlib's example photos (PASCAL VOC) with 43 hand-labelled face boxes in
  ``training.xml`` + ``testing.xml``; a labelled face is found when a detection overlaps it with
  IoU ≥ 0.3 (dlib's boxes are tighter than CenterFace's, which reach forehead and chin). A detection
  matching no label is a false positive; ``dogs.jpg`` is a photo with no person, ``bald_guys.jpg``
  a crowd without labels (its count is reported).
* ``faces-utkface-adults``: 840 UTKFace chips, 60 per gender × decade. Each 200×200 chip is pasted on
  a grey canvas twice its size so it goes through the detector like a face in a frame; the attribute
  models then read the detector's landmarks, as in production.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from recsys.attributes import age_bucket
from vision.attributes.cydral import CydralAttributes
from vision.detectors.base import Detection, FaceDetector, iou_matrix

GROUP, UTK = "faces-group-dlib", "faces-utkface-adults"
RACES = ("White", "Black", "Asian", "Indian", "Others")  # UTKFace's race codes 0–4
THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
Progress = Callable[[int, int], None]


def group_boxes(folder: Path) -> dict[str, np.ndarray]:
    """Image name → (N, 4) x1y1x2y2 labelled boxes, from dlib's imglab XML files."""
    boxes: dict[str, list[list[float]]] = defaultdict(list)
    for name in ("training.xml", "testing.xml"):
        for image in ET.parse(folder / name).getroot().iter("image"):
            for box in image.iter("box"):
                x, y = float(box.get("left", 0)), float(box.get("top", 0))
                boxes[str(image.get("file"))].append(
                    [x, y, x + float(box.get("width", 0)), y + float(box.get("height", 0))]
                )
    return {k: np.asarray(v, np.float32) for k, v in boxes.items()}


def match(labels: np.ndarray, found: np.ndarray, threshold: float = 0.3) -> int:
    """Labels matched one-to-one by a detection with IoU ≥ ``threshold`` (greedy, best overlap first)."""
    iou = iou_matrix(labels, found)
    matched, used_l, used_f = 0, set(), set()
    for flat in np.argsort(-iou, axis=None):
        li, fi = np.unravel_index(flat, iou.shape)
        if iou[li, fi] < threshold:
            break
        if li not in used_l and fi not in used_f:
            used_l.add(li)
            used_f.add(fi)
            matched += 1
    return matched


@dataclass
class DetectionReport:
    name: str  # the detector and its input size
    rows: list[tuple[str, int, int, int]] = field(default_factory=list)  # image, labelled, found, matched
    counts: dict[str, int] = field(default_factory=dict)  # unlabelled photos: faces found

    @property
    def labelled(self) -> int:
        return sum(r[1] for r in self.rows)

    @property
    def matched(self) -> int:
        return sum(r[3] for r in self.rows)

    @property
    def false_positives(self) -> int:
        return sum(r[2] - r[3] for r in self.rows)

    @property
    def recall(self) -> float:
        return self.matched / self.labelled if self.labelled else 0.0


def evaluate_detection(detector: FaceDetector, folder: Path, iou: float = 0.3) -> DetectionReport:
    size = getattr(detector, "width", None), getattr(detector, "height", None)
    report = DetectionReport(f"{detector.name} {size[0]}×{size[1]}" if size[0] else detector.name)
    labels = group_boxes(folder)
    for image in sorted(folder.glob("*.jpg")):
        frame = cv2.imread(str(image))
        if frame is None:
            continue
        found = detector.detect([frame])[0]
        frame.fill(0)
        boxes = np.asarray([d.box for d in found], np.float32).reshape(-1, 4)
        if image.name in labels:
            truth = labels[image.name]
            report.rows.append((image.name, len(truth), len(found), match(truth, boxes, iou)))
        else:
            report.counts[image.name] = len(found)
    return report


@dataclass(frozen=True)
class Face:
    """One UTKFace chip's labels and what the models said about it (no pixels)."""

    gender: str
    age: int
    race: int
    detected: bool
    p_male: float = 0.5
    age_pred: float = float("nan")

    @property
    def confidence(self) -> float:
        return max(self.p_male, 1 - self.p_male)

    @property
    def predicted_gender(self) -> str:
        return "male" if self.p_male >= 0.5 else "female"

    @property
    def decade(self) -> str:
        return "70+" if self.age >= 70 else f"{self.age // 10 * 10}s"


def utk_labels(folder: Path) -> list[tuple[Path, int, str, int]]:
    """(image path, age, gender, race); UTKFace codes gender 0 = male, 1 = female."""
    with (folder / "labels.csv").open() as fh:
        return [
            (folder / row["path"], int(row["age"]), "male" if row["gender"] == "0" else "female", int(row["race"]))
            for row in csv.DictReader(fh)
        ]


def on_canvas(chip: np.ndarray, factor: float = 2.0) -> np.ndarray:
    """The chip in the middle of a mid-grey canvas ``factor`` times its size."""
    h, w = chip.shape[:2]
    canvas = np.full((int(h * factor), int(w * factor), 3), 128, np.uint8)
    y, x = (canvas.shape[0] - h) // 2, (canvas.shape[1] - w) // 2
    canvas[y : y + h, x : x + w] = chip
    return canvas


def central_face(found: Sequence[Detection], shape: tuple[int, ...]) -> Detection | None:
    """The detection nearest the canvas centre (the pasted chip), if any."""
    if not found:
        return None
    cy, cx = shape[0] / 2, shape[1] / 2
    return min(found, key=lambda d: abs((d.box[0] + d.box[2]) / 2 - cx) + abs((d.box[1] + d.box[3]) / 2 - cy))


def evaluate_attributes(
    detector: FaceDetector,
    attributes: CydralAttributes,
    folder: Path,
    batch: int = 32,
    progress: Progress | None = None,
) -> list[Face]:
    labels = utk_labels(folder)
    faces: list[Face] = []
    for start in range(0, len(labels), batch):
        chunk = labels[start : start + batch]
        frames = [on_canvas(cv2.imread(str(path))) for path, *_ in chunk]  # type: ignore[arg-type]  # labelled files exist
        found = [central_face(dets, f.shape) for dets, f in zip(detector.detect(frames), frames, strict=True)]
        pairs = [(f, d) for f, d in zip(frames, found, strict=True) if d is not None]
        gender, age = attributes.probabilities(pairs) if pairs else (np.zeros((0, 2)), np.zeros((0, 81)))
        ages = age @ attributes.manifest.age_weights
        k = 0
        for (_, years, sex, race), det in zip(chunk, found, strict=True):
            if det is None:
                faces.append(Face(sex, years, race, False))
                continue
            faces.append(Face(sex, years, race, True, float(gender[k, 1]), float(ages[k])))
            k += 1
        for frame in frames:
            frame.fill(0)
        if progress:
            progress(min(start + batch, len(labels)), len(labels))
    return faces


@dataclass(frozen=True)
class AttributeFigures:
    faces: int
    detected: float
    decided: float
    gender_accuracy: float
    age_mae: float
    bucket_accuracy: float


def figures(faces: Iterable[Face], threshold: float) -> AttributeFigures:
    """Shares over all faces (``detected``) and over detected ones (the rest)."""
    faces = list(faces)
    seen = [f for f in faces if f.detected]
    decided = [f for f in seen if f.confidence >= threshold]
    n = max(len(seen), 1)
    return AttributeFigures(
        len(faces),
        len(seen) / max(len(faces), 1),
        len(decided) / n,
        sum(f.predicted_gender == f.gender for f in decided) / max(len(decided), 1),
        float(np.mean([abs(f.age_pred - f.age) for f in seen])) if seen else float("nan"),
        sum(age_bucket(round(f.age_pred)) == age_bucket(f.age) for f in seen) / n,
    )


RELIABILITY_EDGES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)


def reliability_bins(
    faces: Sequence[Face], edges: Sequence[float] = RELIABILITY_EDGES
) -> list[tuple[float, int, float]]:
    """(lower edge, faces, gender accuracy) of the detected faces whose confidence falls in each bin."""
    seen = [f for f in faces if f.detected]
    bins = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        inside = [f for f in seen if lo <= f.confidence < hi]
        accuracy = sum(f.predicted_gender == f.gender for f in inside) / len(inside) if inside else float("nan")
        bins.append((lo, len(inside), accuracy))
    return bins


def reliability(faces: Sequence[Face]) -> list[str]:
    """Markdown rows of :func:`reliability_bins`."""
    rows = ["| confidence | faces | gender accuracy |", "|---|---|---|"]
    edges = RELIABILITY_EDGES
    for (lo, n, accuracy), hi in zip(reliability_bins(faces), edges[1:], strict=True):
        rows.append(f"| {lo:.2f}–{min(hi, 1.0):.2f} | {n} | {accuracy:.1%} |")
    return rows


def choose_threshold(faces: Sequence[Face], min_bin_accuracy: float = 0.8) -> float:
    """The lowest bin edge from which every confidence bin is right at least ``min_bin_accuracy`` of
    the time: below it a call is too often wrong, and ``unknown`` is the honest answer."""
    chosen = RELIABILITY_EDGES[-2]
    for lo, n, accuracy in reversed(reliability_bins(faces)):
        if n and accuracy < min_bin_accuracy:
            break
        chosen = lo
    return chosen


def _row(label: str, fig: AttributeFigures) -> str:
    return (
        f"| {label} | {fig.faces} | {fig.detected:.1%} | {fig.decided:.1%} | {fig.gender_accuracy:.1%} "
        f"| {fig.age_mae:.2f} | {fig.bucket_accuracy:.1%} |"
    )


def attribute_tables(faces: Sequence[Face], threshold: float) -> list[str]:
    header = [
        "| faces | n | detected | gender decided | gender accuracy (decided) | age MAE (years) | age-bucket accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    lines = [*header, _row("all", figures(faces, threshold))]
    lines += ["", "By gender × decade:", "", *header]
    for sex in ("female", "male"):
        for decade in sorted({f.decade for f in faces}, key=lambda d: int(d.rstrip("s+"))):
            group = [f for f in faces if f.gender == sex and f.decade == decade]
            lines.append(_row(f"{sex} {decade}", figures(group, threshold)))
    lines += ["", "By race code (UTKFace labels):", "", *header]
    for code, race in enumerate(RACES):
        group = [f for f in faces if f.race == code]
        if group:
            lines.append(_row(f"{code} {race}", figures(group, threshold)))
    return lines


def threshold_table(faces: Sequence[Face]) -> list[str]:
    rows = ["| min_gender_confidence | gender decided | gender accuracy (decided) |", "|---|---|---|"]
    for t in THRESHOLDS:
        fig = figures(faces, t)
        rows.append(f"| {t:.2f} | {fig.decided:.1%} | {fig.gender_accuracy:.1%} |")
    return rows


def detection_table(reports: Sequence[DetectionReport]) -> list[str]:
    lines = [
        "| detector | recall (IoU ≥ 0.3) | false positives | faces on dogs.jpg | faces on bald_guys.jpg (crowd) |",
        "|---|---|---|---|---|",
    ]
    for r in reports:
        lines.append(
            f"| {r.name} | {r.matched}/{r.labelled} = {r.recall:.3f} | {r.false_positives} "
            f"| {r.counts.get('dogs.jpg', 0)} | {r.counts.get('bald_guys.jpg', 0)} |"
        )
    return lines


def run_evaluation(
    data: Path,
    detector: FaceDetector,
    attributes: CydralAttributes,
    baseline: FaceDetector | None = None,
    extra_detectors: Sequence[FaceDetector] = (),
    progress: Progress | None = None,
) -> str:
    """The model card's tables (Markdown) for the data under ``data``."""
    threshold = attributes.config.min_gender_confidence
    reports = [evaluate_detection(d, data / GROUP) for d in (detector, *extra_detectors)]
    if baseline is not None:
        reports.append(evaluate_detection(baseline, data / GROUP))
    faces = evaluate_attributes(detector, attributes, data / UTK, progress=progress)
    lines = [f"## Detection on {GROUP}", "", *detection_table(reports), ""]
    lines += [
        f"## Attributes on {UTK} (min_gender_confidence {threshold:.2f})",
        "",
        *attribute_tables(faces, threshold),
    ]
    lines += ["", "## Reliability of the gender confidence", "", *reliability(faces), "", *threshold_table(faces)]
    lines += ["", f"threshold chosen by the rule (every bin above it ≥ 80 % right): {choose_threshold(faces):.2f}"]
    return "\n".join(lines)
