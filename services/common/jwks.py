"""The embedded issuer's key set: several signing keys with a ``kid``, rotation, retirement.

Files under ``$WOMS_HOME/keys/``:

* ``keyset.json`` (mode 0600, private): ``{"signing": kid, "keys": [{"kid", "alg", "created",
  "superseded", "legacy", "private_pem"}]}`` — the key that signs new tokens and the previous
  keys kept for verification;
* ``jwks.json`` (public): the JSON Web Key Set (RFC 7517 §5) of those keys, read by the
  verifier (:func:`local_jwks`) and served at ``GET /.well-known/jwks.json`` (:data:`router`);
* ``issuer.pem`` / ``issuer.pub.pem``: the single key pair of earlier versions. When there is
  no ``keyset.json`` the pair is migrated into a key set, with a ``kid`` that is its RFC 7638
  thumbprint, marked ``legacy`` (tokens without a ``kid`` header were signed by it). On a
  read-only folder (the ``woms-token-keys`` Secret of ``infra/k8s``) the migration stays in
  memory: every process derives the same ``kid``.

Rotation without downtime (:func:`rotate`): the new key is published in ``jwks.json`` *before*
``keyset.json`` makes it the signing key, so no verifier meets a ``kid`` it cannot find; the
previous keys stay in the set, stamped ``superseded``, until :func:`retire` removes them (once
every token they signed has expired). Readers notice a changed file by its ``stat`` (no restart).

Algorithms: ``RS256`` (RSA 2048) and ``ES256`` (P-256).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from services.common.settings import Settings, get_settings

ALGORITHMS = ("RS256", "ES256")
"""Signature algorithms of the embedded issuer (and of an OIDC issuer's keys)."""

KEYSET_FILE = "keyset.json"
JWKS_FILE = "jwks.json"
LEGACY_PRIVATE = "issuer.pem"
LEGACY_PUBLIC = "issuer.pub.pem"

_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class KeySetError(RuntimeError):
    """The key set cannot be read, written or changed as asked (message says why)."""


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3 thumbprint of a public JWK: base64url (no padding) of the SHA-256 of the
    required members (RSA: e, kty, n; EC: crv, kty, x, y) as compact, key-sorted JSON.

    Raises:
        KeySetError: on a key type other than RSA or EC.
    """
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty", ""))
    if members is None:
        raise KeySetError(f"unsupported key type {jwk.get('kty')!r}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@lru_cache(maxsize=64)
def _load_private(pem: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeySetError("issuer key is neither RSA nor EC")
    return key


def _public_jwk(key: PrivateKey) -> dict[str, Any]:
    """The public members only (``key_ops`` dropped: ``use`` says it, RFC 7517 §4.3)."""
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = dict(RSAAlgorithm.to_jwk(key.public_key(), as_dict=True))
    else:
        jwk = dict(ECAlgorithm.to_jwk(key.public_key(), as_dict=True))
    jwk.pop("key_ops", None)
    return jwk


def _algorithm_of(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise KeySetError(f"unsupported curve {key.curve.name}")


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """One key of the set: ``kid`` (RFC 7638 thumbprint), ``alg`` (RS256 | ES256), when it
    was ``created`` and ``superseded`` (a newer key became the signing key; UTC), ``legacy``
    (migrated from ``issuer.pem``: also verifies tokens without ``kid``), the PKCS#8 PEM."""

    kid: str
    alg: str
    created: datetime
    private_pem: bytes
    superseded: datetime | None = None
    legacy: bool = False

    @property
    def private_key(self) -> PrivateKey:
        """The key object (parsed once per PEM)."""
        return _load_private(self.private_pem)

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK with ``kid``, ``alg`` and ``use: sig``."""
        return {**_public_jwk(self.private_key), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "alg": self.alg,
            "created": self.created.isoformat(),
            "superseded": self.superseded.isoformat() if self.superseded else None,
            "legacy": self.legacy,
            "private_pem": self.private_pem.decode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IssuerKey:
        superseded = data.get("superseded")
        return cls(
            kid=str(data["kid"]),
            alg=str(data["alg"]),
            created=datetime.fromisoformat(data["created"]),
            private_pem=str(data["private_pem"]).encode(),
            superseded=datetime.fromisoformat(superseded) if superseded else None,
            legacy=bool(data.get("legacy", False)),
        )


def _from_private(key: PrivateKey, now: datetime, *, legacy: bool = False) -> IssuerKey:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return IssuerKey(thumbprint(_public_jwk(key)), _algorithm_of(key), now, pem, legacy=legacy)


def generate_key(alg: str = "RS256", *, now: datetime | None = None) -> IssuerKey:
    """A fresh key: RSA 2048 for ``RS256``, P-256 for ``ES256``.

    Raises:
        KeySetError: on another algorithm.
    """
    if alg == "RS256":
        key: PrivateKey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise KeySetError(f"algorithm {alg!r} not supported (use one of {', '.join(ALGORITHMS)})")
    return _from_private(key, now or datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class KeySet:
    """The issuer's keys, oldest first, and the ``kid`` of the one signing new tokens."""

    signing: str
    keys: tuple[IssuerKey, ...]

    @property
    def signing_key(self) -> IssuerKey:
        return next(k for k in self.keys if k.kid == self.signing)

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set (RFC 7517 §5): ``{"keys": [...]}`` plus ``woms_legacy_kid`` when a key
        was migrated from ``issuer.pem`` (unknown members are ignored by other readers)."""
        jwks: dict[str, Any] = {"keys": [k.public_jwk() for k in self.keys]}
        legacy = [k.kid for k in self.keys if k.legacy]
        if legacy:
            jwks["woms_legacy_kid"] = legacy[0]
        return jwks

    def to_json(self) -> dict[str, Any]:
        return {"signing": self.signing, "keys": [k.to_json() for k in self.keys]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeySet:
        keys = tuple(IssuerKey.from_json(k) for k in data["keys"])
        if data["signing"] not in {k.kid for k in keys}:
            raise KeySetError("signing kid is not in the key set")
        return cls(signing=str(data["signing"]), keys=keys)


def keys_folder(settings: Settings) -> Path:
    """``$WOMS_HOME/keys``."""
    return settings.woms_home / "keys"


# --- reading, cached by the files' stat ---------------------------------------------------

_cache: dict[tuple[str, Path], tuple[tuple[int, int, int], Any]] = {}
_cache_lock = threading.Lock()


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _cached(kind: str, path: Path, build: Any) -> Any:
    """``build(path)`` once per version of ``path`` (its mtime, size, inode); None if absent."""
    stat = _stat_key(path)
    if stat is None:
        return None
    with _cache_lock:
        hit = _cache.get((kind, path))
        if hit is not None and hit[0] == stat:
            return hit[1]
    value = build(path)
    with _cache_lock:
        _cache[(kind, path)] = (stat, value)
    return value


def _read_keyset(path: Path) -> KeySet:
    try:
        return KeySet.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise KeySetError(f"{path}: invalid key set ({exc})") from exc


def _read_legacy(path: Path) -> KeySet:
    key = _load_private(path.read_bytes())
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    migrated = _from_private(key, mtime, legacy=True)
    return KeySet(signing=migrated.kid, keys=(migrated,))


def _read_jwks(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise KeySetError(f"{path}: invalid JWKS ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise KeySetError(f"{path}: a JWKS needs a 'keys' list")
    return data


# --- writing --------------------------------------------------------------------------------


def _write_atomic(path: Path, data: dict[str, Any], mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_held = threading.local()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock across processes and threads on ``folder/.lock`` (creation, rotation);
    re-entrant within a thread."""
    held: set[Path] = _held.__dict__.setdefault("folders", set())
    if folder in held:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        held.add(folder)
        try:
            yield
        finally:
            held.discard(folder)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _save(folder: Path, keyset: KeySet, *, publish_first: bool) -> None:
    """Write both files; ``publish_first`` writes ``jwks.json`` before ``keyset.json`` (a new
    signing key is verifiable before it signs), else after (a removed key stops signing first)."""
    if publish_first:
        _write_atomic(folder / JWKS_FILE, keyset.public_jwks(), 0o644)
    _write_atomic(folder / KEYSET_FILE, keyset.to_json(), 0o600)
    if not publish_first:
        _write_atomic(folder / JWKS_FILE, keyset.public_jwks(), 0o644)


def load_keyset(settings: Settings | None = None, *, create: bool = True) -> KeySet:
    """The key set of ``$WOMS_HOME/keys``: ``keyset.json``; else ``issuer.pem`` migrated (files
    written when the folder is writable, else kept in memory); else, with ``create``, a new set
    of one RS256 key.

    Raises:
        KeySetError: no key set and ``create`` is false, or the files are invalid or unwritable.
    """
    folder = keys_folder(settings or get_settings())
    found = _cached("keyset", folder / KEYSET_FILE, _read_keyset)
    if found is not None:
        return found
    legacy = folder / LEGACY_PRIVATE
    if legacy.exists():
        keyset = _cached("legacy", legacy, _read_legacy)
        # a read-only folder (a mounted Secret) keeps the migration in memory
        with contextlib.suppress(OSError), _locked(folder):
            if not (folder / KEYSET_FILE).exists():
                _save(folder, keyset, publish_first=True)
        return _cached("keyset", folder / KEYSET_FILE, _read_keyset) or keyset
    if not create:
        raise KeySetError(f"no key set under {folder}")
    try:
        with _locked(folder):
            if not (folder / KEYSET_FILE).exists():
                first = generate_key("RS256")
                _save(folder, KeySet(first.kid, (first,)), publish_first=True)
    except OSError as exc:
        raise KeySetError(f"cannot create the key set under {folder}: {exc}") from exc
    return _cached("keyset", folder / KEYSET_FILE, _read_keyset)


def local_jwks(settings: Settings | None = None) -> dict[str, Any]:
    """The public JWK Set the embedded verifier trusts: ``jwks.json``, or the one derived from
    the key set when that file is absent (created on first use, like the key set).

    Raises:
        KeySetError: as :func:`load_keyset`.
    """
    settings = settings or get_settings()
    published = _cached("jwks", keys_folder(settings) / JWKS_FILE, _read_jwks)
    return published if published is not None else load_keyset(settings).public_jwks()


def _jwk_index(jwks: dict[str, Any]) -> dict[str, PyJWK]:
    index: dict[str, PyJWK] = {}
    for data in jwks["keys"]:
        if data.get("use", "sig") == "sig" and isinstance(data.get("kid"), str):
            index[data["kid"]] = PyJWK(data)
    return index


_index_cache: dict[int, tuple[dict[str, Any], dict[str, PyJWK]]] = {}


def local_key(kid: str | None, settings: Settings | None = None) -> PyJWK | None:
    """The public key of ``kid`` in :func:`local_jwks` (``None``: the legacy key, if any);
    ``None`` when there is no such key."""
    jwks = local_jwks(settings)
    hit = _index_cache.get(id(jwks))
    if hit is None or hit[0] is not jwks:
        hit = (jwks, _jwk_index(jwks))
        _index_cache.clear()
        _index_cache[id(jwks)] = hit
    index = hit[1]
    if kid is None:
        legacy = jwks.get("woms_legacy_kid")
        return index.get(legacy) if isinstance(legacy, str) else None
    return index.get(kid)


# --- rotation ---------------------------------------------------------------------------------


def rotate(
    settings: Settings | None = None, *, alg: str = "RS256", now: datetime | None = None
) -> IssuerKey:
    """Add a new key and make it the signing key; the previous signing key is stamped
    ``superseded`` and stays for verification. Returns the new key.

    Raises:
        KeySetError: unknown ``alg``, or the folder cannot be written.
    """
    settings = settings or get_settings()
    folder = keys_folder(settings)
    now = now or datetime.now(UTC)
    new = generate_key(alg, now=now)
    try:
        with _locked(folder):
            current = load_keyset(settings)
            keys = tuple(
                replace(k, superseded=now) if k.kid == current.signing else k for k in current.keys
            )
            _save(folder, KeySet(new.kid, (*keys, new)), publish_first=True)
    except OSError as exc:
        raise KeySetError(f"cannot write the key set under {folder}: {exc}") from exc
    return new


def retire(
    settings: Settings | None = None,
    *,
    older_than: timedelta | None = None,
    kids: frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> list[str]:
    """Remove keys from the set: those superseded at least ``older_than`` ago, and those named
    in ``kids``. Tokens they signed are refused from then on. Returns the removed kids.

    Raises:
        KeySetError: a named kid is unknown or is the signing key (rotate first).
    """
    settings = settings or get_settings()
    folder = keys_folder(settings)
    now = now or datetime.now(UTC)
    try:
        with _locked(folder):
            current = load_keyset(settings, create=False)
            known = {k.kid for k in current.keys}
            if unknown := kids - known:
                raise KeySetError(f"unknown kid: {', '.join(sorted(unknown))}")
            if current.signing in kids:
                raise KeySetError(f"{current.signing} is the signing key: rotate first")
            gone = [
                k.kid
                for k in current.keys
                if k.kid in kids
                or (
                    older_than is not None
                    and k.superseded is not None
                    and k.superseded <= now - older_than
                )
            ]
            if gone:
                kept = tuple(k for k in current.keys if k.kid not in gone)
                _save(folder, KeySet(current.signing, kept), publish_first=False)
    except OSError as exc:
        raise KeySetError(f"cannot write the key set under {folder}: {exc}") from exc
    return gone


# --- HTTP -----------------------------------------------------------------------------------

router = APIRouter()


@router.get("/.well-known/jwks.json", include_in_schema=True, tags=["identity"])
def jwks_document() -> JSONResponse:
    """Khóa công khai / the embedded issuer's public JWK Set (RFC 7517), cacheable 5 minutes."""
    return JSONResponse(local_jwks(), headers={"Cache-Control": "public, max-age=300"})
