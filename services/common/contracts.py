"""File formats shared across services (the shared kernel owns them, so the producer and the
consumer of a file never import each other).

``TASKS.csv`` is written by the tasks service's ledger export and read by
``woms evaluate-month`` (the evaluation service); its columns are the scoring engine's task
record plus the person and task ids.
"""

from __future__ import annotations

#: ``TASKS.csv``: one row per task of a person's month.
TASKS_CSV_COLUMNS: tuple[str, ...] = (
    "person_id",
    "task_id",
    "points",
    "completed",
    "quality_failures",
    "delays",
    "days_late",
    "objective_cause",
    "exceeded",
)
