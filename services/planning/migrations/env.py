"""Alembic environment of the planning service (run through services.common.db.migrate)."""

from alembic import context

from services.common.migrations_env import run_migrations
from services.planning.models import Base

run_migrations(context, Base.metadata)
