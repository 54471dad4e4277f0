"""A short-lived cache of what a service fetches from planning per tenant and day.

Tasks, evaluation and reporting authorise requests with planning's evaluator relation
(``GET /tenants/{t}/evaluators/policy-data?as_of=``): fetching it on every request cost the
planning process 9–11 ms of CPU each (``docs/bench-load.md``, issue 9). A :class:`RelationCache`
keeps each answer for ``RELATION_CACHE_S`` seconds (``Settings.relation_cache_s``, default
30; ``0`` disables caching: every call fetches), keyed by ``(what, tenant, as_of day)``.

* :class:`RelationCache` — one per client object (so two clients of two planning servers never
  share answers); :meth:`RelationCache.get` returns the cached value or calls ``fetch`` once
  (concurrent callers of the same key wait for that one fetch: ``cachetools.cached`` with a
  condition), thread-safe for uvicorn's thread pool. Failed fetches are not cached.

Cached values are shared between callers and threads: treat them as read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from datetime import date
from typing import Any, TypeVar

import cachetools

from services.common.settings import get_settings

T = TypeVar("T")

DEFAULT_MAXSIZE = 1024
"""Most entries kept (tenants × days × kinds); the least recently used go first."""


def _day(as_of: date | str) -> str:
    """``as_of`` as ``YYYY-MM-DD`` (a ``date`` or an ISO date string).

    Raises:
        ValueError: when a string is not an ISO date.
    """
    return as_of.isoformat() if isinstance(as_of, date) else date.fromisoformat(as_of).isoformat()


class RelationCache:
    """Answers fetched from another service, kept ``ttl_s`` seconds per ``(kind, tenant, day)``.

    Args:
        ttl_s: seconds an answer is reused; ``None`` reads ``RELATION_CACHE_S``
            (``Settings.relation_cache_s``) now; ``0`` disables the cache.
        maxsize: most entries kept (least recently used evicted first).
        timer: the clock of the expiry, in seconds (tests pass a fake one).

    Raises:
        ValueError: when ``ttl_s`` is negative.
    """

    def __init__(
        self,
        ttl_s: float | None = None,
        *,
        maxsize: int = DEFAULT_MAXSIZE,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        ttl = get_settings().relation_cache_s if ttl_s is None else ttl_s
        if ttl < 0:
            raise ValueError(f"ttl_s must be >= 0, got {ttl}")
        self.ttl_s: float = ttl
        """Seconds an answer is reused (0: never)."""
        self._cache: cachetools.TTLCache[Hashable, Any] | None = (
            cachetools.TTLCache(maxsize=maxsize, ttl=ttl, timer=timer) if ttl > 0 else None
        )
        self._condition = threading.Condition()
        self._get: Callable[[tuple[str, str, str], Callable[[], Any]], Any]
        if self._cache is None:
            self._get = lambda _key, fetch: fetch()
        else:
            self._get = cachetools.cached(
                self._cache, key=lambda key, _fetch: key, condition=self._condition
            )(lambda _key, fetch: fetch())

    def get(self, kind: str, tenant: str, as_of: date | str, fetch: Callable[[], T]) -> T:
        """The value of ``(kind, tenant, as_of)``: cached if fetched less than ``ttl_s`` ago,
        else ``fetch()`` (then kept). ``kind`` names what is fetched (e.g. ``"policy-data"``).

        Raises:
            ValueError: when ``as_of`` is a string but not an ISO date.
            Exception: whatever ``fetch`` raises (nothing is cached then).
        """
        value: T = self._get((kind, tenant, _day(as_of)), fetch)
        return value

    def clear(self) -> None:
        """Forget every cached answer (e.g. after a known change in planning)."""
        if self._cache is not None:
            with self._condition:
                self._cache.clear()

    def __len__(self) -> int:
        """Entries held now, expired ones excluded."""
        if self._cache is None:
            return 0
        with self._condition:
            self._cache.expire()
            return len(self._cache)
