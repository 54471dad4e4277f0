"""After log-in the web app redirects only to a path of its own site (issue 15: ``POST
/login`` with ``next=//evil.example/x`` redirected off-site)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.common.settings import get_settings
from services.planning.api import create_app as planning_app
from services.web.app import create_app as web_app
from services.web.app import same_origin_path
from services.web.settings import WebSettings
from tests.evaluation_service.evaluation_api_stack import served
from tests.integration.backends import database_backend
from woms.onboarding import onboard

HANOI = Path(__file__).resolve().parents[2] / "data" / "tenants" / "hanoi" / "tenant.yaml"

OFF_SITE = [
    "//evil.example/x",
    "///evil.example/x",
    "/\\evil.example/x",
    "/\\/evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/%0a/x\n",
    "",
    "/" + "a" * 3000,
]
ON_SITE = ["/", "/evaluations/P021/2026-06", "/tasks?status=open&page=2", "/reports#unit"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_off_site_targets_become_the_home_page(target: str) -> None:
    assert same_origin_path(target) == "/"


@pytest.mark.parametrize("target", ON_SITE)
def test_paths_of_the_site_are_kept(target: str) -> None:
    assert same_origin_path(target) == target


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The web app over Hà Nội's planning API served for real (uvicorn, SQLite)."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        with database_backend("sqlite", monkeypatch):
            onboard(HANOI, infrastructure=False)
            with served(planning_app()) as planning:
                settings = WebSettings(planning_url=planning, WEB_TENANT="hanoi")
                yield TestClient(web_app(settings), follow_redirects=False)
    finally:
        get_settings.cache_clear()


@pytest.mark.integration
def test_login_redirects_only_on_site(web: TestClient) -> None:
    for target in ("//evil.example/x", "/\\evil.example/x", "https://evil.example/x"):
        answer = web.post("/login", data={"person": "P021", "next": target})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/", target
        assert "woms_token" in answer.cookies
    kept = web.post("/login", data={"person": "P021", "next": "/evaluations/P021/2026-06"})
    assert kept.headers["location"] == "/evaluations/P021/2026-06"
    page = web.get("/login", params={"next": "//evil.example/x"})
    assert page.status_code == 200 and "evil.example" not in page.text
