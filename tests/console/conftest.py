"""Console and analytics tests run with k-anonymity 3, so a handful of events crosses the threshold."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from screens.settings import Settings
from tests.conftest import TokenFactory, make_settings
from tests.console.seed import build_mall

K = 3


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, k_anonymity=K)


@pytest.fixture
def admin(auth: TokenFactory) -> dict[str, str]:
    return auth("admin")


@pytest.fixture
def mall(client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    """Stores s1 and s2, their entrance cameras, lead-in screen lead1, mirror1, coupons C1, C2 (s1), D1 (s2)."""
    build_mall(client, admin)
    return admin
