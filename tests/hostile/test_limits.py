"""Caps and rate limits (issue 9, "Hostile input"; ``services/common/limits.py``): the body cap
answers 413 (declared and streamed bodies), list endpoints refuse ``limit`` above the cap with
422, per-token rate limits answer 429 with ``Retry-After`` while another token goes on, and
the error answers are declared in every OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from services.common.limits import LimitSettings, install_limits
from services.common.web import MAX_LIMIT
from services.planning.api import create_app as planning_app
from tests.hostile.schemathesis_run import bearer
from tests.integration.backends import database_backend
from woms.onboarding import onboard

HANOI = Path(__file__).resolve().parents[2] / "data" / "tenants" / "hanoi" / "tenant.yaml"

pytestmark = pytest.mark.integration


@pytest.fixture
def onboarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    with database_backend("sqlite", monkeypatch):
        onboard(HANOI, infrastructure=False)
        yield


def test_rate_limit_answers_429_with_retry_after_and_spares_other_tokens(
    onboarded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMITS", '{"planning": "5/minute"}')
    monkeypatch.setenv("RATE_LIMIT", "1000/second")  # other services untouched
    client = TestClient(planning_app())
    hammer, other = bearer("P001"), bearer("P002")
    answers = [client.get("/tenants/hanoi/units", headers=hammer) for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    (item,) = refused.json()["detail"]
    assert item["loc"] == ["header", "Authorization"] and "too many requests" in item["msg"]
    assert client.get("/tenants/hanoi/units", headers=other).status_code == 200
    # a bad token is refused before it costs anyone's budget
    forged = {"Authorization": "Bearer x"}
    assert [client.get("/tenants/hanoi/units", headers=forged).status_code for _ in range(9)] == [
        401
    ] * 9
    assert client.get("/tenants/hanoi/units", headers=other).status_code == 200


def test_default_rate_limit_is_generous_and_off_disables(
    onboarded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert LimitSettings().rate_limit_of("planning") == "1000/second;30000/minute"
    monkeypatch.setenv("RATE_LIMIT", "off")
    client = TestClient(planning_app())
    h = bearer("P001")
    assert {client.get("/tenants/hanoi/units", headers=h).status_code for _ in range(30)} == {200}
    with pytest.raises(ValueError, match="rate limit"):
        LimitSettings(rate_limit="often")


def test_body_cap_answers_413_for_declared_and_streamed_bodies(
    onboarded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "2000")
    client = TestClient(planning_app())
    h = {**bearer("P001", "staff", "tenant_admin"), "Content-Type": "application/json"}
    url = "/tenants/hanoi/key-results/HN-KR1/progress"
    big = b'{"value": "1", "note": "' + b"x" * 5000 + b'"}'
    declared = client.post(url, content=big, headers=h)
    assert declared.status_code == 413
    assert "2000" in declared.json()["detail"][0]["msg"]
    assert declared.json()["detail"][0]["loc"] == ["body"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        for start in range(0, len(big), 500):
            yield big[start : start + 500]

    streamed = client.post(url, content=chunks(), headers=h)
    assert streamed.status_code == 413
    small = client.post(url, json={"value": "1"}, headers=h)
    assert small.status_code != 413


def test_upload_route_gets_its_own_cap() -> None:
    app = FastAPI()
    install_limits(
        app,
        "demo",
        upload_suffixes=("/evidence",),
        settings=LimitSettings(max_body_bytes=100, max_upload_bytes=1000),
    )

    @app.post("/evidence")
    @app.post("/other")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    client = TestClient(app)
    assert client.post("/evidence", content=b"x" * 900).json() == {"size": 900}
    assert client.post("/evidence", content=b"x" * 1001).status_code == 413
    assert client.post("/other", content=b"x" * 101).status_code == 413
    assert client.post("/other", content=b"x" * 100).json() == {"size": 100}


def test_page_size_cap(onboarded: None) -> None:
    client = TestClient(planning_app())
    h = bearer("P001")
    over = client.get("/tenants/hanoi/people", params={"limit": MAX_LIMIT + 1}, headers=h)
    assert over.status_code == 422
    assert over.json()["detail"][0]["loc"] == ["query", "limit"]
    page = client.get("/tenants/hanoi/people", params={"limit": MAX_LIMIT}, headers=h)
    assert page.status_code == 200 and page.json()["limit"] == MAX_LIMIT


def test_error_answers_are_declared_in_the_openapi(onboarded: None) -> None:
    schema = planning_app().openapi()
    get = schema["paths"]["/tenants/{tenant}/units/{code}"]["get"]["responses"]
    assert {"401", "403", "404", "413", "422", "429", "503"} <= set(get)
    assert "409" not in get  # a read does not conflict
    post = schema["paths"]["/tenants/{tenant}/key-results/{code}/progress"]["post"]["responses"]
    assert {"400", "409", "413", "429"} <= set(post)
    assert post["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiError"
    }
