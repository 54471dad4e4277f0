"""Identity end to end (issue 9): tokens of an OIDC identity provider verified against its JWKS
fetched over HTTP (RS256 and ES256, discovery, the provider's own key rotation, refusals), and
the embedded issuer's rotation seen through the planning API and its ``/.well-known/jwks.json``.

The identity provider is a real HTTP server on loopback publishing an OpenID configuration and
a JWK Set, standing in for Keycloak (no Keycloak on this machine); the verifier uses PyJWT's
``PyJWKClient`` against it exactly as against Keycloak's ``.../protocol/openid-connect/certs``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from services.common import auth, jwks
from services.common.auth import (
    AuthError,
    IdentityProviderUnavailable,
    issue_token,
    verify_token,
)
from services.common.db import dispose_engines
from services.common.settings import Settings, get_settings
from services.planning.api import create_app
from woms.onboarding import onboard

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "tenant_mini.yaml"

pytestmark = pytest.mark.integration


class Provider:
    """A loopback OIDC provider: ``/realms/hanoi/.well-known/openid-configuration`` and
    ``/realms/hanoi/certs``; keys can be added (rotation) and JWKS fetches are counted."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, Any]] = {}
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path.endswith("/.well-known/openid-configuration"):
                    body = {"issuer": provider.issuer, "jwks_uri": provider.jwks_url}
                elif path.endswith("/certs"):
                    provider.fetches += 1
                    body = {"keys": [provider.public(kid) for kid in provider.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = f"{base}/realms/hanoi"
        self.jwks_url = f"{self.issuer}/certs"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add_key(self, kid: str, alg: str) -> None:
        if alg == "RS256":
            self.keys[kid] = (alg, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        else:
            self.keys[kid] = (alg, ec.generate_private_key(ec.SECP256R1()))

    def public(self, kid: str) -> dict[str, Any]:
        alg, key = self.keys[kid]
        maker = RSAAlgorithm if alg == "RS256" else ECAlgorithm
        return {**maker.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}

    def token(self, kid: str, *, alg: str | None = None, **changes: Any) -> str:
        """A Keycloak-like access token (no ``nbf``; person code in ``preferred_username``)."""
        key_alg, key = self.keys[kid]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": ["woms", "account"],
            "sub": "8d5c0e7a-0000-4000-8000-000000000001",
            "preferred_username": "P001",
            "tenant": "hanoi",
            "roles": ["staff"],
            "iat": now,
            "exp": now + 300,
        }
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key, algorithm=alg or key_alg, headers={"kid": kid})


@pytest.fixture
def provider() -> Iterator[Provider]:
    idp = Provider()
    idp.add_key("rsa-1", "RS256")
    idp.add_key("ec-1", "ES256")
    idp.thread.start()
    yield idp
    idp.server.shutdown()
    idp.server.server_close()


@pytest.fixture
def oidc(provider: Provider, tmp_path: Path) -> Settings:
    return Settings(
        woms_home=tmp_path,
        oidc_issuer=provider.issuer,
        oidc_jwks_url=provider.jwks_url,
        oidc_subject_claim="preferred_username",
    )


def test_provider_tokens_rs256_and_es256(provider: Provider, oidc: Settings) -> None:
    for kid in ("rsa-1", "ec-1"):
        principal = verify_token(provider.token(kid, roles=["staff", "central"]), settings=oidc)
        assert (principal.tenant, principal.subject) == ("hanoi", "P001")
        assert principal.roles == {"staff", "central"}
    fetched = provider.fetches
    for _ in range(5):
        verify_token(provider.token("rsa-1"), settings=oidc)
    assert provider.fetches == fetched  # the JWKS is cached, not fetched per request


def test_discovery_finds_the_jwks(provider: Provider, tmp_path: Path) -> None:
    settings = Settings(
        woms_home=tmp_path, oidc_issuer=provider.issuer, oidc_subject_claim="preferred_username"
    )
    assert verify_token(provider.token("ec-1"), settings=settings).subject == "P001"


def test_provider_rotation_needs_no_restart(
    provider: Provider, oidc: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "JWKS_REFETCH_COOLDOWN_S", 0.5)  # 5 s in production
    assert verify_token(provider.token("rsa-1"), settings=oidc).subject == "P001"
    fetched = provider.fetches
    provider.add_key("rsa-2", "RS256")  # the provider rotates: a new kid appears
    with pytest.raises(AuthError, match="rsa-2"):  # within the cooldown: not fetched again
        verify_token(provider.token("rsa-2"), settings=oidc)
    assert provider.fetches == fetched
    time.sleep(0.6)
    assert verify_token(provider.token("rsa-2"), settings=oidc).subject == "P001"
    assert provider.fetches == fetched + 1  # the unknown kid made the client fetch again
    assert verify_token(provider.token("rsa-1"), settings=oidc).subject == "P001"
    provider.keys["rsa-9"] = provider.keys["rsa-2"]
    unpublished = provider.token("rsa-9")
    del provider.keys["rsa-9"]
    with pytest.raises(AuthError, match="rsa-9"):
        verify_token(unpublished, settings=oidc)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://evil.example/realms/hanoi"}, "unknown issuer"),
        ({"aud": "account"}, "(?i)audience"),
        ({"exp": int(time.time()) - 600}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not yet valid"),
        ({"tenant": None}, "tenant"),
        ({"preferred_username": None}, "preferred_username"),
    ],
)
def test_provider_tokens_refused(
    provider: Provider, oidc: Settings, changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(AuthError, match=reason):
        verify_token(provider.token("rsa-1", **changes), settings=oidc)


def test_provider_kid_and_algorithm_refusals(provider: Provider, oidc: Settings) -> None:
    provider.keys["ghost"] = provider.keys["rsa-1"]
    ghost = provider.token("ghost")
    del provider.keys["ghost"]
    with pytest.raises(AuthError, match="ghost"):
        verify_token(ghost, settings=oidc)
    # an ES256 header naming the RSA key, signed by an attacker's EC key
    alg, attacker = "ES256", ec.generate_private_key(ec.SECP256R1())
    claims = jwt.decode(provider.token("rsa-1"), options={"verify_signature": False})
    forged = jwt.encode(claims, attacker, algorithm=alg, headers={"kid": "rsa-1"})
    with pytest.raises(AuthError, match="does not match"):
        verify_token(forged, settings=oidc)
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "rsa-1"})
    with pytest.raises(AuthError, match="not accepted"):
        verify_token(unsigned, settings=oidc)


