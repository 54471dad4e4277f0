"""The cache of what services fetch from planning per tenant and day
(``services/common/relation_cache.py``, issue 9 "Load"), and the clients that use it."""

from __future__ import annotations

import json
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.common.relation_cache import RelationCache
from services.common.settings import Settings, get_settings
from services.evaluation.clients import HttpSources
from services.tasks.planning_client import HttpPlanningDirectory

DAY = date(2026, 12, 5)


class Clock:
    """A settable clock for the cache's expiry (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fetches:
    """A fetch that counts its calls and answers a new dict each time."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"call": self.calls}


def test_a_second_get_within_the_ttl_is_a_hit() -> None:
    clock, fetch = Clock(), Fetches()
    cache = RelationCache(30, timer=clock)
    first = cache.get("policy-data", "hanoi", DAY, fetch)
    clock.now += 29.9
    assert cache.get("policy-data", "hanoi", DAY, fetch) is first
    assert fetch.calls == 1


def test_after_the_ttl_it_fetches_again() -> None:
    clock, fetch = Clock(), Fetches()
    cache = RelationCache(30, timer=clock)
    cache.get("policy-data", "hanoi", DAY, fetch)
    clock.now += 30.0
    assert cache.get("policy-data", "hanoi", DAY, fetch) == {"call": 2}
    assert fetch.calls == 2


def test_keys_are_per_tenant_per_day_and_per_kind() -> None:
    fetch = Fetches()
    cache = RelationCache(30, timer=Clock())
    cache.get("policy-data", "hanoi", DAY, fetch)
    cache.get("policy-data", "thanhhoa", DAY, fetch)
    cache.get("policy-data", "hanoi", date(2026, 12, 6), fetch)
    cache.get("catalog", "hanoi", DAY, fetch)
    assert fetch.calls == 4
    # a date and its ISO string are the same day
    assert cache.get("policy-data", "hanoi", "2026-12-06", fetch) == {"call": 3}
    assert fetch.calls == 4
    assert len(cache) == 4


def test_zero_disables_the_cache() -> None:
    fetch = Fetches()
    cache = RelationCache(0)
    assert [cache.get("policy-data", "hanoi", DAY, fetch) for _ in range(3)] == [
        {"call": 1},
        {"call": 2},
        {"call": 3},
    ]
    assert len(cache) == 0


def test_the_default_ttl_is_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELATION_CACHE_S", "0")
    get_settings.cache_clear()
    try:
        assert RelationCache().ttl_s == 0
    finally:
        get_settings.cache_clear()
    assert RelationCache(12.5).ttl_s == 12.5
    with pytest.raises(ValueError, match="ttl_s"):
        RelationCache(-1)


def test_a_failed_fetch_is_not_cached() -> None:
    cache = RelationCache(30, timer=Clock())

    def failing() -> dict[str, Any]:
        raise RuntimeError("planning down")

    with pytest.raises(RuntimeError, match="planning down"):
        cache.get("policy-data", "hanoi", DAY, failing)
    assert cache.get("policy-data", "hanoi", DAY, Fetches()) == {"call": 1}


def test_clear_forgets_every_answer() -> None:
    fetch = Fetches()
    cache = RelationCache(30, timer=Clock())
    cache.get("policy-data", "hanoi", DAY, fetch)
    cache.clear()
    cache.get("policy-data", "hanoi", DAY, fetch)
    assert fetch.calls == 2


def test_concurrent_misses_of_one_key_fetch_once() -> None:
    cache = RelationCache(30)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> dict[str, Any]:
        calls.append(1)
        started.set()
        release.wait(5)
        return {"n": len(calls)}

    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(cache.get("policy-data", "hanoi", DAY, slow))
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    assert started.wait(5)
    release.set()
    for thread in threads:
        thread.join(5)
    assert len(calls) == 1
    assert results == [{"n": 1}] * 8


# --- the clients ---------------------------------------------------------------------------


class Planning:
    """A planning API stand-in on httpx's transport: counts requests per path."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.url.path}?{request.url.query.decode()}")
        if request.url.path.endswith("/catalog"):
            return httpx.Response(200, json=[{"code": "VP-VB-01", "coefficient": "1.5"}])
        as_of = request.url.params["as_of"]
        return httpx.Response(
            200,
            content=json.dumps({"unit_members": {"PL-VP": ["P020"]}, "as_of": as_of}),
        )


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(woms_home=tmp_path, relation_cache_s=30)


def test_the_tasks_client_fetches_the_relation_once_per_tenant_and_day(
    settings: Settings,
) -> None:
    planning = Planning()
    client = HttpPlanningDirectory(
        settings, base_url="http://planning", transport=httpx.MockTransport(planning)
    )
    try:
        for _ in range(5):
            assert client.org("hanoi", DAY)["as_of"] == "2026-12-05"
            assert client.coefficient("hanoi", "VP-VB-01", DAY) == Decimal("1.5")
        client.org("hanoi", date(2026, 12, 6))
    finally:
        client.close()
    assert planning.requests == [
        "/tenants/hanoi/evaluators/policy-data?as_of=2026-12-05",
        "/tenants/hanoi/catalog?as_of=2026-12-05",
        "/tenants/hanoi/evaluators/policy-data?as_of=2026-12-06",
    ]


def test_the_tasks_client_without_cache_fetches_every_time(tmp_path: Any) -> None:
    planning = Planning()
    client = HttpPlanningDirectory(
        Settings(woms_home=tmp_path, relation_cache_s=0),
        base_url="http://planning",
        transport=httpx.MockTransport(planning),
    )
    try:
        for _ in range(3):
            client.org("hanoi", DAY)
    finally:
        client.close()
    assert len(planning.requests) == 3


def test_the_evaluation_client_shares_one_fetch_per_day(settings: Settings) -> None:
    planning = Planning()
    sources = HttpSources(
        settings,
        planning_url="http://planning",
        tasks_url="http://tasks",
        transport=httpx.MockTransport(planning),
    )
    try:
        relation = sources.relation_of("hanoi", "2026-12")
        relation["mutated"] = True  # a copy: the cached answer is unchanged
        assert "mutated" not in sources.relation_of("hanoi", "2026-12")
        assert sources.relation_of("hanoi", "2026-12")["as_of"] == "2026-12-31"
        sources.relation_of("thanhhoa", "2026-12")
    finally:
        sources.close()
    assert planning.requests == [
        "/tenants/hanoi/evaluators/policy-data?as_of=2026-12-31",
        "/tenants/thanhhoa/evaluators/policy-data?as_of=2026-12-31",
    ]
