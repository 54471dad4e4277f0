"""The embedded issuer's key set: RFC 7638 kids, rotation without downtime, retirement, the
migration of an earlier ``issuer.pem``, the ``woms dev keys`` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from services.common import jwks
from services.common.auth import AuthError, issue_token, verify_token
from services.common.settings import Settings, get_settings
from woms.dev import app as dev_app
from woms.dev import parse_duration

ROOT = Path(__file__).resolve().parents[2]

RFC7638_JWK = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
    "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
    "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6W"
    "eZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(woms_home=tmp_path)


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def test_thumbprint_is_rfc7638() -> None:
    assert jwks.thumbprint(RFC7638_JWK) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    for alg in ("RS256", "ES256"):
        key = jwks.generate_key(alg)
        public = key.public_jwk()
        assert key.kid == jwks.thumbprint(public) and public["alg"] == alg
    with pytest.raises(jwks.KeySetError):
        jwks.thumbprint({"kty": "oct", "k": "c2VjcmV0"})


def test_files_public_and_private(settings: Settings) -> None:
    issue_token("hanoi", "P001", settings=settings)
    folder = settings.woms_home / "keys"
    assert (folder / "keyset.json").stat().st_mode & 0o777 == 0o600
    public = json.loads((folder / "jwks.json").read_text())
    assert [set(k) for k in public["keys"]] == [{"kty", "n", "e", "kid", "alg", "use"}]
    assert "PRIVATE" not in (folder / "jwks.json").read_text()


def test_rotation_keeps_old_tokens_until_retired(settings: Settings) -> None:
    before = issue_token("hanoi", "P001", settings=settings)
    old_kid = _kid(before)
    new = jwks.rotate(settings, alg="ES256")
    after = issue_token("hanoi", "P002", settings=settings)
    assert _kid(after) == new.kid != old_kid
    assert jwt.get_unverified_header(after)["alg"] == "ES256"
    assert verify_token(before, settings=settings).subject == "P001"  # still valid
    assert verify_token(after, settings=settings).subject == "P002"
    kids = {k["kid"] for k in jwks.local_jwks(settings)["keys"]}
    assert kids == {old_kid, new.kid}

    assert jwks.retire(settings, older_than=timedelta(hours=1)) == []  # superseded just now
    assert verify_token(before, settings=settings).subject == "P001"
    later = datetime.now(UTC) + timedelta(hours=2)
    assert jwks.retire(settings, older_than=timedelta(hours=1), now=later) == [old_kid]
    with pytest.raises(AuthError, match="unknown kid"):
        verify_token(before, settings=settings)
    assert verify_token(after, settings=settings).subject == "P002"
    assert {k["kid"] for k in jwks.local_jwks(settings)["keys"]} == {new.kid}


def test_retire_by_kid_and_its_refusals(settings: Settings) -> None:
    first = jwks.load_keyset(settings).signing
    second = jwks.rotate(settings).kid
    third = jwks.rotate(settings).kid
    with pytest.raises(jwks.KeySetError, match="signing key"):
        jwks.retire(settings, kids=frozenset({third}))
    with pytest.raises(jwks.KeySetError, match="unknown kid"):
        jwks.retire(settings, kids=frozenset({"nope"}))
    assert jwks.retire(settings, kids=frozenset({first})) == [first]
    keyset = jwks.load_keyset(settings)
    assert [k.kid for k in keyset.keys] == [second, third] and keyset.signing == third


def test_first_use_from_many_threads_makes_one_key_set(settings: Settings) -> None:
    kids: list[str] = []

    def issue() -> None:
        kids.append(_kid(issue_token("hanoi", "P001", settings=settings)))

    threads = [threading.Thread(target=issue) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kids) == 8 and len(set(kids)) == 1
    assert len(jwks.load_keyset(settings).keys) == 1


def _legacy_pair(folder: Path) -> rsa.RSAPrivateKey:
    """``issuer.pem`` / ``issuer.pub.pem`` as the single-key issuer of earlier versions wrote."""
    folder.mkdir(parents=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "issuer.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "issuer.pub.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key


def _old_style_token(key: rsa.RSAPrivateKey) -> str:
    """A token as the earlier issuer signed it: RS256, no ``kid`` header."""
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": "woms-embedded", "aud": "woms", "sub": "P009", "tenant": "hanoi"}
    claims |= {"roles": ["staff"], "iat": now, "nbf": now, "exp": now + 600}
    return jwt.encode(claims, key, algorithm="RS256")


def test_existing_issuer_pem_is_migrated_with_its_thumbprint(settings: Settings) -> None:
    folder = settings.woms_home / "keys"
    key = _legacy_pair(folder)
    public = serialization.load_pem_public_key((folder / "issuer.pub.pem").read_bytes())
    expected_kid = jwks.thumbprint(jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True))
    old = _old_style_token(key)

    token = issue_token("hanoi", "P001", settings=settings)
    assert _kid(token) == expected_kid
    assert verify_token(old, settings=settings).subject == "P009"  # in flight during upgrade
    stored = json.loads((folder / "keyset.json").read_text())
    assert stored["signing"] == expected_kid and stored["keys"][0]["legacy"] is True

    jwks.rotate(settings)
    assert verify_token(old, settings=settings).subject == "P009"
    jwks.retire(settings, kids=frozenset({expected_kid}))
    with pytest.raises(AuthError, match="no kid"):
        verify_token(old, settings=settings)
    with pytest.raises(AuthError, match="unknown kid"):
        verify_token(token, settings=settings)


def test_unwritable_folder_migrates_in_memory(settings: Settings) -> None:
    """As the read-only ``woms-token-keys`` Secret of infra/k8s (the tests run as root, who
    ignores file modes: a directory in place of the lock file makes every write fail)."""
    folder = settings.woms_home / "keys"
    key = _legacy_pair(folder)
    (folder / ".lock").mkdir()
    token = issue_token("hanoi", "P001", settings=settings)
    assert verify_token(token, settings=settings).subject == "P001"
    assert verify_token(_old_style_token(key), settings=settings).subject == "P009"
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "issuer.pem", "issuer.pub.pem"]
    with pytest.raises(jwks.KeySetError, match="cannot write"):
        jwks.rotate(settings)


def test_parse_duration() -> None:
    assert parse_duration("90") == timedelta(seconds=90)
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("7d") == timedelta(days=7)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_keys_commands(home: Path) -> None:
    runner = CliRunner()
    before = issue_token("hanoi", "P001")
    rotated = runner.invoke(dev_app, ["keys", "rotate", "--alg", "ES256"])
    assert rotated.exit_code == 0, rotated.output
    new_kid = jwks.load_keyset().signing
    assert new_kid in rotated.output and new_kid != _kid(before)
    listed = runner.invoke(dev_app, ["keys", "list"])
    assert listed.exit_code == 0 and _kid(before) in listed.output and "ES256" in listed.output

    assert runner.invoke(dev_app, ["keys", "retire"]).exit_code == 2
    bad = runner.invoke(dev_app, ["keys", "retire", "--older-than", "soon"])
    assert bad.exit_code == 2 and "soon" in bad.output
    assert runner.invoke(dev_app, ["keys", "rotate", "--alg", "HS256"]).exit_code == 1

    kept = runner.invoke(dev_app, ["keys", "retire", "--older-than", "1h"])
    assert kept.exit_code == 0 and verify_token(before).subject == "P001"
    gone = runner.invoke(dev_app, ["keys", "retire", "--older-than", "0s"])
    assert gone.exit_code == 0 and _kid(before) in gone.output
    with pytest.raises(AuthError):
        verify_token(before)


def test_rotation_by_another_process_is_seen_without_restart(home: Path) -> None:
    """``woms dev keys rotate`` run beside a live process: that process signs with the new key
    and still accepts its earlier tokens, without reloading anything."""
    before = issue_token("hanoi", "P001")
    env = {**os.environ, "WOMS_HOME": str(home)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "woms"), "dev", "keys", "rotate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    after = issue_token("hanoi", "P002")
    assert _kid(after) != _kid(before) and _kid(after) in done.stdout
    assert verify_token(before).subject == "P001"
    assert verify_token(after).subject == "P002"
