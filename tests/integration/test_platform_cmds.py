"""``woms platform grant | revoke | grants``: the platform's role grants in the registry
(SQLite and PostgreSQL), bad input exits 2 and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.common import tenancy
from services.common.db import transaction
from services.common.settings import get_settings
from tests.integration.backends import BACKENDS, database_backend
from woms.cli import app

pytestmark = pytest.mark.integration


@pytest.fixture(params=BACKENDS)
def home(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    get_settings.cache_clear()
    with database_backend(request.param, monkeypatch):
        yield tmp_path
    get_settings.cache_clear()


def _woms(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _grants() -> dict[str, frozenset[str]]:
    with transaction(tenancy.registry_engine()) as session:
        return tenancy.platform_role_grants(session)


def test_grant_list_and_revoke(home: Path) -> None:
    assert _woms("platform", "grant", "BTC-TW", "--note", "Ban Tổ chức Trung ương")[0] == 0
    code, out = _woms("platform", "grant", "BTC-TW")
    assert code == 0 and "already" in out
    assert _grants() == {"BTC-TW": frozenset({"central"})}
    code, out = _woms("platform", "grants")
    assert (code, out.split()) == (0, ["BTC-TW", "central"])
    assert _woms("platform", "revoke", "BTC-TW")[0] == 0
    code, out = _woms("platform", "revoke", "BTC-TW")
    assert code == 0 and "not granted" in out
    assert _grants() == {}


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("BTC-TW", "--role", "tenant_admin"), "grants only"),
        (("system:tasks",), "person or account"),
        (("  ",), "person or account"),
    ],
)
def test_bad_grants_exit_2_and_change_nothing(
    home: Path, args: tuple[str, ...], reason: str
) -> None:
    assert _woms("platform", "grant", "C0")[0] == 0
    code, out = _woms("platform", "grant", *args)
    assert code == 2 and reason in out
    assert _grants() == {"C0": frozenset({"central"})}
