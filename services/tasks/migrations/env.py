"""Alembic environment of the tasks service (run through services.common.db.migrate)."""

from alembic import context

from services.common.migrations_env import run_migrations
from services.tasks.models import Base

run_migrations(context, Base.metadata)
