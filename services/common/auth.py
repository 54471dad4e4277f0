"""Bearer tokens: who is calling, for which tenant, with which roles.

Tokens are JWTs signed ``RS256`` or ``ES256`` whose header names the signing key (``kid``).

* **Embedded issuer** (always present): :func:`issue_token` signs with the signing key of the
  local key set under ``$WOMS_HOME/keys/`` (:mod:`services.common.jwks`: several keys, rotation
  with ``woms dev keys rotate``, removal with ``woms dev keys retire``); the verifier looks the
  ``kid`` up in the local JWKS. Services use it for their own calls (``system:<service>``).
* **OIDC issuer** (production, settings ``OIDC_ISSUER``, ``OIDC_JWKS_URL`` or OIDC discovery,
  ``OIDC_AUDIENCE``, ``OIDC_SUBJECT_CLAIM``): people's tokens come from the identity provider
  (e.g. Keycloak federating VNeID, ``docs/identity.md``) and are checked against its JWKS,
  fetched and cached by PyJWT's ``PyJWKClient`` (refetched once on an unknown ``kid``, so the
  provider's rotation needs no restart). With an OIDC issuer configured the embedded issuer's
  tokens are accepted for ``system:`` subjects only.

Every token is checked for: an accepted algorithm (``RS256``/``ES256``, equal to the key's —
``alg: none`` and HMAC with a public key as secret are refused), a known ``kid``, the issuer,
the audience, ``exp`` and ``nbf`` with a clock skew of :data:`LEEWAY_S` seconds.

Claims: ``iss``, ``aud`` (``woms``), ``sub`` (person code, or ``system:<name>`` for an
external system or a service), ``tenant``, ``roles`` (list), ``iat``, ``nbf``, ``exp``.

Roles used by the policies: ``staff`` (everyone), ``tenant_admin`` (a province's
administrators), ``central`` (a central body reading across units), ``system`` (an external
system feeding key-result data), ``service`` (another WOMS service). The ``roles`` claim is
what the token says; the APIs do not act on it as such: :mod:`services.common.roles` replaces
a person's roles with ``staff`` + planning's grants and keeps only ``service`` / ``system``
of a ``system:`` subject's token (``docs/identity.md``).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient

from services.common import jwks
from services.common.settings import Settings, get_settings

ISSUER = "woms-embedded"
AUDIENCE = "woms"
ALGORITHM = "RS256"
"""Algorithm of a new key set's first key (``woms dev keys rotate --alg`` may choose ES256)."""
ALGORITHMS = jwks.ALGORITHMS
LEEWAY_S = 30
"""Clock skew tolerated on ``exp``, ``nbf`` and ``iat`` (seconds)."""

JWKS_CACHE_S = 300
"""How long a fetched OIDC JWKS is reused before it is fetched again (seconds)."""
JWKS_REFETCH_COOLDOWN_S = 5.0
"""An unknown ``kid`` makes the client fetch the JWKS again, at most once per this many seconds
(a flood of forged kids cannot hammer the provider; a provider's new key is picked up within it)."""
FETCH_TIMEOUT_S = 5.0

_EMBEDDED_REQUIRED = ["exp", "nbf", "iat", "sub", "aud", "iss"]
_OIDC_REQUIRED = ["exp", "iat", "aud", "iss"]  # Keycloak omits nbf; checked when present


class AuthError(Exception):
    """The token is missing, malformed, expired, or not signed by a trusted issuer.

    Its message goes into the 401 answer (``services.common.web``): it never carries more of
    the caller's token than :func:`shown` lets through."""


_SHOWN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/+=-")
MAX_SHOWN = 64
"""Longest token header or claim value an :class:`AuthError` message repeats (characters)."""
MAX_MESSAGE = 200
"""Longest message of a PyJWT error repeated in an :class:`AuthError` (characters)."""


def shown(value: object) -> str:
    """``repr(value)`` when it is a short plain string (at most :data:`MAX_SHOWN` characters
    of letters, digits and ``._:/+=-``: a real ``kid``, ``alg`` or issuer URL), else a
    description that repeats none of it (``<a string of 5000 characters, not shown>``) — a
    401 never echoes attacker input (issue 15)."""
    if isinstance(value, str) and len(value) <= MAX_SHOWN and set(value) <= _SHOWN_CHARS:
        return repr(value)
    if isinstance(value, str):
        return f"<a string of {len(value)} characters, not shown>"
    return f"<a {type(value).__name__}, not shown>"


def _jwt_reason(exc: Exception) -> str:
    """A PyJWT error's message when it is short plain text, else its class name."""
    text = str(exc)
    if len(text) <= MAX_MESSAGE and text.isprintable() and text.isascii():
        return text
    return type(exc).__name__


class IdentityProviderUnavailable(AuthError):
    """The OIDC issuer's JWKS (or discovery document) could not be fetched."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: ``tenant`` code, ``subject`` (person code or ``system:<name>``), roles."""

    tenant: str
    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_system(self) -> bool:
        return self.subject.startswith("system:")


def issue_token(
    tenant: str,
    subject: str,
    roles: set[str] | frozenset[str] = frozenset({"staff"}),
    *,
    ttl_s: int | None = None,
    settings: Settings | None = None,
) -> str:
    """Sign a token with the embedded issuer's signing key (the key set is created on first
    use); its header carries the key's ``kid``. ``ttl_s`` defaults to ``TOKEN_TTL_S``.

    Raises:
        services.common.jwks.KeySetError: the key set cannot be read or created.
    """
    settings = settings or get_settings()
    key = jwks.load_keyset(settings).signing_key
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "tenant": tenant,
        "roles": sorted(roles),
        "iat": now,
        "nbf": now,
        "exp": now + (settings.token_ttl_s if ttl_s is None else ttl_s),
    }
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid})


