"""Shared fixtures: real Redis, SQLite and (when reachable) PostgreSQL, apps and tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from screens.app import create_app
from screens.auth import Role, create_token
from screens.db.rollups import ROLLUPS
from screens.db.session import make_engine, upgrade
from screens.db.tables import table
from screens.settings import Settings
from tests.servers import RedisServer, postgres_available, scratch_postgres_database


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    import redis

    if redis_server.proc is None:
        redis_server.start()
    redis.Redis.from_url(redis_server.url).flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    if not postgres_available():
        pytest.skip("no PostgreSQL server reachable (set VITRINE_TEST_POSTGRES_URL)")
    with scratch_postgres_database() as url:
        upgrade(url)
        yield url


def _truncate_postgres(url: str) -> None:
    tables = ["store", "screen", "catalog_item", "coupon", "ranking_weights", "api_token", "audit_log"]
    tables += ["event_log", "event_ledger", "settings_kv", *(table(model).name for model in ROLLUPS)]
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on SQLite and, when a server answers, on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/vitrine.db"
        upgrade(url)
        return url
    url: str = request.getfixturevalue("postgres_server_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/vitrine.db"
    upgrade(url)
    return url


def make_settings(database_url: str, **overrides: object) -> Settings:
    return Settings(database_url=database_url, log_json=True, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


TokenFactory = Callable[..., dict[str, str]]


@pytest.fixture
def auth(settings: Settings) -> TokenFactory:
    """``auth("merchandiser", store_ids=["s1"])`` → headers with a fresh token of that role."""
    engine = make_engine(settings.database_url)

    def factory(role: Role, **scope: object) -> dict[str, str]:
        with Session(engine) as session:
            token = create_token(session, role, **scope)  # type: ignore[arg-type]
            session.commit()
        return {"Authorization": f"Bearer {token}"}

    return factory
