"""The four services seen from the web application: HTTP calls with the signed-in person's
bearer token (httpx), nothing imported from the services themselves.

:class:`Backend` is built per request from the app's shared :class:`httpx.Client` objects and
the token; each call returns the decoded JSON body or raises :class:`ApiError` (the service
answered 4xx/5xx: ``status`` and its ``detail``) or :class:`ServiceDown` (no answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from services.web.settings import WebSettings

SERVICES = ("planning", "tasks", "evaluation", "reporting")


class ApiError(Exception):
    """A service refused the call: HTTP ``status`` and the body's ``detail`` (or the body)."""

    def __init__(self, service: str, status: int, detail: Any) -> None:
        super().__init__(f"{service}: {status} {detail!r}")
        self.service, self.status, self.detail = service, status, detail


class ServiceDown(Exception):
    """A service did not answer (connection refused, timeout)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


def clients(settings: WebSettings) -> dict[str, httpx.Client]:
    """One pooled client per service, at the base URLs of ``settings``."""
    urls = {
        "planning": settings.planning_url,
        "tasks": settings.tasks_url,
        "evaluation": settings.evaluation_url,
        "reporting": settings.reporting_url,
    }
    return {
        name: httpx.Client(base_url=url.rstrip("/"), timeout=settings.timeout_s)
        for name, url in urls.items()
    }


@dataclass(frozen=True)
class Backend:
    """Calls under ``/tenants/{tenant}`` of each service with ``token``."""

    http: dict[str, httpx.Client]
    tenant: str
    token: str

    def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """``method`` on ``{service}/tenants/{tenant}{path}``; the JSON answer.

        Raises:
            ApiError: status ≥ 400, with the body's ``detail`` (or whole body).
            ServiceDown: the service did not answer.
        """
        try:
            answer = self.http[service].request(
                method,
                f"/tenants/{self.tenant}{path}",
                params={k: v for k, v in (params or {}).items() if v is not None},
                json=json,
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx.HTTPError as exc:
            raise ServiceDown(service, str(exc)) from exc
        if answer.status_code >= 400:
            try:
                body = answer.json()
            except ValueError:
                body = answer.text
            detail = body.get("detail", body) if isinstance(body, dict) else body
            raise ApiError(service, answer.status_code, detail)
        if not answer.content:
            return None
        return answer.json()

    def raw(self, service: str, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """A GET whose body is passed through as is (exports: Excel, PDF).

        Raises:
            ServiceDown: the service did not answer.
        """
        try:
            return self.http[service].get(
                f"/tenants/{self.tenant}{path}",
                params=params,
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx.HTTPError as exc:
            raise ServiceDown(service, str(exc)) from exc

    def upload(self, path: str, filename: str, data: bytes) -> Any:
        """``POST {tasks}/tenants/{tenant}{path}?filename=`` with the file as the body (the
        tasks service's evidence upload); the JSON answer.

        Raises:
            ApiError: the file was refused (type, size), with the service's detail.
            ServiceDown: the service did not answer.
        """
        try:
            answer = self.http["tasks"].post(
                f"/tenants/{self.tenant}{path}",
                params={"filename": filename},
                content=data,
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx.HTTPError as exc:
            raise ServiceDown("tasks", str(exc)) from exc
        if answer.status_code >= 400:
            body = (
                answer.json() if "json" in answer.headers.get("content-type", "") else answer.text
            )
            detail = body.get("detail", body) if isinstance(body, dict) else body
            raise ApiError("tasks", answer.status_code, detail)
        return answer.json()

    def get(self, service: str, path: str, **params: Any) -> Any:
        """Shortcut for a GET with query ``params``."""
        return self.call(service, "GET", path, params=params)

    def post(self, service: str, path: str, body: Any = None) -> Any:
        """Shortcut for a POST of the JSON ``body``."""
        return self.call(service, "POST", path, json=body if body is not None else {})
