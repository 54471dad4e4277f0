"""The tenant's cycle calendar from its registry settings (services/evaluation/cycle_settings)."""

from __future__ import annotations

import pytest

from services.evaluation.cycle_settings import calendar_of
from workflows.monthly_cycle.inputs import CycleCalendar


def test_defaults_are_the_days_of_001_iv_1() -> None:
    assert calendar_of({}) == CycleCalendar()


def test_tenant_days_zone_and_compression_are_read() -> None:
    config = {
        "calendar": {
            "period_start_day": 25,
            "self_assessment_day": 20,
            "review_day": 22,
            "approval_day": 24,
            "seconds_per_day": 2,
            "reminder_days_before": [1],
        }
    }
    cal = calendar_of(config, "Asia/Bangkok")
    assert (cal.period_start_day, cal.self_assessment_day, cal.review_day) == (25, 20, 22)
    assert (cal.approval_day, cal.seconds_per_day, cal.reminder_days_before) == (24, 2, [1])
    assert cal.time_zone == "Asia/Bangkok"


@pytest.mark.parametrize(
    ("calendar", "field"),
    [
        ({"review_day": 29}, "calendar.review_day"),
        ({"review_day": "26"}, "calendar.review_day"),
        ({"seconds_per_day": 0}, "calendar.seconds_per_day"),
        ({"seconds_per_day": True}, "calendar.seconds_per_day"),
        ({"reminder_days_before": [2, -1]}, "calendar.reminder_days_before"),
    ],
)
def test_bad_settings_name_the_field(calendar: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        calendar_of({"calendar": calendar})
