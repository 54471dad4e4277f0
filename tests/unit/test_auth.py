"""Bearer tokens of the embedded issuer: accepted when genuine, refused otherwise (issue 9,
"Identity": RS256/ES256 only, issuer, audience, expiry, not-before, small clock skew, ``kid``
known; ``alg: none`` and HS/RS confusion refused)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.common import jwks
from services.common.auth import LEEWAY_S, AuthError, issue_token, verify_token
from services.common.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(woms_home=tmp_path)


def _claims(**changes: Any) -> dict[str, Any]:
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
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(settings: Settings, **changes: Any) -> str:
    """A token signed by the issuer's real signing key, with ``changes`` to the claims."""
    key = jwks.load_keyset(settings).signing_key
    return jwt.encode(
        _claims(**changes), key.private_key, algorithm=key.alg, headers={"kid": key.kid}
    )


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def test_round_trip_carries_the_signing_kid(settings: Settings) -> None:
    token = issue_token("hanoi", "P001", {"staff", "tenant_admin"}, settings=settings)
    principal = verify_token(token, settings=settings)
    assert (principal.tenant, principal.subject) == ("hanoi", "P001")
    assert principal.roles == {"staff", "tenant_admin"}
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == jwks.load_keyset(settings).signing
    assert header["kid"] in {k["kid"] for k in jwks.local_jwks(settings)["keys"]}


def test_default_lifetime_comes_from_the_settings(tmp_path: Path) -> None:
    short = Settings(woms_home=tmp_path, token_ttl_s=300)
    claims = jwt.decode(
        issue_token("hanoi", "P001", settings=short), options={"verify_signature": False}
    )
    assert claims["exp"] - claims["iat"] == 300
    explicit = issue_token("hanoi", "P001", ttl_s=42, settings=short)
    claims = jwt.decode(explicit, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 42


def test_expired_token_is_refused(settings: Settings) -> None:
    token = issue_token("hanoi", "P001", ttl_s=-120, settings=settings)
    with pytest.raises(AuthError, match="expired"):
        verify_token(token, settings=settings)


def test_clock_skew_is_small(settings: Settings) -> None:
    now = int(time.time())
    slightly_early = _signed(settings, nbf=now + LEEWAY_S - 10, iat=now)
    assert verify_token(slightly_early, settings=settings).subject == "P001"
    just_expired = _signed(settings, exp=now - LEEWAY_S + 10)
    assert verify_token(just_expired, settings=settings).subject == "P001"
    with pytest.raises(AuthError, match="not yet valid"):
        verify_token(_signed(settings, nbf=now + LEEWAY_S + 60), settings=settings)
    with pytest.raises(AuthError, match="expired"):
        verify_token(_signed(settings, exp=now - LEEWAY_S - 1), settings=settings)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "someone-else"}, "issuer"),
        ({"aud": "not-woms"}, "(?i)audience"),
        ({"aud": None}, "aud"),
        ({"nbf": None}, "nbf"),
        ({"tenant": None}, "tenant"),
    ],
)
def test_wrong_or_missing_claims_are_refused(
    settings: Settings, changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(AuthError, match=reason):
        verify_token(_signed(settings, **changes), settings=settings)


def test_tampered_claims_are_refused(settings: Settings) -> None:
    header, payload, signature = issue_token("hanoi", "P001", settings=settings).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["tenant"] = "thanhhoa"
    forged = _b64(json.dumps(claims).encode()).decode()
    with pytest.raises(AuthError, match="Signature"):
        verify_token(f"{header}.{forged}.{signature}", settings=settings)


def test_alg_none_is_refused(settings: Settings) -> None:
    kid = jwks.load_keyset(settings).signing
    unsigned = jwt.encode(_claims(), key=None, algorithm="none", headers={"kid": kid})
    with pytest.raises(AuthError, match="'none' not accepted"):
        verify_token(unsigned, settings=settings)
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    bare = (head + b"." + _b64(json.dumps(_claims()).encode()) + b".").decode()
    with pytest.raises(AuthError):
        verify_token(bare, settings=settings)


def test_hmac_signed_with_the_public_key_pem_is_refused(settings: Settings) -> None:
    """The classic RS/HS confusion: HS256 keyed with the issuer's (public) PEM, right kid."""
    kid = jwks.load_keyset(settings).signing
    public = jwt.PyJWK(jwks.local_jwks(settings)["keys"][0]).key
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (pem, pem.strip(), pem.decode().replace("\n", "").encode()):
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        body = _b64(json.dumps(_claims()).encode())
        signature = _b64(hmac.new(secret, head + b"." + body, hashlib.sha256).digest())
        with pytest.raises(AuthError, match="'HS256' not accepted"):
            verify_token((head + b"." + body + b"." + signature).decode(), settings=settings)


def test_es256_header_on_an_rsa_kid_is_refused(settings: Settings) -> None:
    kid = jwks.load_keyset(settings).signing
    attacker = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(), attacker, algorithm="ES256", headers={"kid": kid})
    with pytest.raises(AuthError, match="does not match the key"):
        verify_token(token, settings=settings)


def test_unknown_kid_is_refused(settings: Settings, tmp_path: Path) -> None:
    key = jwks.load_keyset(settings).signing_key
    renamed = jwt.encode(_claims(), key.private_key, algorithm="RS256", headers={"kid": "k-404"})
    with pytest.raises(AuthError, match="unknown kid 'k-404'"):
        verify_token(renamed, settings=settings)
    no_kid = jwt.encode(_claims(), key.private_key, algorithm="RS256")
    with pytest.raises(AuthError, match="no kid"):
        verify_token(no_kid, settings=settings)


def test_token_of_another_issuer_home_is_refused(settings: Settings, tmp_path: Path) -> None:
    other = Settings(woms_home=tmp_path / "other")
    with pytest.raises(AuthError, match="unknown kid"):
        verify_token(issue_token("hanoi", "P001", settings=other), settings=settings)


def test_garbage_is_refused(settings: Settings) -> None:
    for token in ("", "abc", "a.b.c", "e30.e30.e30"):
        with pytest.raises(AuthError):
            verify_token(token, settings=settings)
