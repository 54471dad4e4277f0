"""Kubernetes manifests generated from project files (``woms tenant render-k8s``).

* :func:`render_tenant` — the kustomize overlay of one tenant, ``infra/k8s/tenants/<code>/``,
  from the tenant file that onboarding reads (``services/planning/tenant_file.py``): the
  namespace ``woms-<code>``, the tenant settings (``WOMS_TENANT``, the Temporal namespace
  ``woms-<code>``, the tenant's time zone), the tenant file and its form templates as the
  ConfigMap the onboarding Job reads, and the Strimzi ``KafkaTopic`` of each service
  (``woms.<code>.<service>.events``, :func:`services.common.events.topic_for`).
* :func:`render_opa_bundle` — the OPA sidecar component, ``infra/k8s/components/opa-sidecar/``,
  with ``policies/`` (without ``*_test.rego``) as a bundle.

Rendering is pure and deterministic: the same inputs give byte-identical files, so the
committed output is checked by re-rendering (``tests/infra``). Composition-root code, not a
service.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from services.common import tenancy
from services.common.events import topic_for
from services.planning.tenant_file import load_tenant_file

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "infra" / "k8s"
POLICIES = REPO / "policies"
SERVICES = ("planning", "tasks", "evaluation", "reporting")
"""Services with an event topic per tenant (the topics that onboarding creates)."""
KAFKA_NAMESPACE = "woms-platform"
KAFKA_CLUSTER = "woms-kafka"
TOPIC_PARTITIONS = 3
TOPIC_REPLICAS = 3
TENANT_MOUNT = "/etc/woms/tenant"
"""Where the onboarding Job mounts the tenant file (``base/tenant/onboard-job.yaml``)."""
OPA_IMAGE = "openpolicyagent/opa:1.4.2-static"
_KEY = re.compile(r"[^-._a-zA-Z0-9]")


@dataclass(frozen=True)
class Rendered:
    """Files to write: ``files`` maps paths relative to ``root`` to their text; ``root`` is
    owned whole (files under it that are not in ``files`` are stale)."""

    root: Path
    files: dict[str, str]


def _dump(*documents: object) -> str:
    return "---\n".join(
        yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=100) for d in documents
    )


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (stable across checkouts)."""
    resolved = path.resolve()
    return resolved.relative_to(REPO).as_posix() if resolved.is_relative_to(REPO) else path.name


def config_key(relative: str) -> str:
    """A ConfigMap key for the file at ``relative`` (``forms/a.yaml`` → ``forms.a.yaml``)."""
    return _KEY.sub("-", relative.replace("/", "."))


def _layout(tenant_file: Path, forms: tuple[str, ...]) -> dict[str, Path]:
    """Where the tenant file and its form templates go in the onboarding Job's folder
    (relative path → source file), keeping their relative positions: a form given as
    ``../hanoi/forms/a.yaml`` puts the tenant file one folder down (``thanhhoa/tenant.yaml``
    beside ``hanoi/forms/a.yaml``).

    Raises:
        ValueError: a form path is absolute, or climbs above the file system root.
    """
    folder = Path(os.path.abspath(tenant_file.parent))
    targets = {}
    for name in forms:
        if PurePosixPath(name).is_absolute():
            raise ValueError(f"{tenant_file}: forms entry {name!r} must be a relative path")
        targets[name] = Path(os.path.normpath(folder / name))
    depth = 0
    for target in targets.values():
        while not target.is_relative_to(folder.parents[depth - 1] if depth else folder):
            depth += 1
            if depth > len(folder.parents):
                raise ValueError(f"{tenant_file}: a forms entry leaves the file system")
    base = folder.parents[depth - 1] if depth else folder
    layout = {(folder / tenant_file.name).relative_to(base).as_posix(): tenant_file}
    for target in targets.values():
        layout[target.relative_to(base).as_posix()] = target
    return layout