def test_embedded_tokens_are_for_services_once_oidc_is_set(oidc: Settings) -> None:
    service = issue_token("hanoi", "system:tasks", {"service"}, settings=oidc)
    assert verify_token(service, settings=oidc).subject == "system:tasks"
    person = issue_token("hanoi", "P001", {"tenant_admin"}, settings=oidc)
    with pytest.raises(AuthError, match="services only"):
        verify_token(person, settings=oidc)


def test_provider_down_is_reported_as_such(provider: Provider, tmp_path: Path) -> None:
    token = provider.token("rsa-1")
    provider.server.shutdown()
    provider.server.server_close()
    settings = Settings(
        woms_home=tmp_path,
        oidc_issuer=provider.issuer,
        oidc_jwks_url=provider.jwks_url + "?fresh",  # a client that never fetched
        oidc_subject_claim="preferred_username",
    )
    with pytest.raises(IdentityProviderUnavailable):
        verify_token(token, settings=settings)


# --- the embedded issuer through the planning API --------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for name in ("OIDC_ISSUER", "OIDC_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    dispose_engines()
    onboard(MINI, infrastructure=False)
    yield tmp_path
    dispose_engines()
    get_settings.cache_clear()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_rotation_without_downtime_through_the_planning_api(home: Path) -> None:
    client = TestClient(create_app())
    before = issue_token("mini", "P03")
    old_kid = jwt.get_unverified_header(before)["kid"]
    assert client.get("/tenants/mini/units", headers=_bearer(before)).status_code == 200
    served = client.get("/.well-known/jwks.json")
    assert served.status_code == 200 and "max-age" in served.headers["cache-control"]
    assert [k["kid"] for k in served.json()["keys"]] == [old_kid]

    new = jwks.rotate(alg="ES256")
    after = issue_token("mini", "P03")
    assert jwt.get_unverified_header(after)["kid"] == new.kid
    for token in (before, after):  # the running app takes both, without a restart
        assert client.get("/tenants/mini/units", headers=_bearer(token)).status_code == 200
    served_kids = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert served_kids == {old_kid, new.kid}

    assert jwks.retire(older_than=timedelta(0), now=datetime.now(UTC) + timedelta(seconds=1)) == [
        old_kid
    ]
    refused = client.get("/tenants/mini/units", headers=_bearer(before))
    assert refused.status_code == 401 and "unknown kid" in refused.json()["detail"]
    assert client.get("/tenants/mini/units", headers=_bearer(after)).status_code == 200
    assert [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]] == [new.kid]


