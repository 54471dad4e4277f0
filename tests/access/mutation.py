"""A pytest plugin for a mutation check of the authority tests (not part of ``make test``): the
services run with the Rego of an older revision for some packages, so that the authority table
(``test_authority_table.py``) and the collusion property (``tests/property/test_collusion.py``)
can show they find a wrong rule — which the access matrix, comparing the services with the
same Rego, cannot::

    WOMS_POLICY_REV=412f125 WOMS_POLICY_PACKAGES=tasks \\
        .venv/bin/python -m pytest -p tests.access.mutation -q -s \\
        tests/access/test_authority_table.py tests/property/test_collusion.py

``412f125`` is the last commit before issue 15 (its ``woms.tasks.authz`` lets the assigner, any
staff member, decide). The policy engine of every service thread is built over a copy of
``policies/`` where ``woms/<package>/authz.rego`` is the revision's (its ``_test.rego`` files
dropped).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import services.common.web as web
from services.common.policy import POLICIES_DIR, PolicyEngine

REV = os.environ.get("WOMS_POLICY_REV", "412f125")
PACKAGES = [p for p in os.environ.get("WOMS_POLICY_PACKAGES", "tasks").split(",") if p]

ROOT = Path(tempfile.mkdtemp(prefix="woms-mutation-")) / "policies"
shutil.copytree(POLICIES_DIR, ROOT)
for package in PACKAGES:
    old = subprocess.run(
        ["git", "show", f"{REV}:policies/woms/{package}/authz.rego"],
        capture_output=True,
        text=True,
        check=True,
        cwd=POLICIES_DIR.parent,
    ).stdout
    (ROOT / "woms" / package / "authz.rego").write_text(old, encoding="utf-8")
    for test in (ROOT / "woms" / package).glob("*_test.rego"):
        test.unlink()

web.policy_engine = lambda settings=None, **_: PolicyEngine(root=ROOT)  # type: ignore[assignment]
