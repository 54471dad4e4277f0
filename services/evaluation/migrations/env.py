"""Alembic environment of the evaluation service (run through services.common.db.migrate)."""

from alembic import context

from services.common.migrations_env import run_migrations
from services.evaluation.models import Base

run_migrations(context, Base.metadata)
