"""Issue 13, row 14 (found by the fuzzer): stored times come back with their UTC offset."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_stored_times_carry_their_offset(client: TestClient, mall: dict[str, str]) -> None:
    client.put("/v1/mirror/compatibility", json={"table": {"tops": {"bottoms": 1.0}}}, headers=mall)
    client.put("/v1/ranking/weights", json={"weights": {"popularity": 1.2}}, headers=mall)
    client.post("/v1/screens/lead1/heartbeat", headers=mall)
    times = [
        client.get("/v1/mirror/compatibility", headers=mall).json()["updated_at"],
        client.get("/v1/ranking/weights", headers=mall).json()["created_at"],
        client.get("/v1/ranking/weights/history", headers=mall).json()[0]["created_at"],
        client.get("/v1/screens/lead1", headers=mall).json()["last_seen"],
    ]
    assert all(t.endswith(("Z", "+00:00")) for t in times), times
