from tests.service.conftest import admin, mall  # noqa: F401  (the API tests' mall, reused)
