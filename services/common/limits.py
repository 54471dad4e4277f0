"""Hostile-input guards shared by the service APIs (issue 9, "Hostile input"; ``docs/security.md``).

* **Request-body cap** (:class:`BodySizeLimit`, an ASGI middleware): a body larger than
  ``MAX_BODY_BYTES`` (default 1 MiB) is answered ``413`` before any handler reads it, whether
  the client declared a ``Content-Length`` or streamed it chunked. Upload routes (path ending
  in one of ``upload_suffixes``, e.g. the tasks service's ``/evidence``) get
  ``MAX_UPLOAD_BYTES`` (default 50 MiB); their own per-file limit is checked by the service.
* **Per-token rate limit** (:class:`RateLimiter`, consulted by
  :func:`services.common.web.principal_of` once the token is verified): keyed by the token's
  tenant and subject, in-memory storage of the ``limits`` library (sliding window counter), one
  budget per service process. Over it: ``429`` with ``Retry-After`` (whole seconds). Settings
  ``RATE_LIMIT`` (``limits`` notation, ``;``-separated, e.g. ``"20/second;600/minute"``,
  ``off`` disables) and ``RATE_LIMITS`` (JSON ``{"tasks": "…"}``, per service). The default is
  generous (``1000/second;30000/minute``) so tests and benchmarks are never throttled;
  production should set a tighter one (``docs/security.md``). Service-to-service tokens
  (subject ``system:<service>`` with role ``service``) are not limited: the requests they make
  stem from people's requests, which are.
* **Page-size caps** live with the query types :data:`services.common.web.Limit` (``limit`` ≤
  :data:`services.common.web.MAX_LIMIT`, 422 above).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.api_errors import declare_error_responses
from services.common.auth import Principal

MIB = 1024 * 1024
DEFAULT_RATE_LIMIT = "1000/second;30000/minute"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LimitSettings(BaseSettings):
    """The guards' settings, from the environment (no prefix).

    Attributes:
        max_body_bytes: largest request body in bytes (env ``MAX_BODY_BYTES``, > 0).
        max_upload_bytes: largest body of an upload route (env ``MAX_UPLOAD_BYTES``, > 0).
        rate_limit: every service's per-token limit (env ``RATE_LIMIT``; ``off`` disables).
        rate_limits: per-service overrides (env ``RATE_LIMITS``, JSON object).
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    max_body_bytes: int = Field(default=1 * MIB, gt=0)
    max_upload_bytes: int = Field(default=50 * MIB, gt=0)
    rate_limit: str = DEFAULT_RATE_LIMIT
    rate_limits: dict[str, str] = Field(default_factory=dict)

    @field_validator("rate_limit")
    @classmethod
    def _parseable(cls, value: str) -> str:
        _items(value)  # raises ValueError naming the bad part
        return value

    @field_validator("rate_limits")
    @classmethod
    def _parseable_each(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            _items(text)
        return value

    def rate_limit_of(self, service: str) -> str:
        """The limit text that applies to ``service``."""
        return self.rate_limits.get(service, self.rate_limit)


def _items(text: str) -> list[RateLimitItem]:
    """``limits`` items of ``"20/second;600/minute"``; none for ``off``/empty.

    Raises:
        ValueError: text the ``limits`` notation does not read.
    """
    if text.strip().lower() in ("", "off", "none"):
        return []
    try:
        return list(parse_many(text))
    except ValueError as exc:
        raise ValueError(f"rate limit {text!r}: {exc}") from exc


def too_large(limit: int) -> dict[str, Any]:
    """The 413 body: field ``body`` and the reason (Vietnamese / English) with the limit."""
    return {
        "detail": [
            {
                "loc": ["body"],
                "msg": (
                    f"nội dung yêu cầu vượt quá {limit} byte / request body exceeds {limit} bytes"
                ),
                "type": "body_too_large",
            }
        ]
    }


class _TooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes the cap: FastAPI answers it as the
    413 (a handler reading the body itself sees it too)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, too_large(cap)["detail"])


class BodySizeLimit:
    """ASGI middleware answering ``413`` to bodies over the cap (see the module docstring).

    Args:
        app: the wrapped ASGI application.
        max_bytes: cap of ordinary routes (bytes).
        upload_bytes: cap of routes whose path ends with one of ``upload_suffixes``.
        upload_suffixes: path endings of upload routes (e.g. ``("/evidence",)``).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_bytes: int,
        upload_suffixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes
        self.upload_suffixes = upload_suffixes

    def _cap(self, path: str) -> int:
        if self.upload_suffixes and path.rstrip("/").endswith(self.upload_suffixes):
            return self.upload_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self._cap(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > cap:
                    await _reply_413(send, cap)
                    return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise _TooLarge(cap)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if not started:
                await _reply_413(send, cap)


async def _reply_413(send: Send, cap: int) -> None:
    body = json.dumps(too_large(cap), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class RateLimiter:
    """Per-token budgets of one service (``limits``' sliding window counter, in memory).

    Attributes:
        service: the service's name (part of every key).
        items: the limits applied together (all must allow a request).
    """

    service: str
    items: list[RateLimitItem]

    def __post_init__(self) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def check(self, principal: Principal) -> None:
        """Count one request of ``principal``.

        Raises:
            HTTPException: 429 with ``Retry-After`` (seconds, ≥ 1) when a limit is spent.
        """
        if not self.items or (principal.is_system and "service" in principal.roles):
            return
        key = (self.service, principal.tenant, principal.subject)
        for item in self.items:
            if not self._limiter.hit(item, *key):
                reset = self._limiter.get_window_stats(item, *key).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                raise HTTPException(
                    429,
                    [
                        {
                            "loc": ["header", "Authorization"],
                            "msg": (
                                f"quá nhiều yêu cầu ({item}); thử lại sau {retry} giây / "
                                f"too many requests ({item}); retry after {retry} s"
                            ),
                            "type": "rate_limited",
                        }
                    ],
                    headers={"Retry-After": str(retry)},
                )


def rate_limiter_of(app: Any) -> RateLimiter | None:
    """The limiter :func:`install_limits` put on ``app`` (``None`` when not installed)."""
    state = getattr(app, "state", None)
    return getattr(state, "rate_limiter", None) if state is not None else None


def install_limits(
    app: FastAPI,
    service: str,
    *,
    upload_suffixes: tuple[str, ...] = (),
    settings: LimitSettings | None = None,
) -> None:
    """Put the body cap and the per-token rate limiter on ``service``'s ``app``, and declare
    the error answers in its OpenAPI (:mod:`services.common.api_errors`).

    Args:
        app: the service's FastAPI application (call from its ``create_app``).
        service: its name (``planning``, ``tasks``, …), selects ``RATE_LIMITS[service]``.
        upload_suffixes: path endings of upload routes, capped at ``MAX_UPLOAD_BYTES``.
        settings: default :class:`LimitSettings` from the environment.

    Raises:
        pydantic.ValidationError: a setting the guards cannot use (e.g. bad ``RATE_LIMIT``).
    """
    settings = settings or LimitSettings()
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes,
        upload_suffixes=upload_suffixes,
    )
    app.state.rate_limiter = RateLimiter(service, _items(settings.rate_limit_of(service)))
    declare_error_responses(app)  # the 4xx/5xx above are declared in the OpenAPI
