"""What the rendered NetworkPolicies allow, evaluated on the pods the overlays create (and the
operators' pods they expect): a tenant reaches its own databases and the shared Temporal,
Kafka, registry and reporting; nothing of another tenant; nothing else by default.

The evaluator follows the NetworkPolicy semantics (networking.k8s.io/v1) for what the
manifests use — ``matchLabels`` selectors, pod and namespace peers, TCP/UDP ports — and fails
on anything else (``matchExpressions``, ``ipBlock`` peers), so it cannot silently misjudge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from k8s_support import TENANTS

Labels = dict[str, str]


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: tuple[tuple[str, str], ...]
    name: str

    @property
    def label_map(self) -> Labels:
        return dict(self.labels)


def _pod(namespace: str, name: str, labels: Labels) -> Pod:
    return Pod(namespace, tuple(sorted(labels.items())), name)


def _matches(selector: dict[str, Any], labels: Labels) -> bool:
    assert set(selector) <= {"matchLabels"}, f"unsupported selector {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


class Cluster:
    """The rendered objects of every overlay, as one cluster."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.namespaces: dict[str, Labels] = {}
        self.policies: list[dict[str, Any]] = []
        self.pods: list[Pod] = []
        for o in objects:
            meta = o["metadata"]
            if o["kind"] == "Namespace":
                self.namespaces[meta["name"]] = {
                    **meta.get("labels", {}),
                    "kubernetes.io/metadata.name": meta["name"],
                }
            elif o["kind"] == "NetworkPolicy":
                self.policies.append(o)
            elif o["kind"] in ("Deployment", "Job"):
                labels = o["spec"]["template"]["metadata"]["labels"]
                self.pods.append(_pod(meta["namespace"], meta["name"], labels))
            elif o["kind"] == "Cluster":  # CloudNativePG instances
                self.pods.append(
                    _pod(meta["namespace"], meta["name"], {"cnpg.io/cluster": meta["name"]})
                )
            elif o["kind"] == "Kafka":  # Strimzi brokers
                self.pods.append(
                    _pod(meta["namespace"], meta["name"], {"strimzi.io/cluster": meta["name"]})
                )
        # installed outside these manifests: Temporal's Helm release, DNS, the operators
        for name in ("temporal", "kube-system", "cnpg-system", "strimzi", "ingress-nginx"):
            self.namespaces.setdefault(name, {"kubernetes.io/metadata.name": name})
        self.pods += [
            _pod("temporal", "temporal-frontend", {"app.kubernetes.io/component": "frontend"}),
            _pod("kube-system", "coredns", {"k8s-app": "kube-dns"}),
            _pod("ingress-nginx", "controller", {"app.kubernetes.io/name": "ingress-nginx"}),
        ]

    def pod(self, namespace: str, name: str) -> Pod:
        (hit,) = [p for p in self.pods if p.namespace == namespace and p.name == name]
        return hit

    def _peer(self, policy_ns: str, peer: dict[str, Any], other: Pod) -> bool:
        assert "ipBlock" not in peer, "ipBlock peers are not evaluated"
        if "namespaceSelector" in peer:
            ns_ok = _matches(peer["namespaceSelector"], self.namespaces[other.namespace])
        else:
            ns_ok = other.namespace == policy_ns
        return ns_ok and _matches(peer.get("podSelector", {}), other.label_map)

    def _allowed(self, side: str, pod: Pod, other: Pod, port: int, protocol: str) -> bool:
        kind = "Ingress" if side == "ingress" else "Egress"
        key = "from" if side == "ingress" else "to"
        selecting = [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and kind in p["spec"]["policyTypes"]
            and _matches(p["spec"]["podSelector"], pod.label_map)
        ]
        if not selecting:
            return True
        for policy in selecting:
            for rule in policy["spec"].get(side, []):
                peers = rule.get(key)
                peer_ok = peers is None or any(
                    self._peer(pod.namespace, peer, other) for peer in peers
                )
                ports = rule.get("ports")
                port_ok = ports is None or any(
                    p.get("port") == port and p.get("protocol", "TCP") == protocol for p in ports
                )
                if peer_ok and port_ok:
                    return True
        return False

    def can(self, src: Pod, dst: Pod, port: int, protocol: str = "TCP") -> bool:
        return self._allowed("egress", src, dst, port, protocol) and self._allowed(
            "ingress", dst, src, port, protocol
        )