def test_planning_jwks_serves_a_pyjwkclient_over_http(home: Path) -> None:
    """The served document is a JWK Set a standard client (PyJWKClient) verifies with."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        port = server.servers[0].sockets[0].getsockname()[1]
        jwks.rotate(alg="ES256")
        token = issue_token("mini", "system:tasks", {"service"})
        client = jwt.PyJWKClient(f"http://127.0.0.1:{port}/.well-known/jwks.json")
        key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["ES256"], audience="woms")
        assert claims["sub"] == "system:tasks" and len(client.get_signing_keys()) == 2
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_provider_down_answers_503_not_401(
    home: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = provider.token("rsa-1", tenant="mini", preferred_username="P03")
    client = TestClient(create_app())
    monkeypatch.setenv("OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("OIDC_JWKS_URL", provider.jwks_url + "?api")
    monkeypatch.setenv("OIDC_SUBJECT_CLAIM", "preferred_username")
    get_settings.cache_clear()
    first = client.get("/tenants/mini/units", headers=_bearer(token))
    assert first.status_code == 200, first.text
    provider.server.shutdown()
    provider.server.server_close()
    fresh = provider.token("rsa-1", tenant="mini", preferred_username="P03")
    monkeypatch.setenv("OIDC_JWKS_URL", provider.jwks_url + "?api-after")  # nothing cached
    get_settings.cache_clear()
    answer = client.get("/tenants/mini/units", headers=_bearer(fresh))
    assert answer.status_code == 503 and "định danh" in answer.json()["detail"]


# --- roles come from planning, not from the token (issue 9) ---------------------------------


@pytest.fixture
def stack(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, TestClient]]:
    """``mini`` onboarded; planning served over HTTP (uvicorn); the four apps under test, each
    reading its callers' roles from that planning as in production (``PLANNING_URL``)."""
    from services.evaluation.api import create_app as evaluation_app
    from services.evaluation.clients import HttpSources
    from services.evaluation.signals import CycleGateway
    from services.reporting.api import HttpRelations
    from services.reporting.api import create_app as reporting_app
    from services.tasks.api import create_app as tasks_app
    from tests.evaluation_service.evaluation_api_stack import closed_address, served

    with served(create_app()) as planning_url:
        monkeypatch.setenv("PLANNING_URL", planning_url)
        get_settings.cache_clear()
        apps = {
            "planning": create_app(),
            "tasks": tasks_app(),
            "evaluation": evaluation_app(
                sources=HttpSources(planning_url=planning_url),
                cycle_gateway=CycleGateway(closed_address(), timeout_s=1),
            ),
            "reporting": reporting_app(HttpRelations()),
        }
        yield {name: TestClient(app) for name, app in apps.items()}


ADMIN_CALLS = {
    "planning": ("GET", "/tenants/mini/roles"),
    "tasks": ("POST", "/tenants/mini/overdue-sweep"),
    "evaluation": ("GET", "/tenants/mini/cycles/2026-06"),
    "reporting": ("GET", "/tenants/mini/reports/tasks?period=2026-06"),
}
"""One call per service that only a tenant administrator may make."""


def _call(client: TestClient, service: str, token: str) -> int:
    method, url = ADMIN_CALLS[service]
    return client.request(method, url, headers=_bearer(token)).status_code


@pytest.mark.parametrize("service", sorted(ADMIN_CALLS))
def test_a_claimed_role_is_not_believed_a_granted_one_is(
    stack: dict[str, TestClient], service: str
) -> None:
    """P03 (a person of mini, granted nothing) claims ``tenant_admin`` in the token: 403 where
    ``admin`` (granted tenant_admin in the tenant file, token claiming nothing) gets 200."""
    client = stack[service]
    claimed = issue_token("mini", "P03", {"staff", "tenant_admin", "central"})
    assert _call(client, service, claimed) == 403
    assert _call(client, service, issue_token("mini", "admin")) == 200
    # a service token keeps its own role (the overdue sweep of the cycle)
    if service == "tasks":
        assert _call(client, service, issue_token("mini", "system:cycle", {"service"})) == 200


def test_planning_serves_the_grants_of_the_tenant_file(stack: dict[str, TestClient]) -> None:
    grants = stack["planning"].get(
        "/tenants/mini/roles", headers=_bearer(issue_token("mini", "system:tasks", {"service"}))
    )
    assert grants.status_code == 200
    assert grants.json() == {"A1": ["tenant_admin"], "C1": ["central"], "admin": ["tenant_admin"]}


def _grant(text: str, grant: str, folder: Path) -> Path:
    path = folder / "tenant.yaml"
    path.write_text(text.replace("role_grants:\n", f"role_grants:\n  - {grant}\n"), "utf-8")
    return path


def test_a_new_grant_takes_effect_after_the_cache_time(
    stack: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Evaluation reads the grants through planning's API, kept per (tenant, day) for
    ``RELATION_CACHE_S``: with a cache the grant is seen once it is cleared (expired); with
    ``RELATION_CACHE_S=0`` at once."""
    evaluation = stack["evaluation"]
    person = issue_token("mini", "P04")  # head of PA-UB, not an administrator
    assert _call(evaluation, "evaluation", person) == 403  # cached: P04 has no grant
    text = MINI.read_text(encoding="utf-8")
    onboard(_grant(text, "{subject: P04, role: tenant_admin}", tmp_path), infrastructure=False)
    assert _call(evaluation, "evaluation", person) == 403  # still the cached answer
    evaluation.app.state.role_grants.clear()  # what the TTL does after RELATION_CACHE_S
    assert _call(evaluation, "evaluation", person) == 200

    monkeypatch.setenv("RELATION_CACHE_S", "0")
    get_settings.cache_clear()
    other = issue_token("mini", "P05")
    assert _call(evaluation, "evaluation", other) == 403
    grant = "{subject: P05, role: tenant_admin, start: 2026-01-01, end: 2099-12-31}"
    onboard(_grant(text, grant, tmp_path), infrastructure=False)
    assert _call(evaluation, "evaluation", other) == 200  # no cache: at once
