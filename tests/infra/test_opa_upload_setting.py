"""``OPA_UPLOAD=false`` (set by the OPA sidecar component, whose bundle owns the policies): the
services query the server without uploading; by default they upload (policy server:
``services.common.opa_server``, the OPA-REST-compatible one WOMS ships)."""

from __future__ import annotations

import pytest
import requests

from services.common.opa_server import serve_in_thread
from services.common.policy import OpaEngine, policy_engine
from services.common.settings import Settings

pytestmark = pytest.mark.integration


def _policies(url: str) -> list[str]:
    answer = requests.get(f"{url}/v1/policies", timeout=5)
    answer.raise_for_status()
    return [p["id"] for p in answer.json()["result"]]


def test_opa_upload_false_leaves_the_server_policies_alone() -> None:
    with serve_in_thread() as url:
        engine = policy_engine(Settings(opa_url=url, opa_upload=False))
        assert isinstance(engine, OpaEngine)
        assert _policies(url) == []
        engine.close()
        engine = policy_engine(Settings(opa_url=url))
        assert _policies(url)  # the default uploads policies/
        assert engine.evaluate("data.woms.smoke.allow", {"subject": "a", "owner": "a"}) is True
        engine.close()


def test_opa_upload_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPA_UPLOAD", "false")
    assert Settings().opa_upload is False
    monkeypatch.delenv("OPA_UPLOAD")
    assert Settings().opa_upload is True
