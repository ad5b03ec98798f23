"""The camera loop: frames go up as in-memory JPEGs or become audience events on the device."""

from __future__ import annotations

from pathlib import Path

import cv2
import httpx
import numpy as np

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


def test_edge_mode_queues_only_anonymous_audience_events(tmp_path: Path):
    faces = [{"gender": "female", "age": 28, "confidence": 0.93}]
    with _kiosk(tmp_path, lambda r: httpx.Response(500)) as kiosk:
        loop = CameraLoop(
            kiosk,
            0,
            mode="edge",
            analyse=lambda frame: faces,
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
