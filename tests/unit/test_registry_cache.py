"""Per-request costs removed for issue 9 ("Load"): the registry table is checked once per
engine, ``engine_for`` builds a URL (and ``mkdir``) once per name, and the tenant's registry
row is read through a short cache — on SQLite files under a temporary home."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, update

from services.common import tenancy
from services.common.db import dispose_engines, engine_for, transaction
from services.common.settings import Settings

CONFIG = {"calendar": {"period_start_day": 1}}


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    dispose_engines()
    tenancy.forget_cached()
    yield Settings(woms_home=tmp_path, relation_cache_s=30)
    tenancy.forget_cached()
    dispose_engines()


def _register(settings: Settings, name: str = "Hà Nội") -> None:
    with transaction(tenancy.registry_engine(settings)) as session:
        tenancy.upsert(
            session,
            code="hanoi",
            name=name,
            time_zone="Asia/Ho_Chi_Minh",
            config=CONFIG,
            source_hash="h",
        )


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_engine_for_reuses_the_engine_and_skips_the_url(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = engine_for("hanoi", "tasks", settings)
    assert (settings.woms_home / "db" / "hanoi").is_dir()
    calls: list[tuple[str, str]] = []
    original = Settings.database_url

    def counting(self: Settings, tenant: str, service: str) -> str:
        calls.append((tenant, service))
        return original(self, tenant, service)

    monkeypatch.setattr(Settings, "database_url", counting)
    assert engine_for("hanoi", "tasks", settings) is first
    assert calls == []
    other = engine_for("hanoi", "evaluation", settings)
    assert other is not first and calls == [("hanoi", "evaluation")]
    with pytest.raises(ValueError, match="tenant"):
        engine_for("Hà Nội", "tasks", settings)


def test_the_registry_table_is_checked_once_per_engine(settings: Settings) -> None:
    engine = tenancy.registry_engine(settings)
    seen = _statements(engine)
    for _ in range(3):
        assert tenancy.registry_engine(settings) is engine
    assert seen == []  # no schema query after the first call
    dispose_engines()  # a new engine (e.g. after a restore) is checked again
    again = tenancy.registry_engine(settings)
    assert again is not engine
    with transaction(again) as session:
        assert tenancy.list_tenants(session) == []


def test_cached_tenant_reads_the_row_once_within_the_ttl(settings: Settings) -> None:
    _register(settings)
    engine = tenancy.registry_engine(settings)
    first = tenancy.cached_tenant("hanoi", settings)
    assert first is not None and first.name == "Hà Nội"
    seen = _statements(engine)
    # another process renames it: this one keeps its cached row within the TTL
    with engine.begin() as conn:
        conn.execute(
            update(tenancy.tenants).where(tenancy.tenants.c.code == "hanoi").values(name="X")
        )
    seen.clear()
    assert tenancy.cached_tenant("hanoi", settings) is first
    assert seen == []


def test_upsert_in_this_process_is_seen_at_once(settings: Settings) -> None:
    _register(settings)
    assert tenancy.cached_tenant("hanoi", settings).name == "Hà Nội"  # type: ignore[union-attr]
    _register(settings, name="Thủ đô Hà Nội")
    assert tenancy.cached_tenant("hanoi", settings).name == "Thủ đô Hà Nội"  # type: ignore[union-attr]


def test_an_unknown_tenant_is_not_cached(settings: Settings) -> None:
    assert tenancy.cached_tenant("hanoi", settings) is None
    _register(settings)
    tenancy.forget_cached()  # as another process would onboard it: no invalidation here
    assert tenancy.cached_tenant("hanoi", settings) is not None


def test_after_the_ttl_and_with_zero_the_row_is_read_again(tmp_path: Path) -> None:
    dispose_engines()
    tenancy.forget_cached()
    try:
        for ttl in (0.05, 0.0):
            settings = Settings(woms_home=tmp_path, relation_cache_s=ttl)
            _register(settings, name="A")
            assert tenancy.cached_tenant("hanoi", settings).name == "A"  # type: ignore[union-attr]
            with tenancy.registry_engine(settings).begin() as conn:
                conn.execute(update(tenancy.tenants).values(name=f"B{ttl}"))
            time.sleep(ttl * 2)
            assert tenancy.cached_tenant("hanoi", settings).name == f"B{ttl}"  # type: ignore[union-attr]
    finally:
        tenancy.forget_cached()
        dispose_engines()
