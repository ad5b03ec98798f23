"""POST /v1/vision/frames: anonymous answer, events recorded, the frame itself kept nowhere."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from screens.settings import Settings
from tests.conftest import TokenFactory, make_settings
from tests.vision.shared import DATA, MODELS, needs_data, needs_models

skimage_data = pytest.importorskip("skimage.data")
JPEG_MAGIC, PNG_MAGIC = b"\xff\xd8\xff", b"\x89PNG"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """An empty model directory (the Haar fallback), or with ``indirect`` "real" the default set
    installed from ../shared/models the way an operator does it."""
    model_dir = tmp_path / "models"
    if getattr(request, "param", None) == "real":
        from vision.fetch import fetch_default_models

        fetch_default_models(model_dir, MODELS)
    return make_settings(database_url, model_dir=model_dir)


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    """A real photograph with one face (scikit-image's astronaut), encoded in memory."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


def test_posted_frame_answers_anonymous_faces_and_records_an_audience_event(
    client: TestClient, mall: dict[str, str], auth: TokenFactory, photo_jpeg: bytes
) -> None:
    device = auth("device", screen_id="lead1")
    r = client.post(
        "/v1/vision/frames?screen_id=lead1", content=photo_jpeg, headers=device | {"Content-Type": "image/jpeg"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["group_size"] >= 1 and body["events"] == 1
    assert all(f["gender"] == "unknown" for f in body["faces"]), "no attribute model: never invented"
    assert not {"box", "bbox", "x", "y", "landmarks"} & set(body["faces"][0])


def test_entrance_camera_frame_counts_store_visits(
    client: TestClient, mall: dict[str, str], auth: TokenFactory, photo_jpeg: bytes
) -> None:
    device = auth("device", screen_id="cam1")
    r = client.post(
        "/v1/vision/frames?screen_id=cam1", content=photo_jpeg, headers=device | {"Content-Type": "image/jpeg"}
    )
    assert r.status_code == 200 and r.json()["events"] == r.json()["group_size"] >= 1


def test_frame_bytes_are_not_stored(
    client: TestClient, mall: dict[str, str], auth: TokenFactory, photo_jpeg: bytes
) -> None:
    device = auth("device", screen_id="lead1")
    client.post(
        "/v1/vision/frames?screen_id=lead1", content=photo_jpeg, headers=device | {"Content-Type": "image/jpeg"}
    )
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        payloads = [str(p) for (p,) in conn.execute(text("SELECT payload FROM event_log"))]
    assert payloads and all("/9j/" not in p and "iVBOR" not in p and len(p) < 2000 for p in payloads)


def test_bad_frames_are_rejected(
    client: TestClient, mall: dict[str, str], auth: TokenFactory, photo_jpeg: bytes
) -> None:
    device = auth("device", screen_id="lead1")
    assert (
        client.post(
            "/v1/vision/frames?screen_id=lead1",
            content=b"not an image",
            headers=device | {"Content-Type": "image/jpeg"},
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/v1/vision/frames?screen_id=lead1", content=photo_jpeg, headers=device | {"Content-Type": "image/gif"}
        ).status_code
        == 415
    )
    assert (
        client.post(
            "/v1/vision/frames?screen_id=mirror1", content=photo_jpeg, headers=device | {"Content-Type": "image/jpeg"}
        ).status_code
        == 403
    )


def test_models_route_reports_the_fallback(client: TestClient, auth: TokenFactory) -> None:
    r = client.get("/v1/vision/models", headers=auth("ops"))
    assert r.status_code == 200, r.text
    assert [(m["role"], m["type"]) for m in r.json()["models"]] == [("detector", "haar"), ("attributes", "unknown")]


@needs_models
@needs_data
@pytest.mark.parametrize("settings", ["real"], indirect=True)
def test_with_the_default_models_a_real_photo_answers_real_genders_and_ages(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    photo = (DATA / "faces-group-dlib" / "2008_002506.jpg").read_bytes()  # three men
    device = auth("device", screen_id="lead1")
    r = client.post("/v1/vision/frames?screen_id=lead1", content=photo, headers=device | {"Content-Type": "image/jpeg"})
    assert r.status_code == 200, r.text
    faces = r.json()["faces"]
    assert len(faces) == 3 and {f["gender"] for f in faces} == {"male"}
    assert all(18 <= f["age"] <= 60 and f["age_bucket"] != "unknown" for f in faces)
    models = client.get("/v1/vision/models", headers=auth("ops")).json()
    assert {(m["type"], m["file"]) for m in models["models"]} == {
        ("centerface", "centerface.onnx"),
        ("cydral", "gender-v1.onnx"),
        ("cydral", "age-v1.onnx"),
    }
    assert all(len(m["sha256"]) == 64 for m in models["models"]) and models["problem"] is None
