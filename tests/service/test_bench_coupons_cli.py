"""`vitrine bench coupons` refuses set-ups it cannot run, before starting any process, and reads
how the load's connections fell on the workers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from screens.cli import app
from screens.tools.coupon_bench import _connections_per_process, _no_idle_worker


def test_several_workers_without_redis_are_refused_naming_the_option() -> None:
    result = CliRunner().invoke(app, ["bench", "coupons", "--workers", "2", "--duration", "1"])
    assert result.exit_code == 2
    assert "--workers" in result.output and "--redis-url" in result.output


def test_a_machine_without_wrk_is_told_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = CliRunner().invoke(app, ["bench", "coupons", "--workers", "1", "--duration", "1"])
    assert result.exit_code == 2
    assert "wrk is not installed" in result.output and "make wrk" in result.output


def test_an_unknown_crowd_is_refused() -> None:
    result = CliRunner().invoke(app, ["bench", "coupons", "--workers", "1", "--crowds", "rush"])
    assert result.exit_code == 2
    assert "--crowds" in result.output


@pytest.mark.skipif(shutil.which("ss") is None, reason="ss (iproute2) is not installed")
def test_the_bench_counts_the_load_generators_connections_on_the_accepting_processes() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        two = f"[socket.create_connection(('127.0.0.1', {port})) for _ in '12']"
        hold = f"import socket, sys; c = {two}; sys.stdin.read()"
        client = subprocess.Popen([sys.executable, "-c", hold], stdin=subprocess.PIPE)
        other = socket.create_connection(("127.0.0.1", port))  # like the cameras' connection: not the load's
        accepted = [server.accept()[0] for _ in range(3)]
        try:
            assert _connections_per_process(port, client.pid) == [2], "two of the client's, accepted by this process"
            assert _connections_per_process(port, os.getpid()) == [1]
        finally:
            client.communicate(b"")
            for s in [other, *accepted]:
                s.close()
        assert _connections_per_process(port, client.pid) == []


def test_a_split_counts_when_no_worker_is_left_idle() -> None:
    for split, connections, workers in (([2, 2], 4, 2), ([3, 1], 4, 2), ([1], 1, 2), ([4], 4, 1)):
        assert _no_idle_worker(split, connections, workers)
    assert not _no_idle_worker([4], 4, 2), "one worker idle"
    assert not _no_idle_worker([2, 1], 4, 2), "a connection not yet accepted"
