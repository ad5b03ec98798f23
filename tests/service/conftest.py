from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TokenFactory


@pytest.fixture
def admin(auth: TokenFactory) -> dict[str, str]:
    return auth("admin")


@pytest.fixture
def mall(client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    """Two stores, a lead-in screen, a mirror and an entrance camera in store s1."""
    for sid, name in (("s1", "Nordic Threads"), ("s2", "鞋履 Shoes")):
        r = client.put(
            f"/v1/stores/{sid}", json={"name": name, "floor": 1, "zone": "north", "category": "fashion"}, headers=admin
        )
        assert r.status_code == 200, r.text
    for screen_id, body in (
        ("lead1", {"kind": "lead_in", "zone": "atrium"}),
        ("mirror1", {"kind": "mirror", "store_id": "s1"}),
        ("cam1", {"kind": "entrance_camera", "store_id": "s1"}),
    ):
        r = client.put(f"/v1/screens/{screen_id}", json=body, headers=admin)
        assert r.status_code == 200, r.text
    return admin
