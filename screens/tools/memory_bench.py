"""Memory under hostile input: a decompression-bomb frame and a 50 MiB catalog upload (issue 13).

The service runs as its own process (``vitrine serve``, one worker) and its resident memory is read
from ``/proc/<pid>/status``: ``VmHWM`` is the peak since the last reset, and writing ``5`` to
``/proc/<pid>/clear_refs`` resets it (Linux ≥ 4.0), so each figure is the peak of one request
above the memory the warmed-up worker already held. Run with ``vitrine bench memory``.
"""

from __future__ import annotations

import io
import logging
import struct
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)
MIB = 1024 * 1024


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for pid {pid}")


def reset_peak(pid: int) -> None:
    """Start a new ``VmHWM`` measurement at the current resident size."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def bomb_png(side: int = 20_000) -> bytes:
    """A valid grey PNG of ``side``×``side`` zeros: about 1 MB that decodes to ``side² × 3`` bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\0" * (side + 1)  # filter byte + one byte per pixel
    block = row * max(1, 4 * MIB // len(row))
    rows_per_block = len(block) // len(row)
    out = io.BytesIO()
    done = 0
    while done < side:
        n = min(rows_per_block, side - done)
        out.write(packer.compress(block[: n * len(row)]))
        done += n
    out.write(packer.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", out.getvalue()) + chunk(b"IEND", b"")


def catalog_csv(target_bytes: int) -> bytes:
    """A valid catalog CSV of at most ``target_bytes`` (distinct SKUs; ~72 bytes a row)."""
    header = "sku,name,category,gender_target,colors,style_tags,price,stock\n"
    lines = [header]
    size, i = len(header), 0
    while True:
        line = f"S{i:09d},Linen shirt number {i},tops,women,white|blue,casual,59.9,{i % 50}\n"
        if size + len(line) > target_bytes:
            break
        lines.append(line)
        size += len(line)
        i += 1
    return "".join(lines).encode()


def _peak_during(pid: int, request: Any) -> tuple[float, Any, float]:
    """Peak RSS above the start while ``request()`` runs, its answer and its duration."""
    reset_peak(pid)
    base = rss_mib(pid)
    start = time.perf_counter()
    answer = request()
    elapsed = time.perf_counter() - start
    return rss_mib(pid, "VmHWM") - base, answer, elapsed


def _healthz_worst_ms(url: str, stop: threading.Event, worst: list[float]) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set():
            start = time.perf_counter()
            http.get("/healthz")
            worst.append((time.perf_counter() - start) * 1000)
            time.sleep(0.05)


def bench_memory(upload_mib: float = 50.0, bomb_side: int = 20_000, bombs: int = 3) -> dict[str, Any]:
    """Peak RSS added by ``bombs`` concurrent bomb frames, then (in a fresh worker, so memory the
    first part left in the allocator cannot hide the second's) by one ``upload_mib`` MiB dry-run upload."""
    return {
        "bomb": _bench_bombs(bomb_side, bombs),
        "upload": _bench_upload(upload_mib),
        "note": "VmHWM of one uvicorn worker above its RSS just before the request; a fresh worker for each part",
    }


def _with_service(measure: Any) -> dict[str, Any]:
    from screens.tools.http_bench import _start_service

    with tempfile.TemporaryDirectory() as tmp:
        service, url, headers = _start_service(Path(tmp), None)
        assert service.proc is not None
        try:
            with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
                http.put("/v1/stores/s1", json={"name": "S", "floor": 1, "zone": "z", "category": "c"})
                http.put("/v1/screens/lead1", json={"kind": "lead_in"})
                result: dict[str, Any] = measure(service.proc.pid, url, http, Path(tmp) / "bench.db")
                result["rss_after_mib"] = round(rss_mib(service.proc.pid), 1)
                return result
        finally:
            service.stop()


def _bench_bombs(bomb_side: int, bombs: int) -> dict[str, Any]:
    frame = bomb_png(bomb_side)

    def measure(pid: int, url: str, http: httpx.Client, db: Path) -> dict[str, Any]:
        device = {"Authorization": f"Bearer {_device_token(db)}", "Content-Type": "image/png"}
        codes: list[int] = []

        def one() -> None:
            with httpx.Client(base_url=url, timeout=600) as h:
                codes.append(h.post("/v1/vision/frames?screen_id=lead1", content=frame, headers=device).status_code)

        def post_all() -> None:
            threads = [threading.Thread(target=one) for _ in range(bombs)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        added, _, seconds = _peak_during(pid, post_all)
        return {
            "frame_bytes": len(frame),
            "side_px": bomb_side,
            "concurrent": bombs,
            "status": sorted(codes),
            "peak_rss_added_mib": round(added, 1),
            "seconds": round(seconds, 2),
        }

    return _with_service(measure)


def _bench_upload(upload_mib: float) -> dict[str, Any]:
    body = catalog_csv(int(upload_mib * MIB))

    def measure(pid: int, url: str, http: httpx.Client, db: Path) -> dict[str, Any]:
        stop, worst = threading.Event(), [0.0]
        probe = threading.Thread(target=_healthz_worst_ms, args=(url, stop, worst))
        probe.start()
        try:
            added, answer, seconds = _peak_during(
                pid,
                lambda: http.put(
                    "/v1/stores/s1/catalog?dry_run=true", content=body, headers={"Content-Type": "text/csv"}
                ),
            )
        finally:
            stop.set()
            probe.join()
        return {
            "bytes": len(body),
            "rows": body.count(b"\n") - 1,
            "status": answer.status_code,
            "peak_rss_added_mib": round(added, 1),
            "peak_rss_mib": round(rss_mib(pid, "VmHWM"), 1),
            "seconds": round(seconds, 2),
            "healthz_worst_ms": round(max(worst), 1),
        }

    return _with_service(measure)


def _device_token(db_path: Path) -> str:
    from sqlmodel import Session

    from screens.auth import create_token
    from screens.db.session import make_engine

    engine = make_engine(f"sqlite:///{db_path}")
    with Session(engine) as session:
        token = create_token(session, "device", screen_id="lead1", label="bench")
        session.commit()
    engine.dispose()
    return token