def verify_token(token: str, *, settings: Settings | None = None) -> Principal:
    """Check the signature against the issuer's JWKS, then issuer, audience, expiry and
    not-before; see the module docstring for which issuer is trusted for what.

    Raises:
        AuthError: with the reason (:class:`IdentityProviderUnavailable` when the OIDC
            issuer's keys cannot be fetched).
    """
    settings = settings or get_settings()
    try:  # parsing is not free (PyJWT checks each character): once here, once verified
        if settings.oidc_issuer is None:
            header, issuer = jwt.get_unverified_header(token), ISSUER  # checked when verified
        else:
            unverified = jwt.decode_complete(token, options={"verify_signature": False})
            header, issuer = unverified["header"], unverified["payload"].get("iss")
    except jwt.PyJWTError as exc:
        raise AuthError(_jwt_reason(exc)) from exc
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALGORITHMS:
        raise AuthError(f"algorithm {shown(alg)} not accepted")
    if kid is not None and not isinstance(kid, str):
        raise AuthError("kid must be a string")
    if settings.oidc_issuer is not None and issuer == settings.oidc_issuer:
        return _verify_oidc(token, alg, kid, settings)
    if issuer != ISSUER:
        raise AuthError(f"unknown issuer {shown(issuer)}")
    principal = _verify_embedded(token, alg, kid, settings)
    if settings.oidc_issuer is not None and not principal.is_system:
        raise AuthError("embedded issuer's tokens are for services only when OIDC_ISSUER is set")
    return principal


def _decode(
    token: str, key: PyJWK, alg: str, *, issuer: str, audience: str, require: list[str]
) -> dict[str, Any]:
    """Verify with ``key`` only under the key's own algorithm (no RS/HS/ES confusion)."""
    if key.algorithm_name != alg:
        raise AuthError(f"algorithm {alg} does not match the key ({key.algorithm_name})")
    try:
        return jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_S,
            options={"require": require},
        )
    except jwt.PyJWTError as exc:
        raise AuthError(_jwt_reason(exc)) from exc


def _principal(claims: dict[str, Any], subject_claim: str) -> Principal:
    tenant, roles, subject = (
        claims.get("tenant"),
        claims.get("roles", []),
        claims.get(subject_claim),
    )
    if not isinstance(tenant, str) or not isinstance(roles, list):
        raise AuthError("token lacks tenant or roles")
    if not isinstance(subject, str) or not subject:
        raise AuthError(f"token lacks {subject_claim}")
    return Principal(tenant=tenant, subject=subject, roles=frozenset(map(str, roles)))


def _verify_embedded(token: str, alg: str, kid: str | None, settings: Settings) -> Principal:
    try:
        key = jwks.local_key(kid, settings)
    except jwks.KeySetError as exc:  # our own key files: no caller input in the message
        raise AuthError(str(exc)) from exc
    if key is None:
        raise AuthError(f"unknown kid {shown(kid)}" if kid is not None else "token has no kid")
    claims = _decode(token, key, alg, issuer=ISSUER, audience=AUDIENCE, require=_EMBEDDED_REQUIRED)
    return _principal(claims, "sub")


_clients: dict[str, PyJWKClient] = {}
_discovered: dict[str, str] = {}
_clients_lock = threading.Lock()


def _jwks_url(settings: Settings) -> str:
    """``OIDC_JWKS_URL``, or the ``jwks_uri`` of ``<OIDC_ISSUER>/.well-known/openid-configuration``
    (OpenID Connect Discovery 1.0 §4), fetched once per process."""
    if settings.oidc_jwks_url is not None:
        return settings.oidc_jwks_url
    issuer = str(settings.oidc_issuer)
    with _clients_lock:
        if issuer in _discovered:
            return _discovered[issuer]
    where = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(where, timeout=FETCH_TIMEOUT_S) as answer:
            uri = json.load(answer).get("jwks_uri")
    except (OSError, ValueError) as exc:
        raise IdentityProviderUnavailable(f"OIDC discovery at {where} failed: {exc}") from exc
    if not isinstance(uri, str):
        raise IdentityProviderUnavailable(f"{where} names no jwks_uri")
    with _clients_lock:
        _discovered[issuer] = uri
    return uri


def _client(url: str) -> PyJWKClient:
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = PyJWKClient(
                url,
                cache_keys=True,
                lifespan=JWKS_CACHE_S,
                timeout=FETCH_TIMEOUT_S,
                cooldown_duration=JWKS_REFETCH_COOLDOWN_S,
            )
        return client


def _verify_oidc(token: str, alg: str, kid: str | None, settings: Settings) -> Principal:
    try:
        key = _client(_jwks_url(settings)).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as exc:
        raise IdentityProviderUnavailable(str(exc)) from exc
    except jwt.PyJWKClientError as exc:  # PyJWT's message repeats the kid: not ours
        if kid is not None and "matches" in str(exc):
            raise AuthError(f"unknown kid {shown(kid)}") from exc
        raise AuthError(_jwt_reason(exc)) from exc
    except jwt.PyJWTError as exc:  # bad JWKS
        raise AuthError(_jwt_reason(exc)) from exc
    claims = _decode(
        token,
        key,
        alg,
        issuer=str(settings.oidc_issuer),
        audience=settings.oidc_audience,
        require=_OIDC_REQUIRED,
    )
    return _principal(claims, settings.oidc_subject_claim)
