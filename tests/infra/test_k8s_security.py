"""Security scan of the rendered manifests and the Dockerfile (checkov, in its own virtual
environment because its pins conflict with ours: created by ``make test``), and hadolint on
the Dockerfile. Zero failed checks; every exception has a written reason."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from k8s_support import K8S, ROOT, tool

CHECKOV = ROOT / ".venv" / "tools" / "checkov" / "bin" / "checkov"
EXCEPTIONS = K8S / "security-exceptions.yaml"


def _exceptions() -> dict[str, str]:
    entries = yaml.safe_load(EXCEPTIONS.read_text(encoding="utf-8"))["checkov"]
    skips = {e["check"]: e["reason"].strip() for e in entries}
    for check, reason in skips.items():
        assert re.fullmatch(r"CKV2?_[A-Z0-9]+_\d+", check), check
        assert len(reason) > 40, f"{check}: the reason must say why"
    return skips


def _checkov(args: list[str]) -> list[dict[str, Any]]:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make test` creates it (Makefile)"
    done = subprocess.run(
        [
            str(CHECKOV),
            *args,
            "--output",
            "json",
            "--compact",
            "--skip-check",
            ",".join(_exceptions()),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},  # no network: no guideline download
    )
    assert done.stdout.strip(), done.stderr
    reports = json.loads(done.stdout)
    return reports if isinstance(reports, list) else [reports]


def _failures(reports: list[dict[str, Any]]) -> list[str]:
    return [
        f"{f['check_id']} {f['resource']} ({f['check_name']})"
        for r in reports
        for f in r["results"]["failed_checks"]
    ]


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory, rendered) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("rendered")
    for overlay, objects in rendered.items():
        if overlay.startswith("base/"):  # bases have no namespace; the overlays include them
            continue
        name = overlay.replace("/", "-") + ".yaml"
        (folder / name).write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return folder


def test_checkov_finds_nothing_in_the_rendered_manifests(manifests: Path) -> None:
    reports = _checkov(["--directory", str(manifests), "--framework", "kubernetes"])
    assert _failures(reports) == []
    summary = reports[0]["summary"]
    assert summary["passed"] > 500 and summary["resource_count"] >= 80
    for r in reports:  # every per-object exception (annotation) gives a reason
        for skipped in r["results"]["skipped_checks"]:
            comment = skipped.get("check_result", {}).get("suppress_comment", "")
            assert len(comment) > 20, f"{skipped['check_id']} {skipped['resource']}: no reason"


def test_checkov_fails_a_privileged_pod(tmp_path: Path) -> None:
    """The scan above can fail: a root, writable, unbounded pod gives failed checks."""
    bad = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "x"},
        "spec": {
            "containers": [
                {"name": "c", "image": "x:latest", "securityContext": {"privileged": True}}
            ]
        },
    }
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    failed = _failures(_checkov(["--directory", str(tmp_path), "--framework", "kubernetes"]))
    assert any(f.startswith("CKV_K8S_16 ") for f in failed)  # privileged


def test_checkov_finds_nothing_in_the_dockerfile() -> None:
    reports = _checkov(["--file", str(ROOT / "Dockerfile"), "--framework", "dockerfile"])
    assert _failures(reports) == []
    assert reports[0]["summary"]["passed"] > 5


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    done = subprocess.run(
        [tool("hadolint"), "--format", "json", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, json.loads(done.stdout)) == (0, [])


def test_dockerfile_is_multi_stage_pinned_and_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM (\S+) AS \w+$", text, re.M)
    assert len(bases) >= 2 and len(set(bases)) == 1
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", bases[0])
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) >= 2
    final = stages[-1]
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert re.search(r"^USER 10001:10001$", final, re.M)
    assert not re.search(r"apt-get install|pip install|gcc|build-essential", final)
    assert "rm -rf /usr/local/lib/python3.11/site-packages/pip" in final
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[1] == "**"  # everything is excluded unless listed
