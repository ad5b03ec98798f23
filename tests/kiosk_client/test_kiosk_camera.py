"""The camera loop: frames go up as in-memory JPEGs or become audience events on the device."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from kiosk_server import LEAD_IN, REPO, RealService

from kiosk_client import CameraLoop, LeadInClient, RetryPolicy


class FakeCamera:
    """Yields ``frames`` frames, then fails the way an unplugged USB camera does."""

    def __init__(self, frames: int) -> None:
        self.left, self.released = frames, False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.full((48, 64, 3), 120, dtype=np.uint8)

    def release(self) -> None:
        self.released = True


def _kiosk(tmp_path: Path, handler) -> LeadInClient:  # type: ignore[no-untyped-def]
    return LeadInClient(
        "http://vitrine.test",
        "lead-1",
        "tok",
        state_dir=tmp_path,
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=1),
    )


def test_upload_mode_posts_jpeg_frames_for_this_screen(tmp_path: Path):
    uploads: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        uploads.append(request)
        return httpx.Response(200, json={"faces": []})

    cameras = [FakeCamera(3)]
    with _kiosk(tmp_path, handler) as kiosk:
        loop = CameraLoop(kiosk, 0, fps=1000, capture_factory=lambda src: cameras[-1], sleep=lambda s: None)
        stats = loop.run(max_frames=3)
        assert kiosk.pending == 0, "frames are never queued"
    assert (stats.frames, stats.uploaded, stats.dropped) == (3, 3, 0)
    request = uploads[0]
    assert request.url.path == "/v1/vision/frames" and request.url.params["screen_id"] == "lead-1"
    assert request.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(request.content, np.uint8), cv2.IMREAD_COLOR).shape == (48, 64, 3)
    assert cameras[0].released


def test_frames_are_dropped_not_stored_when_the_service_is_away(tmp_path: Path):
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    with _kiosk(tmp_path, handler) as kiosk:
        loop = CameraLoop(kiosk, 0, fps=1000, capture_factory=lambda src: FakeCamera(5), sleep=lambda s: None)
        stats = loop.run(max_frames=5)
        assert (stats.uploaded, stats.dropped, kiosk.pending) == (0, 5, 0)


class FixedAnalysis:
    """Stands in for ``vision.analyze.FrameAnalyzer``: the same audience event for every frame."""

    def __init__(self, faces: list[dict[str, Any]]) -> None:
        self.faces, self.kinds = faces, []

    def analyze_array(self, frame: np.ndarray, screen_kind: str) -> FixedAnalysis:
        self.kinds.append(screen_kind)
        return self

    def to_events(self, screen_id: str) -> list[dict[str, Any]]:
        event = {"event_id": str(len(self.kinds)), "type": "audience", "ts": "2026-01-01T00:00:00Z"}
        return [event | {"screen_id": screen_id, "faces": self.faces}]


def test_edge_mode_queues_only_anonymous_audience_events(tmp_path: Path):
    faces = [{"gender": "female", "age": 28, "confidence": 0.93}]
    with _kiosk(tmp_path, lambda r: httpx.Response(500)) as kiosk:
        loop = CameraLoop(
            kiosk,
            0,
            mode="edge",
            analyzer=FixedAnalysis(faces),
            fps=1000,
            capture_factory=lambda src: FakeCamera(4),
            sleep=lambda s: None,
        )
        stats = loop.run(max_frames=4)
        events = [p.event for p in kiosk.outbox.peek(10)]
    assert stats.events == 4 and len(events) == 4
    assert all(e["type"] == "audience" and e["faces"] == faces and e["screen_id"] == "lead-1" for e in events)


def test_an_unplugged_camera_is_reopened_with_back_off(tmp_path: Path):
    opened: list[FakeCamera] = []
    sleeps: list[float] = []

    def factory(source: int | str) -> FakeCamera:
        opened.append(FakeCamera(2 if len(opened) != 1 else 0))
        return opened[-1]

    with _kiosk(tmp_path, lambda r: httpx.Response(200, json={})) as kiosk:
        loop = CameraLoop(
            kiosk,
            "rtsp://cam",
            fps=1000,
            capture_factory=factory,
            sleep=sleeps.append,
            reopen=RetryPolicy(max_attempts=100, base_delay=1.0, max_delay=8.0),
        )
        stats = loop.run(max_frames=4)
    assert stats.frames == 4 and stats.reopens == 2 and len(opened) == 3
    assert all(cam.released for cam in opened)
    reopen_waits = [s for s in sleeps if s >= 0.01]  # the rest are frame pacing at 1000 fps
    assert len(reopen_waits) == 2
    assert 0.5 <= reopen_waits[0] <= 1.0 and 1.0 <= reopen_waits[1] <= 2.0


def test_kiosk_client_imports_without_vision():
    """A device that uploads frames needs no ``vision``: edge mode imports it when it is built."""
    code = "import sys, kiosk_client; sys.exit('vision' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


@pytest.fixture(scope="module")
def astronaut_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eileen Collins' NASA portrait (public domain, shipped in scikit-image) as a 4-frame MJPG file."""
    data = pytest.importorskip("skimage.data")
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    path = tmp_path_factory.mktemp("video") / "astronaut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, photo.shape[1::-1])
    assert writer.isOpened(), "OpenCV was built without a video writer"
    for _ in range(4):
        writer.write(photo)
    writer.release()
    return path


