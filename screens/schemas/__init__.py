"""Request and response models of the HTTP API (pydantic); tables live in ``screens.db.tables``."""
