"""The demo's actors on the public HTTP APIs: one client per service, bearer tokens from the
embedded issuer (:func:`services.common.auth.issue_token`), one person per call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from services.common.auth import issue_token
from services.common.settings import Settings


class DemoError(RuntimeError):
    """An API answered something the demo did not expect (the message has the answer;
    ``status`` the HTTP status when there was one)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Clock:
    """The tasks API's ``today`` during the played month (its clock dependency), moved by the
    demo from the first day of the month to its end; ``None`` means the real date."""

    day: date | None = None

    def __call__(self) -> date:
        return self.day or date.today()


class Api:
    """Calls to the four services as a given person of ``tenant``.

    Args:
        urls: base URL per service name (``planning``, ``tasks``, ``evaluation``, ``reporting``).
        tenant: the tenant code every token is issued for.
        settings: whose ``woms_home`` holds the embedded issuer's keys.
    """

    def __init__(
        self, urls: dict[str, str], tenant: str, settings: Settings, timeout_s: float = 30.0
    ) -> None:
        self.tenant = tenant
        self.settings = settings
        self._clients = {
            name: httpx.Client(base_url=url, timeout=timeout_s) for name, url in urls.items()
        }
        self._tokens: dict[tuple[str, frozenset[str]], str] = {}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def headers(self, who: str, *roles: str) -> dict[str, str]:
        """Bearer header of ``who`` (role ``staff`` unless ``roles`` are given)."""
        key = (who, frozenset(roles or ("staff",)))
        if key not in self._tokens:
            self._tokens[key] = issue_token(
                self.tenant, who, set(key[1]), ttl_s=4 * 3600, settings=self.settings
            )
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    def call(
        self,
        service: str,
        method: str,
        path: str,
        who: str,
        *roles: str,
        expect: tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> Any:
        """``method`` on ``/tenants/<tenant><path>`` of ``service`` as ``who``.

        Returns:
            the decoded JSON answer (``None`` for an empty body).

        Raises:
            DemoError: the status is not in ``expect``.
        """
        url = f"/tenants/{self.tenant}{path}"
        answer = self._clients[service].request(
            method, url, headers=self.headers(who, *roles), **kwargs
        )
        if answer.status_code not in expect:
            raise DemoError(
                f"{method} {service}{url} as {who}: {answer.status_code} {answer.text}",
                answer.status_code,
            )
        if not answer.content:
            return None
        return answer.json()

    def status(self, service: str, method: str, path: str, who: str, **kwargs: Any) -> int:
        """Only the status code of a call (for refusals the demo shows)."""
        url = f"/tenants/{self.tenant}{path}"
        answer = self._clients[service].request(method, url, headers=self.headers(who), **kwargs)
        return answer.status_code
