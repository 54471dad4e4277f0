"""Process settings read from the environment (pydantic-settings, no prefix).

Environment variables (all optional):

* ``WOMS_HOME`` — directory of local state (databases, logs, ``runtime.json``);
  default ``.woms`` relative to the current directory, stored as an absolute path.
* ``TEMPORAL_ADDRESS`` — ``host:port`` of an external Temporal frontend; unset means
  the embedded dev server started by ``woms dev up``.
* ``KAFKA_BOOTSTRAP_SERVERS`` — comma-separated ``host:port`` list of an external Kafka;
  unset means the embedded Tansu broker.
* ``DATABASE_URL`` — SQLAlchemy URL *template* with ``{home}``, ``{tenant}`` and
  ``{service}`` placeholders; default one SQLite file per tenant and service.
* ``OPA_URL`` — base URL of an external OPA server; unset means embedded regorus.
* ``OPA_UPLOAD`` — ``false`` when that server loads the policies itself (a bundle, as the
  OPA sidecar of ``infra/k8s`` does); default ``true``: the services upload them.
* ``PLANNING_URL`` — base URL of the planning API that other services call
  (default ``http://127.0.0.1:8101``, where ``woms serve planning`` listens).
* ``EVIDENCE_MAX_MB`` — default size limit of one evidence file (a tenant may set its own).
* ``OIDC_ISSUER``, ``OIDC_JWKS_URL``, ``OIDC_AUDIENCE`` (default ``woms``),
  ``OIDC_SUBJECT_CLAIM`` (default ``sub``) — bearer tokens of people are verified against that
  identity provider's JWKS; unset means the embedded issuer (``services/common/auth.py``,
  ``docs/identity.md``). ``TOKEN_TTL_S`` — default lifetime of issued tokens (3600).
* ``RELATION_CACHE_S`` — how long a service reuses what it fetched from planning for a tenant
  and day (the evaluator relation, role grants), in seconds (default 30; 0 disables the cache).
* ``POLICY_INPUT_CHECK`` — ``true`` to validate every policy input document against its
  package's ``policies/woms/<area>/input.schema.json`` before asking the policy (the test
  suite turns it on; ``services/common/authorizer.py``). Default ``false``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite:///{home}/db/{tenant}/{service}.sqlite3"
"""Default ``DATABASE_URL`` template: ``<home>/db/<tenant>/<service>.sqlite3``."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Settings(BaseSettings):
    """Settings of one WOMS process; build with :func:`get_settings` or directly in tests.

    Attributes:
        woms_home: absolute directory of local state (env ``WOMS_HOME``).
        temporal_address: external Temporal ``host:port`` or ``None`` (embedded).
        kafka_bootstrap_servers: external Kafka bootstrap list or ``None`` (embedded).
        database_url_template: SQLAlchemy URL template (env ``DATABASE_URL``).
        opa_url: external OPA base URL or ``None`` (embedded regorus).
    """

    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", validate_by_name=True, validate_by_alias=True
    )

    woms_home: Path = Field(default=Path(".woms"))
    temporal_address: str | None = None
    kafka_bootstrap_servers: str | None = None
    database_url_template: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "database_url_template"),
    )
    opa_url: str | None = None
    opa_upload: bool = True
    planning_url: str = "http://127.0.0.1:8101"
    evidence_max_mb: int = 20
    oidc_issuer: str | None = None  # identity: services/common/auth.py, docs/identity.md
    oidc_jwks_url: str | None = None
    oidc_audience: str = "woms"
    oidc_subject_claim: str = "sub"
    token_ttl_s: int = Field(default=3600, gt=0)
    relation_cache_s: float = Field(default=30.0, ge=0)
    policy_input_check: bool = False

    @field_validator("woms_home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        """Anchor a relative home on the current directory, so children see one path."""
        return value.expanduser().absolute()

    @field_validator(
        "temporal_address", "kafka_bootstrap_servers", "opa_url", "oidc_issuer", "oidc_jwks_url"
    )
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        """Treat an empty or blank variable as unset (embedded component)."""
        return value.strip() or None if value is not None else None

    @property
    def embedded_temporal(self) -> bool:
        """True when no ``TEMPORAL_ADDRESS`` is set and the dev server is used."""
        return self.temporal_address is None

    @property
    def embedded_kafka(self) -> bool:
        """True when no ``KAFKA_BOOTSTRAP_SERVERS`` is set and Tansu is used."""
        return self.kafka_bootstrap_servers is None

    @property
    def embedded_opa(self) -> bool:
        """True when no ``OPA_URL`` is set and policies run in-process (regorus)."""
        return self.opa_url is None

    def database_url(self, tenant: str, service: str) -> str:
        """Return the SQLAlchemy URL of ``service``'s database for ``tenant``.

        Both names must match ``[a-z0-9][a-z0-9_-]{0,62}`` (they become path parts).
        For a SQLite URL the parent directory is created, so the URL opens at once.

        Raises:
            ValueError: on an invalid tenant or service name.
        """
        for label, name in (("tenant", tenant), ("service", service)):
            if not _NAME.fullmatch(name):
                raise ValueError(f"invalid {label} name {name!r}")
        url = self.database_url_template.format(
            home=self.woms_home.as_posix(), tenant=tenant, service=service
        )
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide :class:`Settings` (cached; ``get_settings.cache_clear()``)."""
    return Settings()


def database_url(tenant: str, service: str) -> str:
    """Shortcut for ``get_settings().database_url(tenant, service)``; see there."""
    return get_settings().database_url(tenant, service)
