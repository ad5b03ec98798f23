"""POST /v1/vision/frames: anonymous answer, events recorded, the frame itself kept nowhere."""

from __future__ import annotations

import cv2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import TokenFactory

skimage_data = pytest.importorskip("skimage.data")
JPEG_MAGIC, PNG_MAGIC = b"\xff\xd8\xff", b"\x89PNG"


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