class RecordingTransport(httpx.HTTPTransport):
    """The real network transport, noting each request's path and content type."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.url.path, request.headers.get("content-type", "")))
        return super().handle_request(request)


def _run_edge_camera(service: RealService, screen_id: str, kind: str, video: Path, state: Path) -> Any:
    transport = RecordingTransport()
    with LeadInClient(service.url, screen_id, service.token(screen_id), state_dir=state, transport=transport) as kiosk:
        loop = CameraLoop(kiosk, str(video), mode="edge", screen_kind=kind, fps=1000)  # type: ignore[arg-type]
        stats = loop.run(max_frames=3)
        event_ids = [p.event_id for p in kiosk.outbox.peek(10)]
        flushed = kiosk.flush()
        assert kiosk.pending == 0
    rows = service.query(
        f"SELECT type, screen_id, payload FROM event_log WHERE event_id IN ({','.join('?' * len(event_ids))})",
        *event_ids,
    )
    return stats, flushed, transport.sent, [(t, s, json.loads(p)) for t, s, p in rows]


def test_edge_mode_posts_vision_events_of_a_real_photo_never_frames(
    shared_service: RealService, astronaut_video: Path, tmp_path: Path
):
    stats, flushed, sent, logged = _run_edge_camera(shared_service, LEAD_IN, "lead_in", astronaut_video, tmp_path)
    assert (stats.frames, stats.events, stats.uploaded) == (3, 3, 0)
    assert flushed.accepted == 3
    assert sent == [("/v1/events", "application/json")], "edge mode sends events only, never a frame"
    assert len(logged) == 3
    for event_type, screen_id, payload in logged:
        assert (event_type, screen_id, payload["group_size"]) == ("audience", LEAD_IN, 1)
        assert payload["faces"] == [{"gender": "unknown", "age": None, "confidence": 0.0}]


def test_an_edge_entrance_camera_logs_store_visits(shared_service: RealService, astronaut_video: Path, tmp_path: Path):
    stats, flushed, sent, logged = _run_edge_camera(
        shared_service, "cam-s001", "entrance_camera", astronaut_video, tmp_path
    )
    assert stats.events == 3 and flushed.accepted == 3 and {path for path, _ in sent} == {"/v1/events"}
    assert [(t, s, p["group"]) for t, s, p in logged] == [("store_visit", "cam-s001", "solo")] * 3


@pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2].parent / "shared" / "models" / "centerface.onnx").is_file(),
    reason="no ../shared/models",
)
def test_edge_mode_uses_the_installed_default_models(
    shared_service: RealService, astronaut_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from vision.fetch import fetch_default_models

    models = tmp_path / "models"
    fetch_default_models(models, Path(__file__).resolve().parents[2].parent / "shared" / "models")
    monkeypatch.setenv("VITRINE_MODEL_DIR", str(models))
    stats, _, sent, logged = _run_edge_camera(shared_service, LEAD_IN, "lead_in", astronaut_video, tmp_path / "state")
    assert stats.events == 3 and sent == [("/v1/events", "application/json")]
    faces = [f for _, _, payload in logged for f in payload["faces"]]
    assert faces and all(f["gender"] == "female" and 20 <= f["age"] <= 60 for f in faces)  # Eileen Collins
