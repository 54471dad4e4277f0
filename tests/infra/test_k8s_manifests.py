"""Every overlay of ``infra/k8s`` renders, validates against the Kubernetes schemas, and says
what the services need (commands, ports, probes, settings, topics, databases)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from k8s_support import K8S, OVERLAYS, TENANTS, find
from kubernetes_validate import utils as schemas

from services.common.events import topic_for
from services.common.settings import Settings
from services.common.tenancy import PLATFORM, namespace_of

KUBERNETES = "1.33"
"""The Kubernetes version the manifests are validated against (strict: unknown fields fail)."""

CRD_SKIPPED = {
    ("kafka.strimzi.io/v1beta2", "Kafka"): "Strimzi CRD; its schema ships with the operator "
    "release, which no registry reachable here provides (fields checked below)",
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"): "Strimzi CRD, as Kafka",
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): "Strimzi CRD, as Kafka (topic names, "
    "namespace and cluster label checked below)",
    ("postgresql.cnpg.io/v1", "Cluster"): "CloudNativePG CRD; its schema ships with the "
    "operator release, not reachable here (names and hosts checked below)",
    ("postgresql.cnpg.io/v1", "Database"): "CloudNativePG CRD, as Cluster",
}
"""Custom resources not validated against a schema, each with its reason."""

PORTS = {"planning": 8101, "tasks": 8102, "evaluation": 8103, "reporting": 8104}


def _all(rendered: dict[str, list[dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(overlay, o) for overlay in OVERLAYS for o in rendered[overlay]]


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def _settings(objects: list[dict[str, Any]]) -> dict[str, str]:
    return find(objects, "ConfigMap", "woms-settings")["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_schemas(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    objects = rendered[overlay]
    assert objects
    checked = 0
    for obj in objects:
        where = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
        try:
            schemas.validate(obj, KUBERNETES, strict=True)
            checked += 1
        except schemas.SchemaNotFoundError:
            assert (obj["apiVersion"], obj["kind"]) in CRD_SKIPPED, f"{where}: no schema"
        except schemas.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            pytest.fail(f"{where}: {path}: {error.message}")
    assert checked >= len(objects) // 2


def test_the_validator_rejects_a_wrong_object() -> None:
    """The validation above can fail: a Deployment with a misspelt field does not pass."""
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "x"}]}}},
        "replica": 2,
    }
    with pytest.raises(schemas.ValidationError):
        schemas.validate(bad, KUBERNETES, strict=True)


def test_workloads_are_non_root_read_only_and_bounded(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, obj in _all(rendered):
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        pod = obj["spec"]["template"]["spec"]
        # Pod Security Standard "restricted" (the namespaces enforce it)
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for c in _containers(obj):
            where = f"{overlay}: {obj['metadata']['name']}/{c['name']}"
            security = {**pod.get("securityContext", {}), **c.get("securityContext", {})}
            assert security.get("runAsNonRoot") is True, where
            assert security.get("readOnlyRootFilesystem") is True, where
            assert security.get("allowPrivilegeEscalation") is False, where
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][bound]), f"{where}: {bound}"


@pytest.mark.parametrize(
    ("overlay", "services"),
    [
        *((f"tenants/{t}", ("planning", "tasks", "evaluation")) for t in TENANTS),
        ("platform", ("reporting",)),
    ],
)
def test_each_api_runs_woms_serve_with_probes_service_hpa_and_pdb(
    rendered: dict[str, list[dict[str, Any]]], overlay: str, services: tuple[str, ...]
) -> None:
    objects = rendered[overlay]
    for name in services:
        port = PORTS[name]
        deployment = find(objects, "Deployment", name)
        app = next(
            c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name
        )
        assert app["args"] == ["serve", name, "--host", "0.0.0.0", "--port", str(port)]
        assert app["ports"] == [{"name": "http", "containerPort": port}]
        assert app["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert app["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        sidecar = [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]]
        assert sorted(sidecar) == sorted([name, "opa"])
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["kubectl.kubernetes.io/default-container"] == name
        service = find(objects, "Service", name)
        assert service["spec"]["ports"][0]["port"] == port
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert service["spec"]["selector"] == selector
        hpa = find(objects, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert find(objects, "PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"] == (
            selector
        )


@pytest.mark.parametrize("tenant", TENANTS)
def test_tenant_overlay_runs_worker_relay_and_onboarding_of_its_tenant(
    rendered: dict[str, list[dict[str, Any]]], tenant: str
) -> None:
    objects = rendered[f"tenants/{tenant}"]
    settings = _settings(objects)
    assert settings["WOMS_TENANT"] == tenant
    assert settings["TEMPORAL_NAMESPACE"] == namespace_of(tenant)
    assert settings["OPA_URL"] == "http://127.0.0.1:8181"
    assert settings["OPA_UPLOAD"] == "false"
    args = {
        name: find(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]["args"]
        for name in ("worker", "outbox-relay")
    }
    assert args == {
        "worker": ["worker", "$(WOMS_TENANT)"],
        "outbox-relay": ["relay", "$(WOMS_TENANT)"],
    }
    job = find(objects, "Job", "onboard")
    onboard = job["spec"]["template"]["spec"]["containers"][0]
    assert onboard["args"][:2] == ["tenant", "onboard"]
    # the file the Job reads is in the ConfigMap it mounts, under the path the Job names
    volume = next(
        v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "tenant-file"
    )
    mount = next(m for m in onboard["volumeMounts"] if m["name"] == "tenant-file")
    paths = {i["path"]: i["key"] for i in volume["configMap"]["items"]}
    tenant_path = onboard["args"][2].removeprefix(mount["mountPath"] + "/")
    config = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == volume["configMap"]["name"]
    )
    assert set(paths.values()) == set(config["data"])
    assert yaml.safe_load(config["data"][paths[tenant_path]])["code"] == tenant
    for obj in objects:
        expected = "woms-platform" if obj["kind"] == "KafkaTopic" else f"woms-{tenant}"
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == expected, obj["metadata"]["name"]


@pytest.mark.parametrize("tenant", TENANTS)
def test_topics_and_databases_are_the_ones_the_code_uses(
    rendered: dict[str, list[dict[str, Any]]], tenant: str
) -> None:
    objects = rendered[f"tenants/{tenant}"]
    platform = rendered["platform"]
    kafka = find(platform, "Kafka", "woms-kafka")
    topics = [o for o in objects if o["kind"] == "KafkaTopic"]
    assert sorted(t["spec"]["topicName"] for t in topics) == sorted(
        topic_for(tenant, s) for s in PORTS
    )
    for topic in topics:
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert topic["metadata"]["namespace"] == kafka["metadata"]["namespace"]
    data = _settings(objects)
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap.{kafka['metadata']['namespace']}"
    assert data["KAFKA_BOOTSTRAP_SERVERS"].startswith(bootstrap + ".svc")
    # DATABASE_URL: the tenant's own CloudNativePG cluster, the registry on the platform's
    settings = Settings(database_url_template=data["DATABASE_URL"])
    own = find(objects, "Cluster", "woms-db")
    registry = find(platform, "Cluster", "woms-db")
    for code, service, cluster in ((tenant, "planning", own), (PLATFORM, "registry", registry)):
        url = urlsplit(settings.database_url(code, service))
        name, namespace = cluster["metadata"]["name"], cluster["metadata"]["namespace"]
        assert url.hostname == f"{name}-rw.{namespace}.svc.cluster.local"
        assert url.path == f"/{service}"
    assert registry["spec"]["bootstrap"]["initdb"]["database"] == "registry"


def test_temporal_address_is_the_helm_release_frontend(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    values = yaml.safe_load((K8S / "platform" / "temporal-values.yaml").read_text())
    port = values["server"]["frontend"]["service"]["port"]
    db = find(rendered["platform"], "Cluster", "temporal-db")
    store = values["server"]["config"]["persistence"]["default"]["sql"]
    assert store["host"] == f"temporal-db-rw.{db['metadata']['namespace']}.svc.cluster.local"
    assert store["existingSecret"] == "temporal-db-app"  # CloudNativePG's <cluster>-app
    for overlay in ("platform", *(f"tenants/{t}" for t in TENANTS)):
        address = _settings(rendered[overlay])["TEMPORAL_ADDRESS"]
        assert address == f"temporal-frontend.temporal.svc.cluster.local:{port}"


@pytest.mark.parametrize("overlay", ["platform", *(f"tenants/{t}" for t in TENANTS)])
def test_namespaces_deny_by_default(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    policies = {o["metadata"]["name"]: o for o in rendered[overlay] if o["kind"] == "NetworkPolicy"}
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for policy in policies.values():  # nothing is opened to every namespace at once
        for rule in [*policy["spec"].get("ingress", []), *policy["spec"].get("egress", [])]:
            for peer in rule.get("from", rule.get("to", [])):
                assert peer.get("namespaceSelector") != {}, policy["metadata"]["name"]


def test_reporting_consumer_is_its_own_deployment(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    consumer = find(rendered["platform"], "Deployment", "reporting-consumer")
    assert consumer["spec"]["template"]["spec"]["containers"][0]["args"] == ["reporting", "consume"]
    assert "WOMS_TENANT" not in _settings(rendered["platform"])
