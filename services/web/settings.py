"""Where the web application finds the four services, and its own settings (environment
variables, pydantic-settings, no prefix).

* ``PLANNING_URL`` (shared with the other services, :mod:`services.common.settings`),
  ``TASKS_URL``, ``EVALUATION_URL``, ``REPORTING_URL`` — base URLs of the services' HTTP APIs
  (defaults: the ``woms serve`` ports 8101–8104 on 127.0.0.1);
* ``WEB_TENANT`` — the tenant whose people the embedded log-in lists (default ``hanoi``);
* ``WEB_PERIOD`` — the evaluation period shown first (``YYYY-MM``; default: the current month).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import get_settings


class WebSettings(BaseSettings):
    """Settings of the web application; build directly in tests (``WebSettings(tasks_url=…)``).

    Attributes:
        planning_url, tasks_url, evaluation_url, reporting_url: base URLs (no trailing slash).
        tenant: tenant code of the embedded log-in.
        period: ``YYYY-MM`` shown first, or ``None`` for the current month.
        timeout_s: seconds to wait for a service's answer.
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    planning_url: str = Field(default_factory=lambda: get_settings().planning_url)
    tasks_url: str = "http://127.0.0.1:8102"
    evaluation_url: str = "http://127.0.0.1:8103"
    reporting_url: str = "http://127.0.0.1:8104"
    tenant: str = Field(default="hanoi", alias="WEB_TENANT")
    period: str | None = Field(default=None, alias="WEB_PERIOD", pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    timeout_s: float = 15.0
