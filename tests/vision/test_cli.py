"""``vitrine vision …`` as an operator runs it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from vision.cli import app
from vision.runtime import cuda_available

runner = CliRunner()


@pytest.fixture
def event_service():
    """A stand-in for the service's POST /v1/events, recording what arrives."""
    received: list[tuple[str, str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.path, self.headers["Authorization"], body))
            reply = json.dumps({"accepted": len(body["events"]), "duplicates": 0, "rejected": 0, "errors": []})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(reply.encode())

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()


def test_run_posts_events_from_a_video_to_the_service(tmp_path: Path, people_video: Path, event_service) -> None:
    url, received = event_service
    config = tmp_path / "cameras.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cameras": [{"screen_id": "door-1", "kind": "entrance_camera", "source": str(people_video), "fps": 10}],
                "ring": {"slots": 8, "max_width": 640, "max_height": 480},
                "tracking": {"forget_after_s": 1.0},
                "sink": {"url": url, "token": "box-token"},
            }
        )
    )
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 0, result.output
    events = [e for _, _, body in received for e in body["events"]]
    assert {(path, auth) for path, auth, _ in received} == {("/v1/events", "Bearer box-token")}
    assert [e["type"] for e in events] == ["store_visit", "store_visit"]


def test_a_misspelt_config_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "cameras.yaml"
    config.write_text("cameras: [{screen_id: a, source: x.mp4}]\nbatching: {max_latncy_ms: 5}\n")
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code != 0 and "max_latncy_ms" in result.output


def test_models_fetch_says_when_the_machine_is_offline(tmp_path: Path) -> None:
    config = tmp_path / "cameras.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cameras": [{"screen_id": "a", "source": "x.mp4"}],
                "models": {
                    "detector": {
                        "type": "yunet",
                        "path": "m/yunet.onnx",
                        "url": "http://127.0.0.1:9/yunet.onnx",
                    }
                },
            }
        )
    )
    result = runner.invoke(app, ["models", "fetch", "--config", str(config)])
    assert result.exit_code == 2 and not (tmp_path / "m" / "yunet.onnx").exists()
    assert list((tmp_path / "m").iterdir()) == []  # no partial file left behind


def test_models_fetch_keeps_present_verified_files(tmp_path: Path, yunet_path: Path) -> None:
    from vision.runtime import sha256_of

    config = tmp_path / "cameras.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cameras": [{"screen_id": "a", "source": "x.mp4"}],
                "models": {"detector": {"type": "yunet", "path": str(yunet_path), "sha256": sha256_of(yunet_path)}},
            }
        )
    )
    assert runner.invoke(app, ["models", "fetch", "--config", str(config)]).exit_code == 0


def test_bench_runs_on_the_cpu() -> None:
    result = runner.invoke(app, ["bench", "--device", "cpu", "--batches", "1,4", "--streams", "1", "--seconds", "0.5"])
    assert result.exit_code == 0, result.output
    assert "CPUExecutionProvider" in result.output and "| 4 |" in result.output and "sustained" in result.output


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs onnxruntime-gpu with CUDA")
def test_bench_picks_cuda_automatically() -> None:
    result = runner.invoke(app, ["bench", "--batches", "16", "--streams", "1", "--seconds", "1"])
    assert result.exit_code == 0 and "CUDAExecutionProvider" in result.output


def test_bench_refuses_a_malformed_detector_size() -> None:
    result = runner.invoke(app, ["bench", "--pipeline", "--detector-size", "480by270"])
    assert result.exit_code == 2 and "WIDTHxHEIGHT" in result.output


def test_pipeline_bench_needs_real_models() -> None:
    result = runner.invoke(app, ["bench", "--pipeline", "--device", "cpu", "--streams", "1"])
    assert result.exit_code == 2 and "models fetch" in result.output
