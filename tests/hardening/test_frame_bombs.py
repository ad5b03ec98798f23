"""Issue 13, row 1: a decompression-bomb frame is refused from its header, before any pixel is decoded."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from screens.auth import create_token
from screens.db.session import make_engine
from screens.db.tables import Screen
from screens.services.frame_limits import FrameTooLarge, UnreadableHeader, check_frame_size, frame_size
from screens.tools.memory_bench import bomb_png, reset_peak, rss_mib
from tests.conftest import TokenFactory
from tests.servers import ServiceProcess


@pytest.fixture(scope="module")
def bomb() -> bytes:
    frame = bomb_png(20_000)
    assert len(frame) < 2_000_000
    return frame


def _jpeg(width: int, height: int, progressive: bool = False) -> bytes:
    params = [cv2.IMWRITE_JPEG_PROGRESSIVE, 1] if progressive else []
    ok, buf = cv2.imencode(".jpg", np.zeros((height, width, 3), np.uint8), params)
    assert ok
    return buf.tobytes()


def test_header_sizes_match_what_opencv_decodes() -> None:
    ok, png = cv2.imencode(".png", np.zeros((31, 57, 3), np.uint8))
    assert ok and frame_size(png.tobytes()) == (57, 31)
    assert frame_size(_jpeg(640, 480)) == (640, 480)
    assert frame_size(_jpeg(123, 45, progressive=True)) == (123, 45)


def test_bomb_header_is_refused_and_garbage_is_unreadable(bomb: bytes) -> None:
    with pytest.raises(FrameTooLarge, match="20000×20000"):
        check_frame_size(bomb, 4096, 4096 * 4096)
    with pytest.raises(FrameTooLarge, match="pixels"):
        check_frame_size(_jpeg(4000, 4000), 4096, 1_000_000)
    with pytest.raises(UnreadableHeader):
        check_frame_size(b"\xff\xd8\xff\xe0\x00\x10JFIF", 4096, 10**8)


def test_bomb_frame_gets_413_naming_its_size(
    client: TestClient, mall: dict[str, str], auth: TokenFactory, bomb: bytes
) -> None:
    device = auth("device", screen_id="lead1")
    r = client.post("/v1/vision/frames?screen_id=lead1", content=bomb, headers=device | {"Content-Type": "image/png"})
    assert r.status_code == 413, r.text
    assert "20000×20000" in r.json()["detail"] and r.json()["errors"][0]["field"] == "body"


def _service_with_screen(tmp_path: Path, sqlite_url: str) -> tuple[ServiceProcess, str]:
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        session.add(Screen(id="lead1", kind="lead_in"))
        token = create_token(session, "device", screen_id="lead1")
        session.commit()
    engine.dispose()
    service = ServiceProcess({"VITRINE_DATABASE_URL": sqlite_url, "VITRINE_LOG_LEVEL": "WARNING"}, cwd=tmp_path)
    service.start()
    return service, token


def test_three_bombs_at_once_add_at_most_100_mb_to_the_worker(tmp_path: Path, sqlite_url: str, bomb: bytes) -> None:
    service, token = _service_with_screen(tmp_path, sqlite_url)
    assert service.proc is not None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/png"}
    codes: list[int] = []

    def post() -> None:
        with httpx.Client(base_url=service.url, timeout=60) as http:
            codes.append(http.post("/v1/vision/frames?screen_id=lead1", content=bomb, headers=headers).status_code)

    try:
        post()  # warm the worker up (analyzer, routes) before measuring
        reset_peak(service.proc.pid)
        base = rss_mib(service.proc.pid)
        threads = [threading.Thread(target=post) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        added = rss_mib(service.proc.pid, "VmHWM") - base
    finally:
        service.stop()
    assert added <= 100, f"peak RSS grew by {added:.0f} MiB"
    assert codes == [413] * 4
