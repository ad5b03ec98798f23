"""After frames and events went through the service (Redis as live state), no image data,
embedding or long-lived id is found in the database, in Redis, or in the working directory."""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import cv2
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlmodel import Session

from screens.app import create_app
from screens.auth import create_token
from tests.conftest import make_settings

skimage_data = pytest.importorskip("skimage.data")
IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n", b"/9j/", b"iVBORw0KGgo", b"GIF8")
FLOAT_RUN = re.compile(rb"(-?\d+\.\d+\s*,\s*){32,}")  # a vector of 32+ floats looks like an embedding


def _looks_like_image_or_embedding(blob: bytes) -> bool:
    return any(sig in blob for sig in IMAGE_SIGNATURES) or FLOAT_RUN.search(blob) is not None


def _redis_value(r: redis.Redis, key: bytes) -> bytes:
    """The readable content of a key, by type (DUMP output may be compressed, so it is no use)."""
    kind = r.type(key)
    if kind == b"stream":
        return repr(r.xrange(key)).encode()
    if kind == b"hash":
        return repr(r.hgetall(key)).encode()
    if kind == b"zset":
        return repr(r.zrange(key, 0, -1, withscores=True)).encode()
    if kind == b"set":
        return repr(r.smembers(key)).encode()
    if kind == b"list":
        return repr(r.lrange(key, 0, -1)).encode()
    return r.get(key) or b""


def test_redis_reader_would_see_an_image() -> None:
    """Guard for the scan below: the detector fires on what a leak would look like."""
    assert _looks_like_image_or_embedding(b"{'e': '/9j/4AAQSkZJRg'}")
    assert _looks_like_image_or_embedding(repr([0.125] * 64).encode())
    assert not _looks_like_image_or_embedding(b'{"gender": "female", "age": 27, "confidence": 0.91}')


def test_no_image_data_in_database_redis_or_working_dir(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/var/vitrine.db"
    from screens.db.session import upgrade

    upgrade(url)
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    settings = make_settings(url, redis_url=redis_url)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok
    with TestClient(create_app(settings)) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        with Session(runtime.engine) as session:
            admin = {"Authorization": f"Bearer {create_token(session, 'admin')}"}
            session.commit()
        client.put("/v1/stores/s1", json={"name": "S", "floor": 1, "zone": "n", "category": "fashion"}, headers=admin)
        for sid, body in (("lead1", {"kind": "lead_in"}), ("cam1", {"kind": "entrance_camera", "store_id": "s1"})):
            client.put(f"/v1/screens/{sid}", json=body, headers=admin)
        for sid in ("lead1", "cam1"):
            for _ in range(3):
                r = client.post(
                    f"/v1/vision/frames?screen_id={sid}",
                    content=jpeg.tobytes(),
                    headers=admin | {"Content-Type": "image/jpeg"},
                )
                assert r.status_code == 200 and r.json()["group_size"] >= 1
        smuggle = {
            "event_id": str(uuid.uuid4()),
            "ts": datetime.now(UTC).isoformat(),
            "type": "audience",
            "screen_id": "lead1",
            "faces": [],
            "image": "/9j/4AAQ",
        }
        assert client.post("/v1/events", json={"events": [smuggle]}, headers=admin).json()["rejected"] == 1
        engine = runtime.engine

        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f"SELECT * FROM {table}")):
                    blob = repr(tuple(row)).encode()
                    assert not _looks_like_image_or_embedding(blob), f"image-like data in table {table}"

    r = redis.Redis.from_url(redis_url)
    keys = list(r.scan_iter("*"))
    assert keys, "the run wrote live state to Redis"
    for key in keys:
        content = key + _redis_value(r, key)
        assert not _looks_like_image_or_embedding(content), f"image-like data in redis key {key!r}"

    for path in {p for p in tmp_path.rglob("*") if p.is_file()} - before:
        head = path.read_bytes()[:16]
        assert not any(head.startswith(sig) for sig in IMAGE_SIGNATURES), f"image file written: {path}"
    assert not any(p.suffix.lower() in {".jpg", ".jpeg", ".png"} for p in Path(os.getcwd()).rglob("*"))
