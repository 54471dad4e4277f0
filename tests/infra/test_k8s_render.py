"""``woms tenant render-k8s``: the committed overlays and OPA bundle are what the renderer
gives from the tenant files and ``policies/``, and a new tenant renders into a valid overlay."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from k8s_support import K8S, ROOT, TENANTS, find, kustomize, tool

from services.common.events import topic_for
from woms import k8s_render

FIXTURE = ROOT / "tests" / "fixtures" / "tenant_mini.yaml"


@pytest.mark.parametrize("tenant", TENANTS)
def test_committed_overlay_is_the_rendering_of_the_tenant_file(tenant: str) -> None:
    rendered = k8s_render.render_tenant(ROOT / "data" / "tenants" / tenant / "tenant.yaml")
    assert rendered.root == K8S / "tenants" / tenant
    assert k8s_render.differences(rendered) == [], f"refresh: woms tenant render-k8s {tenant}"


def test_committed_bundle_is_the_rendering_of_the_policies() -> None:
    rendered = k8s_render.render_opa_bundle()
    assert k8s_render.differences(rendered) == [], "refresh: woms tenant render-k8s hanoi"
    policies = sorted(
        p for p in (ROOT / "policies").rglob("*.rego") if not p.name.endswith("_test.rego")
    )
    bundle = rendered.root / "bundle"
    for policy in policies:
        key = k8s_render.config_key(policy.relative_to(ROOT / "policies").as_posix())
        assert (bundle / key).read_text() == policy.read_text()
    assert json.loads((bundle / ".manifest").read_text()) == {"roots": ["woms"]}


def test_a_change_or_a_stale_file_is_a_difference(tmp_path: Path) -> None:
    rendered = k8s_render.render_tenant(FIXTURE, tmp_path)
    assert sorted(k8s_render.write(rendered)) == sorted(rendered.files)
    assert k8s_render.differences(rendered) == []
    (rendered.root / "topics.yaml").write_text("edited\n")
    (rendered.root / "stale.yaml").write_text("old\n")
    assert k8s_render.differences(rendered) == ["stale.yaml", "topics.yaml"]
    assert k8s_render.write(rendered) == ["stale.yaml", "topics.yaml"]
    assert not (rendered.root / "stale.yaml").exists()


def test_a_new_tenant_renders_into_an_overlay_that_builds(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    for part in ("base", "components"):
        shutil.copytree(K8S / part, out / part)
    rendered = k8s_render.render_tenant(FIXTURE, out)
    k8s_render.write(rendered)
    objects = kustomize(rendered.root)
    code = rendered.root.name
    namespaces = {o["metadata"]["namespace"] for o in objects if o["kind"] != "Namespace"}
    assert namespaces == {f"woms-{code}", "woms-platform"}
    topics = sorted(o["spec"]["topicName"] for o in objects if o["kind"] == "KafkaTopic")
    assert topics == sorted(topic_for(code, s) for s in k8s_render.SERVICES)


def test_cli_check_passes_on_the_committed_files() -> None:
    done = subprocess.run(
        [tool("woms"), "tenant", "render-k8s", "hanoi", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_writes_then_check_reports_an_edit(tmp_path: Path) -> None:
    code = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["code"]
    args = [tool("woms"), "tenant", "render-k8s", code, "--tenant-file", str(FIXTURE)]
    args += ["--out", str(tmp_path)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    (tmp_path / "tenants" / code / "namespace.yaml").write_text("x\n")
    done = subprocess.run([*args, "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "namespace.yaml" in done.stdout


def test_cli_refuses_a_bad_tenant_file_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "tenant.yaml"
    bad.write_text("code: x\nname: [\n", encoding="utf-8")
    done = subprocess.run(
        [
            tool("woms"),
            "tenant",
            "render-k8s",
            "x",
            "--tenant-file",
            str(bad),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert str(bad) in done.stderr
    assert not (tmp_path / "tenants").exists()


def test_cli_refuses_a_code_that_is_not_the_files() -> None:
    done = subprocess.run(
        [
            tool("woms"),
            "tenant",
            "render-k8s",
            "haiphong",
            "--tenant-file",
            str(ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml"),
            "--check",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "haiphong" in done.stderr


def test_the_opa_sidecar_sees_exactly_the_policies(
    rendered: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """The /policies tree of the sidecar, rebuilt from the rendered mounts and ConfigMap, holds
    every policy of policies/ (no test file) and compiles into the same decisions."""
    from services.common.policy import PolicyEngine

    objects = rendered["tenants/hanoi"]
    pod = find(objects, "Deployment", "planning")["spec"]["template"]["spec"]
    (opa,) = [c for c in pod["containers"] if c["name"] == "opa"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "opa-bundle"]
    config = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == volume["configMap"]["name"]
    )
    assert opa["args"][-2:] == ["--bundle", "/policies"]
    for mount in opa["volumeMounts"]:
        target = tmp_path / mount["mountPath"].removeprefix("/policies/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(config["data"][mount["subPath"]])
    mounted = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.rego"))
    source = sorted(
        p.relative_to(ROOT / "policies").as_posix()
        for p in (ROOT / "policies").rglob("*.rego")
        if not p.name.endswith("_test.rego")
    )
    assert mounted == source
    engine, reference = PolicyEngine(tmp_path), PolicyEngine()
    for document in ({"subject": "a", "owner": "a"}, {"subject": "a", "owner": "b"}):
        for rule in ("data.woms.smoke.allow", "data.woms.smoke.reasons"):
            assert engine.evaluate(rule, document) == reference.evaluate(rule, document)
