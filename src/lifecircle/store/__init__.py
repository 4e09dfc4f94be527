"""The platform's database: SQLAlchemy models and Alembic migrations (SQLite or PostgreSQL)."""

from lifecircle.store.db import create_db_engine, migrate, session_factory, session_scope
from lifecircle.store.models import (
    ROLES,
    AuthSession,
    Base,
    MerchantOutlet,
    Need,
    OutletChange,
    SavedScenario,
    Submission,
    SurveyResponse,
    User,
)

__all__ = [
    "ROLES",
    "AuthSession",
    "Base",
    "MerchantOutlet",
    "Need",
    "OutletChange",
    "SavedScenario",
    "Submission",
    "SurveyResponse",
    "User",
    "create_db_engine",
    "migrate",
    "session_factory",
    "session_scope",
]
