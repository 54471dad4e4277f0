"""Bearer tokens of the embedded issuer: accepted when genuine, refused otherwise."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import jwt
import pytest

from services.common.auth import AuthError, issue_token, verify_token
from services.common.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(woms_home=tmp_path)


def test_round_trip(settings: Settings) -> None:
    token = issue_token("hanoi", "P001", {"staff", "tenant_admin"}, settings=settings)
    principal = verify_token(token, settings=settings)
    assert (principal.tenant, principal.subject) == ("hanoi", "P001")
    assert principal.roles == {"staff", "tenant_admin"}


def test_expired_token_is_refused(settings: Settings) -> None:
    token = issue_token("hanoi", "P001", ttl_s=-120, settings=settings)
    with pytest.raises(AuthError, match="expired"):
        verify_token(token, settings=settings)


def test_tampered_claims_are_refused(settings: Settings) -> None:
    header, payload, signature = issue_token("hanoi", "P001", settings=settings).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["tenant"] = "thanhhoa"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(AuthError):
        verify_token(f"{header}.{forged}.{signature}", settings=settings)


def test_alg_none_and_hmac_with_public_key_are_refused(settings: Settings) -> None:
    issue_token("hanoi", "P001", settings=settings)  # creates the key pair
    now = int(time.time())
    claims = {
        "iss": "woms-embedded",
        "aud": "woms",
        "sub": "P001",
        "tenant": "hanoi",
        "roles": ["tenant_admin"],
        "iat": now,
        "nbf": now,
        "exp": now + 60,
    }
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(AuthError):
        verify_token(unsigned, settings=settings)
    public = (settings.woms_home / "keys" / "issuer.pub.pem").read_bytes()
    confused = jwt.encode(claims, key=public.decode()[:64], algorithm="HS256")
    with pytest.raises(AuthError):
        verify_token(confused, settings=settings)


def test_token_of_another_issuer_is_refused(settings: Settings, tmp_path: Path) -> None:
    other = Settings(woms_home=tmp_path / "other")
    with pytest.raises(AuthError):
        verify_token(issue_token("hanoi", "P001", settings=other), settings=settings)
