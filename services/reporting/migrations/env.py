"""Alembic environment of the reporting service (run through services.common.db.migrate)."""

from alembic import context

from services.common.migrations_env import run_migrations
from services.reporting.models import metadata

run_migrations(context, metadata)
