"""The work of June 2026 in phường Phúc Lợi, played through the planning and tasks APIs.

* **Plans and key results** (planning API): the Văn phòng HĐND và UBND's plan for the month
  (built from its May plan in the tenant file), drafted and submitted by its head P019,
  returned once by the approver and approved after resubmission; progress of its key results
  logged with evidence (``004`` Part A).
* **Tasks** (tasks API, "6 rõ" fields, points = quantity × the catalog coefficient,
  ``001 §III.1``): assigned from the catalog by the unit heads, progress notes, submissions
  with evidence files, returns for quality, late submissions (in working days), an objective
  cause confirmed (``001 §III.2``).
* **P021 reproduces the worked example of ``002``** ("Bảng điểm đánh giá kết quả công việc
  tháng 6/2026"): 3 focus tasks (57 points), 8 regular (64), 1 arising (11) = 132 points; the
  big one returned once for quality, one regular submitted 2 working days late with an
  objective cause, the meeting and the arising report not completed → a 104/132, b 97/132,
  c 104/132 and, with general criteria 30, 83.9 points, "Hoàn thành tốt" (B).

The tasks API's clock is the demo's :class:`~woms.demo_api.Clock`, moved through the month.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from woms.demo_api import Api, Clock, DemoError
from woms.demo_tenant import HANOI

PERIOD = "2026-06"
START = date(2026, 6, 1)
DUE = date(2026, 6, 19)  # a Friday: the worked example's late task is 2 working days late
MONTH_END = date(2026, 6, 30)
WORKED_EXAMPLE = "P021"
PLAN_CODE = "PL-VP-2026-06"
MAY_PLAN = "PL-VP-2026-05"

#: person -> (unit, head who assigns, [(catalog item, quantity, group)]), all done and approved
ROUTINE: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "P022": ("PL-VP", "P019", [("VP-BC-01", "2", "focus"), ("VP-VB-01", "3", "regular")]),
    "P024": ("PL-VP", "P019", [("VP-VB-01", "4", "regular")]),
    "P027": ("PL-VHXH", "P026", [("VH-BC-01", "3", "regular")]),
    "P032": ("PL-KTHTDT", "P031", [("KT-BC-01", "2", "regular"), ("KT-GP-01", "1", "focus")]),
}
#: P023: on time except one submitted 3 working days late without an objective cause
LATE = ("P023", "PL-VP", "P019")
#: P028: a return for quality, then approved
RETURNED = ("P028", "PL-VHXH", "P026")


def evidence_pdf(title: str) -> bytes:
    """A one-page PDF (fpdf2, core font: ASCII text) used as an evidence file."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, title.encode("ascii", "replace").decode())
    return bytes(pdf.output())


@dataclass
class Month:
    """What the month's play created: task codes per person, the plan code, counters."""

    tasks: dict[str, list[str]] = field(default_factory=dict)
    plan: str = PLAN_CODE
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


