"""Onboarding a tenant from its tenant file: registry, databases, Temporal namespace, Kafka
topics, the planning data (org chart, catalog, plans) and the general-criteria form templates
(evaluation). Idempotent.

This is composition-root code (used by ``woms tenant onboard`` and the tests), not a service.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from services.common import tenancy
from services.common.db import engine_for, migrate, transaction
from services.common.errors import InputError
from services.common.events import topic_for
from services.common.settings import Settings, get_settings
from services.evaluation import forms as evaluation_forms
from services.evaluation import service as evaluation
from services.planning import service as planning
from services.planning.tenant_file import load_tenant_file

SERVICES = ("planning", "tasks", "evaluation", "reporting")
SERVICES_DIR = Path(planning.__file__).resolve().parents[1]
MIGRATIONS = {n: SERVICES_DIR / n / "migrations" for n in ("planning", "tasks", "evaluation")}
RETENTION = timedelta(days=90)


def namespace_of(tenant: str) -> str:
    """The tenant's Temporal namespace (:func:`services.common.tenancy.namespace_of`)."""
    return tenancy.namespace_of(tenant)


@dataclass
class OnboardReport:
    """What onboarding did: registry change, databases, namespace, topics, planning counts."""

    tenant: str
    registry_changed: bool = False
    databases: list[str] = field(default_factory=list)
    namespace_created: bool | None = None
    topics_created: list[str] = field(default_factory=list)
    planning: dict[str, int] = field(default_factory=dict)
    forms: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        counts = {**self.planning, **self.forms}
        return bool(
            self.registry_changed
            or self.namespace_created
            or self.topics_created
            or any(n for k, n in counts.items() if not k.endswith(".unchanged"))
        )


def onboard(
    path: Path,
    settings: Settings | None = None,
    *,
    infrastructure: bool = True,
    org_xlsx: Path | None = None,
) -> OnboardReport:
    """Onboard the tenant described by ``path`` (see docs/tenant-file.md).

    With ``org_xlsx`` the units, positions, people and catalog come from that workbook (the
    template of ``services.planning.excel``) instead of the file. With ``infrastructure`` the
    Temporal namespace and Kafka topics are created too, on the
    configured clusters or (when none is configured) on the embedded runtime, which is started
    if needed (``woms dev up``).

    Raises:
        services.common.errors.InputError: the file is invalid (nothing is written).
    """
    settings = settings or get_settings()
    tf = load_tenant_file(path)
    if org_xlsx is not None:  # units, positions, people and catalog from a workbook
        from services.planning.excel import import_workbook, merge_into

        tf = merge_into(tf, import_workbook(org_xlsx), source=str(org_xlsx))
    templates = _form_templates(path, tf.forms)
    report = OnboardReport(tenant=tf.code)
    config = {
        "calendar": tf.calendar.model_dump(mode="json"),
        "scoring": tf.scoring.model_dump(mode="json"),
    }
    digest = hashlib.sha256(
        path.read_bytes() + (org_xlsx.read_bytes() if org_xlsx else b"")
    ).hexdigest()
    for service in SERVICES:
        engine = engine_for(tf.code, service, settings)
        with engine.connect():  # creates the SQLite file / PostgreSQL database
            pass
        if service in MIGRATIONS:
            migrate(engine, MIGRATIONS[service])
        report.databases.append(settings.database_url(tf.code, service))
    with transaction(engine_for(tf.code, "planning", settings)) as session:
        sync = planning.sync_tenant(session, tf.code, tf)
    report.planning = dict(sync.counts)
    with transaction(engine_for(tf.code, "evaluation", settings)) as session:
        report.forms = evaluation.install_templates(session, tf.code, templates, "onboarding")
    with transaction(tenancy.registry_engine(settings)) as session:
        report.registry_changed = tenancy.upsert(
            session,
            code=tf.code,
            name=tf.name,
            time_zone=tf.time_zone,
            config=config,
            source_hash=digest,
        )
    if infrastructure:
        temporal, kafka = _addresses(settings)
        report.namespace_created = asyncio.run(_ensure_namespace(temporal, tf.code))
        report.topics_created = ensure_topics(kafka, tf.code)
    return report


def _form_templates(path: Path, files: tuple[str, ...]) -> list[evaluation_forms.FormTemplate]:
    """The tenant's general-criteria form templates (``forms:`` of the tenant file, relative to
    it), read and checked before anything is written.

    Raises:
        InputError: a template file is unreadable or invalid, or two templates have the same
            kind and ``effective_from``.
    """
    templates: list[evaluation_forms.FormTemplate] = []
    seen: dict[tuple[str, object], str] = {}
    for i, name in enumerate(files):
        template = evaluation_forms.load_template(path.parent / name)
        key = (template.kind, template.effective_from)
        if key in seen:
            raise InputError(
                str(path), None, None, f"forms[{i}]", f"same kind and date as {seen[key]}"
            )
        seen[key] = name
        templates.append(template)
    return templates


def _addresses(settings: Settings) -> tuple[str, str]:
    from services.common import runtime

    state = runtime.up(settings)
    return state.address("temporal"), state.address("kafka")


async def _ensure_namespace(address: str, tenant: str) -> bool:
    from services.common import runtime

    return await runtime.ensure_namespace(address, namespace_of(tenant), RETENTION)


def ensure_topics(bootstrap: str, tenant: str) -> list[str]:
    """Create the tenant's event topics (one per service) if missing; returns those created."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="woms-onboarding")
    try:
        existing = set(admin.list_topics())
        wanted = [topic_for(tenant, s) for s in SERVICES]
        missing = [t for t in wanted if t not in existing]
        if missing:
            admin.create_topics(
                [NewTopic(name=t, num_partitions=3, replication_factor=1) for t in missing]
            )
        return missing
    finally:
        admin.close()


def summary(report: OnboardReport) -> list[str]:
    """Vietnamese/English lines describing ``report``."""
    lines = [f"Đơn vị thuê bao / tenant: {report.tenant}"]
    lines.append(
        "  đăng ký / registry: "
        + ("cập nhật / updated" if report.registry_changed else "không đổi / unchanged")
    )
    if report.namespace_created is not None:
        lines.append(
            f"  Temporal namespace {namespace_of(report.tenant)}: "
            + ("tạo mới / created" if report.namespace_created else "đã có / exists")
        )
        lines.append("  Kafka topics: " + (", ".join(report.topics_created) or "đã có / exist"))
    kinds: dict[str, dict[str, int]] = {}
    for key, n in sorted({**report.planning, **report.forms}.items()):
        kind, outcome = key.split(".")
        kinds.setdefault(kind, {})[outcome] = n
    for kind, outcomes in kinds.items():
        detail = ", ".join(f"{o} {n}" for o, n in sorted(outcomes.items()))
        lines.append(f"  {kind}: {detail}")
    lines.append(
        "  => "
        + ("đã thay đổi / changed" if report.changed else "không có gì thay đổi / nothing changed")
    )
    return lines


def as_dict(report: OnboardReport) -> dict[str, Any]:
    return {"tenant": report.tenant, "changed": report.changed, **report.__dict__}
