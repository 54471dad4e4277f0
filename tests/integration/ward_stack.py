"""The whole ward's stack for the month on the dev server (``test_ward_month_on_dev_server``).

Hà Nội onboarded from a temporary copy of ``data/tenants/hanoi/tenant.yaml`` whose calendar
sets ``seconds_per_day`` (the tenant setting, docs/tenant-file.md; the ``forms:`` files,
relative to the tenant file, are copied beside it); planning, tasks and
evaluation served over HTTP by uvicorn; tokens from the embedded issuer; tasks created,
moved and approved through the tasks API with a settable clock.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from services.common.auth import issue_token

ROOT = Path(__file__).resolve().parents[2]
HANOI = ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml"
TENANT = "hanoi"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serving(*apps: Any) -> Iterator[list[str]]:
    """Every app of ``apps`` served (see :func:`served`); yields their URLs in order."""
    with ExitStack() as stack:
        yield [stack.enter_context(served(app)) for app in apps]


def compressed_tenant_file(folder: Path, seconds_per_day: int) -> Path:
    """A copy of Hà Nội's tenant file under ``folder`` with ``calendar.seconds_per_day`` set;
    its ``forms:`` are paths relative to the tenant file (absolute ones are refused), so the
    form files are copied beside it."""
    data = yaml.safe_load(HANOI.read_text(encoding="utf-8"))
    data["calendar"]["seconds_per_day"] = seconds_per_day
    folder.mkdir(parents=True, exist_ok=True)
    for form in data.get("forms", []):
        (folder / form).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(HANOI.parent / form, folder / form)
    copy = folder / "tenant.yaml"
    copy.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return copy


def auth(subject: str, *roles: str) -> dict[str, str]:
    """Bearer header of ``subject`` in Hà Nội (role ``staff`` unless ``roles`` are given)."""
    token = issue_token(TENANT, subject, set(roles) or {"staff"})
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Clock:
    """The tasks API's ``today`` (a dependency override), moved by the test."""

    day: date

    def __call__(self) -> date:
        return self.day


@dataclass
class Tasks:
    """Tasks of one month driven through the tasks API (created and assigned by ``head``)."""

    client: httpx.Client
    clock: Clock
    start: date
    due: date
    created: list[str] = field(default_factory=list)

    def create(
        self, head: str, unit: str, person: str, item: str, quantity: str, group: str = "regular"
    ) -> str:
        """A task of ``person`` in ``unit`` (catalog ``item`` × ``quantity``), assigned."""
        body = {
            "name": f"{item} × {quantity} — {person}",
            "basis": "Kế hoạch 45/KH-UBND",
            "group": group,
            "lead_unit": unit,
            "lead_person": person,
            "start_date": self.start.isoformat(),
            "due_date": self.due.isoformat(),
            "output_product": "Văn bản trình ký",
            "quality_criteria": "Đúng thể thức, đúng hạn",
            "catalog_item": item,
            "quantity": quantity,
        }
        created = self.client.post(f"/tenants/{TENANT}/tasks", headers=auth(head), json=body)
        assert created.status_code == 201, created.text
        code = str(created.json()["code"])
        self.move(code, "assign", head)
        self.created.append(code)
        return code

    def move(self, code: str, action: str, who: str, **body: Any) -> dict[str, Any]:
        """``POST /tasks/{code}/{action}`` as ``who``; must succeed. A submission carries an
        evidence file uploaded by ``who`` (required since issue 15, ``000 §VI.4``)."""
        if action == "submit" and not body.get("evidence_ids"):
            stored = self.client.post(
                f"/tenants/{TENANT}/evidence",
                params={"filename": f"{code}.pdf"},
                headers=auth(who),
                content=b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
            )
            assert stored.status_code == 201, stored.text
            body["evidence_ids"] = [stored.json()["id"]]
        answer = self.client.post(
            f"/tenants/{TENANT}/tasks/{code}/{action}", headers=auth(who), json=body
        )
        assert answer.status_code in (200, 201), (code, action, answer.text)
        return dict(answer.json())

    def done_and_approved(self, code: str, person: str, head: str) -> None:
        """``person`` starts and submits, ``head`` approves."""
        for action, who in (("start", person), ("submit", person), ("approve", head)):
            self.move(code, action, who)

    def worked_example(self, head: str, unit: str, person: str) -> list[str]:
        """002's worked example (Bảng điểm tháng 6/2026) for ``person``: 3 focus tasks (57
        points), 8 regular (64), 1 arising (11) = 132 points; the big one returned once for
        quality, one regular submitted 2 working days late with an objective cause, the
        meeting and the arising report not completed → a 104/132, b 97/132, c 104/132 and,
        with general criteria 30, 83.9 points, grade B. ``due`` must be a Friday."""
        self.clock.day = self.start
        big = self.create(head, unit, person, "VP-DA-01", "3.5", "focus")  # 8.0 × 3.5
        plan = self.create(head, unit, person, "VP-KH-01", "4", "focus")  # 3.0 × 4
        meeting = self.create(head, unit, person, "VP-HN-01", "4.25", "focus")  # 4.0 × 4.25
        regular = [self.create(head, unit, person, "VP-VB-01", "8") for _ in range(8)]
        arising = self.create(head, unit, person, "VP-BC-01", "5.5", "arising")
        for code in [big, plan, meeting, *regular]:
            self.move(code, "start", person)
        self.clock.day = self.due.replace(day=self.due.day - 2)
        self.move(big, "submit", person)
        returned = self.move(big, "return", head, reason="Thiếu số liệu", for_quality=True)
        assert returned["status"] == "returned"
        self.move(big, "submit", person)
        for code in [big, plan, *regular[:7]]:
            if code != big:
                self.move(code, "submit", person)
            self.move(code, "approve", head)
        self.clock.day = self.due.replace(day=self.due.day + 4)  # Friday + 4 = 2 working days
        self.move(regular[7], "submit", person)
        cause = self.client.post(
            f"/tenants/{TENANT}/tasks/{regular[7]}/objective-causes",
            headers=auth(head),
            json={"kind": "delay", "why": "Mất điện diện rộng"},
        )
        assert cause.status_code == 201, cause.text
        self.move(regular[7], "approve", head)
        return [big, plan, meeting, *regular, arising]