def render_tenant(tenant_file: Path, out: Path = K8S) -> Rendered:
    """The overlay ``<out>/tenants/<code>/`` of the tenant described by ``tenant_file``.

    Args:
        tenant_file: a tenant file (docs/tenant-file.md), e.g. ``data/tenants/hanoi/tenant.yaml``.
        out: the ``infra/k8s`` folder (the overlay refers to ``../../base/tenant`` and
            ``../../components/*`` there).

    Returns:
        :class:`Rendered` with ``kustomization.yaml``, ``namespace.yaml``, ``topics.yaml``,
        ``onboard-patch.yaml``, ``namespace-transformer.yaml`` and verbatim copies of the tenant
        file and of its form templates under ``tenant/`` (see :func:`_layout`).

    Raises:
        services.common.errors.InputError: the tenant file is invalid.
        ValueError: a form template path is absolute.
        OSError: a form template cannot be read.
    """
    tf = load_tenant_file(tenant_file)
    code = tenancy.validate_code(tf.code)
    namespace = f"woms-{code}"
    header = (
        f"# Generated by `woms tenant render-k8s {code}` from {_shown(tenant_file)}; do not edit.\n"
    )
    layout = _layout(tenant_file, tf.forms)
    copies = {rel: source.read_text(encoding="utf-8") for rel, source in layout.items()}
    tenant_path = next(iter(layout))  # the tenant file comes first
    files: dict[str, str] = {f"tenant/{rel}": text for rel, text in copies.items()}

    files["namespace.yaml"] = header + _dump(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {
                    "woms.vn/kind": "tenant",
                    "woms.vn/tenant": code,
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
                "annotations": {"woms.vn/name": tf.name, "woms.vn/time-zone": tf.time_zone},
            },
        }
    )
    files["namespace-transformer.yaml"] = header + _dump(
        {
            "apiVersion": "builtin",
            "kind": "NamespaceTransformer",
            "metadata": {"name": "namespace", "namespace": namespace},
            "unsetOnly": True,  # the KafkaTopics stay in the Kafka cluster's namespace
        }
    )
    files["topics.yaml"] = header + _dump(
        *(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaTopic",
                "metadata": {
                    "name": f"woms-{code}-{service}-events",
                    "namespace": KAFKA_NAMESPACE,
                    "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, "woms.vn/tenant": code},
                },
                "spec": {
                    "topicName": topic_for(code, service),
                    "partitions": TOPIC_PARTITIONS,
                    "replicas": TOPIC_REPLICAS,
                    "config": {"min.insync.replicas": 2, "retention.ms": 31 * 24 * 3600 * 1000},
                },
            }
            for service in SERVICES
        )
    )
    files["onboard-patch.yaml"] = header + _dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "onboard"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "onboard",
                                "args": ["tenant", "onboard", f"{TENANT_MOUNT}/{tenant_path}"],
                            }
                        ],
                        "volumes": [
                            {
                                "name": "tenant-file",
                                "configMap": {
                                    "name": "woms-tenant-file",
                                    "items": [
                                        {"key": config_key(rel), "path": rel} for rel in copies
                                    ],
                                },
                            }
                        ],
                    }
                }
            },
        }
    )
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["namespace.yaml", "../../base/tenant", "topics.yaml"],
        "components": [
            "../../components/opa-sidecar",
            "../../components/otel-collector",
            "../../components/network-policy-tenant",
        ],
        "transformers": ["namespace-transformer.yaml"],
        "labels": [{"pairs": {"woms.vn/tenant": code}}],
        "configMapGenerator": [
            {
                "name": "woms-settings",
                "behavior": "merge",
                "literals": [
                    f"WOMS_TENANT={code}",
                    f"TEMPORAL_NAMESPACE={tenancy.namespace_of(code)}",
                    f"TENANT_TIME_ZONE={tf.time_zone}",
                    f"OTEL_RESOURCE_ATTRIBUTES=woms.tenant={code}",
                ],
            },
            {
                "name": "woms-tenant-file",
                "behavior": "replace",
                "files": [f"{config_key(rel)}=tenant/{rel}" for rel in copies],
            },
        ],
        "patches": [
            {"path": "onboard-patch.yaml"},
            {  # the daily audit-head export runs at 23:50 of the tenant's own day
                "target": {"kind": "CronJob", "name": "audit-export-head"},
                "patch": json.dumps(
                    [{"op": "replace", "path": "/spec/timeZone", "value": tf.time_zone}],
                    ensure_ascii=False,
                ),
            },
        ],
        "images": [{"name": "woms", "newName": "registry.example.vn/woms/woms", "newTag": "0.1.0"}],
    }
    files["kustomization.yaml"] = header + _dump(kustomization)
    return Rendered(out / "tenants" / code, dict(sorted(files.items())))


_SIDECAR_HEADER = """\
# Generated by `woms tenant render-k8s` from policies/ (woms/k8s_render.py); do not edit.
# OPA as a sidecar of every API pod, loading the Rego policies of policies/ (without the
# *_test.rego files) as a bundle. The services query it at OPA_URL=http://127.0.0.1:8181 and,
# since the bundle owns the `woms` root, do not upload policies themselves (OPA_UPLOAD=false).
"""


