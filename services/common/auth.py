"""Bearer tokens: who is calling, for which tenant, with which roles.

Tokens are JWTs signed RS256. In embedded mode a local issuer keeps its key pair under
``$WOMS_HOME/keys/`` (created on first use) and ``woms dev token`` issues tokens; in production
the verifier is pointed at the identity provider's key (issue 9 adds JWKS and rotation).

Claims: ``iss``, ``aud`` (``woms``), ``sub`` (person code, or ``system:<name>`` for an
external system), ``tenant``, ``roles`` (list), ``iat``, ``nbf``, ``exp``.

Roles used by the policies: ``staff`` (everyone), ``tenant_admin`` (a province's
administrators), ``central`` (a central body reading across units), ``system`` (an external
system feeding key-result data).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common.settings import Settings, get_settings

ISSUER = "woms-embedded"
AUDIENCE = "woms"
ALGORITHM = "RS256"
LEEWAY_S = 30


class AuthError(Exception):
    """The token is missing, malformed, expired, or not signed by the issuer."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: ``tenant`` code, ``subject`` (person code or ``system:<name>``), roles."""

    tenant: str
    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_system(self) -> bool:
        return self.subject.startswith("system:")


def _key_paths(settings: Settings) -> tuple[Path, Path]:
    folder = settings.woms_home / "keys"
    return folder / "issuer.pem", folder / "issuer.pub.pem"


def _ensure_keys(settings: Settings) -> tuple[bytes, bytes]:
    private_path, public_path = _key_paths(settings)
    if not private_path.exists():
        private_path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        tmp = private_path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        public_path.write_bytes(public)
        tmp.replace(private_path)
    return private_path.read_bytes(), public_path.read_bytes()


def issue_token(
    tenant: str,
    subject: str,
    roles: set[str] | frozenset[str] = frozenset({"staff"}),
    *,
    ttl_s: int = 3600,
    settings: Settings | None = None,
) -> str:
    """Sign a token with the embedded issuer's key (created on first use)."""
    private, _ = _ensure_keys(settings or get_settings())
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "tenant": tenant,
        "roles": sorted(roles),
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, private, algorithm=ALGORITHM)


def verify_token(token: str, *, settings: Settings | None = None) -> Principal:
    """Check signature (RS256 only), issuer, audience, expiry and not-before.

    Raises:
        AuthError: with the reason.
    """
    _, public = _ensure_keys(settings or get_settings())
    try:
        claims = jwt.decode(
            token,
            public,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_S,
            options={"require": ["exp", "nbf", "iat", "sub", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthError(str(exc)) from exc
    tenant, roles = claims.get("tenant"), claims.get("roles", [])
    if not isinstance(tenant, str) or not isinstance(roles, list):
        raise AuthError("token lacks tenant or roles")
    return Principal(tenant=tenant, subject=str(claims["sub"]), roles=frozenset(map(str, roles)))
