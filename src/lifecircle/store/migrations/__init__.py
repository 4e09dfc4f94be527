"""Alembic migrations of the lifecircle store."""