@pytest.fixture(scope="module")
def cluster(rendered: dict[str, list[dict[str, Any]]]) -> Cluster:
    objects = [
        o for overlay, objs in rendered.items() if not overlay.startswith("base/") for o in objs
    ]
    return Cluster(objects)


def test_the_evaluator_denies_what_a_deny_all_namespace_does_not_open() -> None:
    objects = [
        {"kind": "Namespace", "metadata": {"name": "a"}},
        {
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": "a"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "kind": "Deployment",
            "metadata": {"name": "x", "namespace": "a"},
            "spec": {"template": {"metadata": {"labels": {"app": "x"}}}},
        },
        {
            "kind": "Deployment",
            "metadata": {"name": "y", "namespace": "a"},
            "spec": {"template": {"metadata": {"labels": {"app": "y"}}}},
        },
    ]
    c = Cluster(objects)
    assert not c.can(c.pod("a", "x"), c.pod("a", "y"), 80)


@pytest.mark.parametrize("tenant", TENANTS)
def test_a_tenant_reaches_its_databases_and_the_shared_platform(
    cluster: Cluster, tenant: str
) -> None:
    ns = f"woms-{tenant}"
    own_db = cluster.pod(ns, "woms-db")
    registry = cluster.pod("woms-platform", "woms-db")
    kafka = cluster.pod("woms-platform", "woms-kafka")
    temporal = cluster.pod("temporal", "temporal-frontend")
    dns = cluster.pod("kube-system", "coredns")
    reporting = cluster.pod("woms-platform", "reporting")
    for name in ("planning", "tasks", "evaluation", "worker", "outbox-relay", "onboard"):
        pod = cluster.pod(ns, name)
        assert cluster.can(pod, own_db, 5432), name
        assert cluster.can(pod, registry, 5432), name
        assert cluster.can(pod, kafka, 9092), name
        assert cluster.can(pod, temporal, 7233), name
        assert cluster.can(pod, dns, 53, "UDP"), name
        assert cluster.can(pod, reporting, 8104), name
        assert cluster.can(pod, cluster.pod(ns, "otel-collector"), 4317), name
    for caller in ("evaluation", "worker", "tasks"):
        assert cluster.can(cluster.pod(ns, caller), cluster.pod(ns, "planning"), 8101)
    assert cluster.can(cluster.pod(ns, "worker"), cluster.pod(ns, "tasks"), 8102)
    ingress = cluster.pod("ingress-nginx", "controller")
    assert cluster.can(ingress, cluster.pod(ns, "planning"), 8101)
    assert not cluster.can(ingress, own_db, 5432)


def test_a_tenant_reaches_nothing_of_another_tenant(cluster: Cluster) -> None:
    a, b = (f"woms-{t}" for t in TENANTS)
    targets = [
        (b, "woms-db", 5432),
        (b, "planning", 8101),
        (b, "tasks", 8102),
        (b, "evaluation", 8103),
    ]
    for name in ("planning", "tasks", "evaluation", "worker", "outbox-relay", "onboard"):
        for ns, target, port in targets:
            assert not cluster.can(cluster.pod(a, name), cluster.pod(ns, target), port)
            assert not cluster.can(cluster.pod(b, name), cluster.pod(a, target), port)


def test_nothing_else_is_open_by_default(cluster: Cluster) -> None:
    ns = f"woms-{TENANTS[0]}"
    planning = cluster.pod(ns, "planning")
    assert not cluster.can(planning, cluster.pod("woms-platform", "woms-kafka"), 2181)
    assert not cluster.can(planning, cluster.pod("kube-system", "coredns"), 9153)
    assert not cluster.can(cluster.pod("temporal", "temporal-frontend"), planning, 8101)
    # the platform's consumer reads Kafka and writes the platform database, not a tenant's
    consumer = cluster.pod("woms-platform", "reporting-consumer")
    assert cluster.can(consumer, cluster.pod("woms-platform", "woms-kafka"), 9092)
    assert cluster.can(consumer, cluster.pod("woms-platform", "woms-db"), 5432)
    assert not cluster.can(consumer, cluster.pod(ns, "woms-db"), 5432)