class MonthPlayer:
    """Plays :data:`PERIOD` through the APIs; ``say`` prints progress lines."""

    def __init__(
        self, api: Api, clock: Clock, say: Callable[[str], None], tenant_file: Path = HANOI
    ) -> None:
        self.api = api
        self.clock = clock
        self.say = say
        self.tenant_file = tenant_file
        self.month = Month()

    # --- plans and key results -----------------------------------------------------------

    def june_plan(self) -> dict[str, Any]:
        """PL-VP's June plan: its May plan of the tenant file with June codes, no values."""
        data = yaml.safe_load(self.tenant_file.read_text(encoding="utf-8"))
        may = next(p for p in data["plans"] if p["code"] == MAY_PLAN)
        plan = copy.deepcopy(may)
        plan["code"] = PLAN_CODE
        plan["title"] = "Kế hoạch công tác tháng 6/2026 của Văn phòng HĐND và UBND phường"
        plan["period"] = {"kind": "month", "year": 2026, "number": 6}
        plan.pop("status", None)
        for objective in plan["objectives"]:
            objective["code"] = objective["code"].replace("M05", "M06")
            for kr in objective["key_results"]:
                kr["code"] = kr["code"].replace("M05", "M06")
                kr.pop("current", None)
        return plan

    def plans(self) -> None:
        """Draft → submit → returned → resubmit → approved; then key-result progress."""
        api, head = self.api, "P019"
        self.clock.day = START
        body = self.june_plan()
        existing = api.status("planning", "GET", f"/plans/{PLAN_CODE}", head)
        if existing == 200:
            raise DemoError(f"{PLAN_CODE} already exists: this home already played the demo")
        api.call("planning", "POST", "/plans", head, json=body)
        api.call("planning", "POST", f"/plans/{PLAN_CODE}/submit", head)
        approver = "P003"  # Chủ tịch UBND phường: head of the parent unit PL-UBND
        api.call(
            "planning",
            "POST",
            f"/plans/{PLAN_CODE}/return",
            approver,
            json={"reason": "Bổ sung chỉ tiêu số hóa văn bản"},
        )
        api.call("planning", "PUT", f"/plans/{PLAN_CODE}", head, json=body)
        api.call("planning", "POST", f"/plans/{PLAN_CODE}/submit", head)
        approved = api.call("planning", "POST", f"/plans/{PLAN_CODE}/approve", approver)
        self.say(
            f"  kế hoạch / plan {PLAN_CODE}: lập, trả lại, nộp lại, {approved['status']} "
            f"(P019 → {approver})"
        )
        progress = [
            ("PL-VP-M06-O1-KR1", "1.4", "Báo cáo 15/BC-VP về hồ sơ quá hạn"),
            ("PL-VP-M06-O1-KR2", "6", "Báo cáo rà soát thủ tục 16/BC-VP"),
            ("PL-VP-M06-O1-KR2", "11", "Báo cáo rà soát thủ tục 18/BC-VP"),
            ("PL-VP-M06-O2-KR1", "100", "Biên bản kỳ họp chuyên đề"),
            ("PL-VP-M06-O3-KR1", "96", "Thống kê ký số trên hệ thống quản lý văn bản"),
        ]
        for code, value, evidence in progress:
            api.call(
                "planning",
                "POST",
                f"/key-results/{code}/progress",
                head,
                json={"value": value, "evidence": evidence},
            )
            self.month.count("key-result updates")
        detail = api.call(
            "planning", "GET", f"/plans/{PLAN_CODE}", head, params={"today": str(MONTH_END)}
        )
        self.say(
            f"  tiến độ kết quả then chốt / key-result progress: {len(progress)} cập nhật, "
            f"kế hoạch đạt {_percent(detail.get('progress'))}"
        )

    # --- tasks ---------------------------------------------------------------------------

    def create(
        self,
        head: str,
        unit: str,
        person: str,
        item: str,
        quantity: str,
        group: str = "regular",
        due: date = DUE,
    ) -> str:
        """A task of ``person`` from catalog ``item`` × ``quantity``, created and assigned by
        ``head``, the head of ``person``'s unit: an authority over the lead (``DOMAIN.md §4``,
        ``001 §II.3``; the tasks API refuses anyone else)."""
        body = {
            "name": f"{item} × {quantity} — {person}",
            "basis": "Kế hoạch công tác tháng 6/2026",
            "group": group,
            "lead_unit": unit,
            "lead_person": person,
            "start_date": START.isoformat(),
            "due_date": due.isoformat(),
            "output_product": "Văn bản trình ký",
            "quality_criteria": "Đúng thể thức, đúng hạn",
            "catalog_item": item,
            "quantity": quantity,
        }
        created = self.api.call("tasks", "POST", "/tasks", head, json=body)
        code = str(created["code"])
        self.move(code, "assign", head)
        self.month.tasks.setdefault(person, []).append(code)
        self.month.count("tasks")
        return code

    def move(self, code: str, action: str, who: str, **body: Any) -> dict[str, Any]:
        """``POST /tasks/{code}/{action}`` as ``who``; a submission without evidence ids gets
        an evidence file uploaded by ``who`` (every product carries its evidence, 000 §VI.4)."""
        if action == "submit" and not body.get("evidence_ids"):
            body["evidence_ids"] = [self.evidence(who, f"{code}.pdf", f"San pham {code}")]
        moved = self.api.call("tasks", "POST", f"/tasks/{code}/{action}", who, json=body)
        if action in ("submit", "return"):
            self.month.count(f"{action}s")
        return dict(moved)

    def evidence(self, who: str, filename: str, title: str) -> int:
        """Upload an evidence file as ``who``; returns its id."""
        stored = self.api.call(
            "tasks",
            "POST",
            "/evidence",
            who,
            params={"filename": filename},
            content=evidence_pdf(title),
        )
        self.month.count("evidence files")
        return int(stored["id"])

    def progress(self, code: str, who: str, percent: int, note: str) -> None:
        self.api.call(
            "tasks", "POST", f"/tasks/{code}/progress", who, json={"percent": percent, "note": note}
        )
        self.month.count("progress notes")

    def done(self, code: str, person: str, head: str, with_evidence: bool = True) -> None:
        """``person`` starts, reports progress, submits (with an evidence file); ``head``
        approves."""
        self.move(code, "start", person)
        self.progress(code, person, 50, "Đã hoàn thành dự thảo")
        ids = [self.evidence(person, f"{code}.pdf", f"Ket qua {code}")] if with_evidence else []
        self.move(code, "submit", person, evidence_ids=ids)
        self.move(code, "approve", head)

    def worked_example(self, head: str = "P019", unit: str = "PL-VP") -> list[str]:
        """002's worked example for :data:`WORKED_EXAMPLE` (see the module notes)."""
        person = WORKED_EXAMPLE
        self.clock.day = START
        big = self.create(head, unit, person, "VP-DA-01", "3.5", "focus")  # 8.0 × 3.5
        plan = self.create(head, unit, person, "VP-KH-01", "4", "focus")  # 3.0 × 4
        meeting = self.create(head, unit, person, "VP-HN-01", "4.25", "focus")  # 4.0 × 4.25
        regular = [self.create(head, unit, person, "VP-VB-01", "8") for _ in range(8)]
        arising = self.create(head, unit, person, "VP-BC-01", "5.5", "arising")
        for code in [big, plan, meeting, *regular]:
            self.move(code, "start", person)
        self.clock.day = date(2026, 6, 10)
        self.progress(big, person, 60, "Đã xong dự thảo đề án, chờ số liệu khảo sát")
        self.clock.day = DUE.replace(day=DUE.day - 2)
        proof = self.evidence(person, "de-an.pdf", "De an trinh HDND phuong")
        self.move(big, "submit", person, evidence_ids=[proof])
        self.move(big, "return", head, reason="Thiếu số liệu khảo sát", for_quality=True)
        fixed = self.evidence(person, "de-an-bo-sung.pdf", "De an (bo sung so lieu khao sat)")
        self.move(big, "submit", person, evidence_ids=[fixed])
        for code in [big, plan, *regular[:7]]:
            if code != big:
                self.move(code, "submit", person)
            self.move(code, "approve", head)
        self.clock.day = DUE.replace(day=DUE.day + 4)  # Friday + 4 = 2 working days late
        self.move(regular[7], "submit", person)
        self.api.call(
            "tasks",
            "POST",
            f"/tasks/{regular[7]}/objective-causes",
            head,
            json={"kind": "delay", "why": "Mất điện diện rộng"},
        )
        self.month.count("objective causes")
        self.move(regular[7], "approve", head)
        return [big, plan, meeting, *regular, arising]

    def tasks(self) -> None:
        """Every task of the month (see the module notes)."""
        self.worked_example()
        self.say(f"  {WORKED_EXAMPLE}: 12 nhiệm vụ / tasks, 132 điểm (ví dụ của 002)")
        self.clock.day = date(2026, 6, 15)
        for person, (unit, head, items) in ROUTINE.items():
            for item, quantity, group in items:
                self.done(self.create(head, unit, person, item, quantity, group), person, head)
        person, unit, head = LATE
        self.clock.day = START
        on_time = self.create(head, unit, person, "VP-VT-01", "40")  # 0.1 × 40 = 4 points
        late = self.create(head, unit, person, "VP-KS-01", "2", "focus")  # 1.5 × 2 = 3 points
        self.clock.day = date(2026, 6, 12)
        self.done(on_time, person, head)
        self.move(late, "start", person)
        self.clock.day = date(2026, 6, 24)  # Wednesday: 3 working days after Friday 19
        self.move(late, "submit", person)
        self.move(late, "approve", head)
        person, unit, head = RETURNED
        self.clock.day = date(2026, 6, 8)
        code = self.create(head, unit, person, "VH-CS-01", "8")  # 0.75 × 8 = 6 points
        self.move(code, "start", person)
        self.clock.day = date(2026, 6, 16)
        self.move(code, "submit", person, evidence_ids=[self.evidence(person, "hs.pdf", "Ho so")])
        self.move(code, "return", head, reason="Hồ sơ thiếu chữ ký xác nhận", for_quality=True)
        self.move(code, "submit", person)
        self.move(code, "approve", head)
        self.clock.day = MONTH_END
        counts = self.month.counts
        self.say(
            f"  {counts.get('tasks', 0)} nhiệm vụ / tasks of {len(self.month.tasks)} people, "
            f"{counts.get('submits', 0)} lần nộp / submissions, {counts.get('returns', 0)} trả "
            f"lại vì chất lượng / returns, {counts.get('evidence files', 0)} minh chứng / "
            f"evidence files, 2 nộp muộn / late, 1 nguyên nhân khách quan / objective cause"
        )


def _percent(value: Any) -> str:
    if value is None:
        return "—"
    from decimal import Decimal

    return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.1'))}%"
