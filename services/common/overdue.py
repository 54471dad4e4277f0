"""The one rule of "quá hạn chưa xong" (a task overdue and not done, ``000 §VI.2``), shared by
reporting's figures (dashboard, person card, exports, rankings, early warnings) and the web's
task pages, so that every page counts the same tasks. Pure: no I/O."""

from __future__ import annotations

from datetime import date

WITH_THE_LEAD = frozenset({"assigned", "in_progress", "returned"})
"""States in which the work is still with its lead (submitted work has been handed over)."""


def is_overdue(status: str | None, due: date | None, flagged: bool, today: date) -> bool:
    """Whether a task is overdue and not done on ``today``: still with its lead
    (:data:`WITH_THE_LEAD`) and its due date before ``today``; a task with no known due date
    is overdue when the tasks service flagged it (``task.overdue``). Submitted (handed over),
    approved and cancelled tasks are never overdue."""
    if status not in WITH_THE_LEAD:
        return False
    return due < today if due is not None else bool(flagged)