def render_opa_bundle(policies: Path = POLICIES, out: Path = K8S) -> Rendered:
    """The component ``<out>/components/opa-sidecar/`` with ``policies`` as an OPA bundle.

    Returns:
        :class:`Rendered`: ``kustomization.yaml`` (the ConfigMap ``opa-bundle`` and the
        ``OPA_URL`` / ``OPA_UPLOAD`` settings), ``sidecar.yaml`` (the patch adding the ``opa``
        container to every ``app.kubernetes.io/component=api`` Deployment) and ``bundle/``
        (``.manifest`` with the root ``woms``, and each policy under a flat ConfigMap key).

    Raises:
        FileNotFoundError: ``policies`` holds no ``*.rego`` policy.
    """
    rego = sorted(
        p.relative_to(policies).as_posix()
        for p in policies.rglob("*.rego")
        if not p.name.endswith("_test.rego")
    )
    if not rego:
        raise FileNotFoundError(f"no *.rego policy under {policies}")
    files = {"bundle/.manifest": json.dumps({"roots": ["woms"]}) + "\n"}
    for rel in rego:
        files[f"bundle/{config_key(rel)}"] = (policies / rel).read_text(encoding="utf-8")
    files["kustomization.yaml"] = _SIDECAR_HEADER + _dump(
        {
            "apiVersion": "kustomize.config.k8s.io/v1alpha1",
            "kind": "Component",
            "configMapGenerator": [
                {
                    "name": "woms-settings",
                    "behavior": "merge",
                    "literals": ["OPA_URL=http://127.0.0.1:8181", "OPA_UPLOAD=false"],
                },
                {
                    "name": "opa-bundle",
                    "files": [".manifest=bundle/.manifest"]
                    + [f"{config_key(rel)}=bundle/{config_key(rel)}" for rel in rego],
                },
            ],
            "patches": [
                {
                    "path": "sidecar.yaml",
                    "target": {
                        "kind": "Deployment",
                        "labelSelector": "app.kubernetes.io/component=api",
                    },
                }
            ],
        }
    )
    files["sidecar.yaml"] = _SIDECAR_HEADER + _dump(_sidecar_patch(rego))
    return Rendered(out / "components" / "opa-sidecar", dict(sorted(files.items())))


def _sidecar_patch(rego: list[str]) -> dict[str, object]:
    probe = {"port": "opa-diag"}
    container = {
        "name": "opa",
        "image": OPA_IMAGE,
        "imagePullPolicy": "Always",
        "args": [
            "run",
            "--server",
            "--addr=127.0.0.1:8181",
            "--diagnostic-addr=0.0.0.0:8282",
            "--log-format=json",
            "--disable-telemetry",
            "--bundle",
            "/policies",
        ],
        "ports": [{"name": "opa-diag", "containerPort": 8282}],
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "livenessProbe": {"httpGet": {"path": "/health", **probe}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/health?bundles", **probe}, "periodSeconds": 5},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10002,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        # one subPath mount per file: a plain tree, without the ``..data`` symlinks of a
        # ConfigMap volume, which the bundle loader would read as bundle content
        "volumeMounts": [
            {
                "name": "opa-bundle",
                "mountPath": f"/policies/{rel}",
                "subPath": config_key(rel),
                "readOnly": True,
            }
            for rel in [".manifest", *rego]
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "any-api"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [container],
                    "volumes": [{"name": "opa-bundle", "configMap": {"name": "opa-bundle"}}],
                }
            }
        },
    }


def differences(rendered: Rendered) -> list[str]:
    """Paths (relative to ``rendered.root``) whose file on disk differs from the rendering:
    missing, changed, or stale (on disk, not rendered)."""
    on_disk = (
        {p.relative_to(rendered.root).as_posix() for p in rendered.root.rglob("*") if p.is_file()}
        if rendered.root.is_dir()
        else set()
    )
    changed = [
        rel
        for rel, text in rendered.files.items()
        if rel not in on_disk or (rendered.root / rel).read_text(encoding="utf-8") != text
    ]
    return sorted({*changed, *(on_disk - rendered.files.keys())})


def write(rendered: Rendered) -> list[str]:
    """Write ``rendered`` under its root, removing stale files; returns what changed
    (:func:`differences` before writing)."""
    changed = differences(rendered)
    for rel in changed:
        path = rendered.root / rel
        if rel in rendered.files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rendered.files[rel], encoding="utf-8")
        else:
            path.unlink()
    return changed
