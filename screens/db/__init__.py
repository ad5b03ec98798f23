"""Relational storage: SQLModel tables, engine/session wiring and Alembic migrations."""
