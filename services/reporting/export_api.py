"""Reporting exports over HTTP (issue 6, "Exports"): Excel (.xlsx) and PDF files built from the
read models (:mod:`services.reporting.export_records`) by the shared export library
(:mod:`services.common.exports`).

Under ``/tenants/{tenant}/reports``, each with ``format=xlsx|pdf``:

* ``GET /units/{unit}/summary/export?period=YYYY-MM`` — the unit's monthly summary list
  (record 2 of ``001 §V.2``);
* ``GET /units/{unit}/commendation/export?period=YYYY-MM`` — the commendation list (record 3);
* ``GET /people/{person}/card/export?period=YYYY-MM`` — the person's card of ``002``;
* ``GET /provincial/export?period=YYYY-MM|YYYY-Qn[&reporter=...]`` — the monthly summary or the
  3-monthly review to the provincial standing office (``003``, Phụ lục row 10): per unit the
  people, grades A–D, not evaluated, tasks done / late and the average score.

Access as the JSON endpoints of :mod:`services.reporting.api` (the same checks, Rego package
``woms.reporting.authz``): a unit's lists ``reporting.unit``, a card ``reporting.person``, the
provincial summary ``reporting.tenant``. Names of people and units are read from planning
(``PLANNING_URL``, service token); an unknown unit or person is 404, a bad period or format
422 naming the field, planning unreachable 503. Answers are files: ``Content-Type`` of the
format and a ``Content-Disposition`` with an ASCII name and the exact Vietnamese name
(:func:`services.common.exports.download.content_disposition`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Annotated, Any, Literal, Protocol

import httpx
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from services.common import tenancy
from services.common.auth import issue_token
from services.common.db import transaction
from services.common.exports import parse_record
from services.common.exports.download import FILE_RESPONSES, file_response
from services.common.settings import get_settings
from services.common.text import Text
from services.common.web import Context
from services.reporting import export_records, queries, service
from services.reporting.api import (
    SUBJECT,
    AxisQ,
    Caller,
    Code,
    Ctx,
    PeriodQ,
    Relations,
    RelationSource,
    TenantsQ,
    TodayQ,
    _central,
    _check,
    day_of,
    named_ranking,
    reading,
    tenant_names,
)

FormatQ = Annotated[
    Literal["xlsx", "pdf"],
    Query(alias="format", description="Định dạng tệp / file format: xlsx | pdf"),
]
MonthOrQuarterQ = Annotated[
    str,
    Query(
        pattern=r"^(19|20)\d{2}-((0[1-9]|1[0-2])|Q[1-4])$",
        description="Kỳ / period: YYYY-MM (hằng tháng) hoặc YYYY-Qn (sơ kết 3 tháng)",
    ),
]
#: The unit that compiles the summary to the provincial standing office (``003``, row 10).
DEFAULT_REPORTER = "Ban Tổ chức Tỉnh ủy"
#: Below this many codes names are read one by one; above, page by page.
_ONE_BY_ONE = 5

router = APIRouter(prefix="/tenants/{tenant}/reports", tags=["exports"])
central_files = APIRouter(prefix="/central", tags=["exports"])
#: The ranking axes by their Vietnamese names (the columns of the ranking file).
AXIS_LABELS = {
    "done_percent": "Tỷ lệ hoàn thành nhiệm vụ",
    "on_time_percent": "Tỷ lệ đúng hạn",
    "points_completed_percent": "Tỷ lệ điểm quy đổi hoàn thành",
    "a_percent": "Tỷ lệ xếp loại A",
    "published_percent": "Tỷ lệ đã công khai kết quả",
    "late_people": "Số người chậm bước đánh giá",
}
FILES = FILE_RESPONSES


# --- names from planning -------------------------------------------------------------------


class NameSource(Protocol):
    """Names of units and people as printed on the exports (planning's org chart)."""

    def unit_names(self, tenant: str, units: Collection[str]) -> dict[str, str]:
        """Code → name of the known ``units`` (unknown codes are left out)."""
        ...

    def person_names(
        self, tenant: str, people: Collection[str], unit: str | None = None
    ) -> dict[str, str]:
        """Code → name of the known ``people`` (``unit``: where most of them are members)."""
        ...


class HttpNames:
    """Names read from the planning API (``PLANNING_URL``) with a service token (subject
    ``system:reporting``, role ``service``): one by one for a few codes, else by pages of 200
    (``GET /units``, ``GET /people?unit=``). Planning unreachable or answering an error → 503."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(base_url=get_settings().planning_url, timeout=10.0)

    def _get(self, tenant: str, path: str, params: dict[str, Any] | None = None) -> Any:
        token = issue_token(tenant, SUBJECT, {"service"}, ttl_s=300)
        try:
            answer = self._client.get(
                f"/tenants/{tenant}{path}",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise HTTPException(503, f"không đọc được tên / planning unavailable: {exc}") from exc
        if answer.status_code == 404 and params is None:
            return None
        if answer.status_code != 200:
            raise HTTPException(503, f"không đọc được tên / planning answered {answer.status_code}")
        return answer.json()

    def _pages(self, tenant: str, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self._get(tenant, path, {**params, "offset": offset, "limit": 200})
            yield from page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return

    def _named(
        self, tenant: str, kind: str, codes: Collection[str], params: dict[str, Any] | None
    ) -> dict[str, str]:
        wanted = set(codes)
        found: dict[str, str] = {}
        if params is not None and len(wanted) > _ONE_BY_ONE:
            for item in self._pages(tenant, f"/{kind}", params):
                if item["code"] in wanted:
                    found[item["code"]] = item["name"]
        for code in sorted(wanted - set(found)):
            item = self._get(tenant, f"/{kind}/{code}")
            if item is not None:
                found[code] = item["name"]
        return found

    def unit_names(self, tenant: str, units: Collection[str]) -> dict[str, str]:
        return self._named(tenant, "units", units, {})

    def person_names(
        self, tenant: str, people: Collection[str], unit: str | None = None
    ) -> dict[str, str]:
        return self._named(tenant, "people", people, {"unit": unit} if unit else None)


def names(request: Request) -> NameSource:
    """The app's name source (``app.state.names``; an :class:`HttpNames` on first use)."""
    source: NameSource | None = getattr(request.app.state, "names", None)
    if source is None:
        source = request.app.state.names = HttpNames()
    return source


Names = Annotated[NameSource, Depends(names)]


def _unknown(field: str, code: str) -> HTTPException:
    return HTTPException(
        404, [{"loc": ["path", field], "msg": f"không tồn tại / unknown {field}: {code}"}]
    )


def _file(data: dict[str, Any], fmt: Literal["xlsx", "pdf"], stem: str) -> Response:
    return file_response(parse_record(data), fmt, stem)


# --- endpoints -----------------------------------------------------------------------------


def _unit_rows(
    ctx: Context,
    request: Request,
    source: RelationSource,
    unit: str,
    period: str,
    src: NameSource,
) -> tuple[str, list[dict[str, Any]], dict[str, str]]:
    _check(ctx, source, period, unit=unit)
    unit_name = src.unit_names(ctx.tenant, [unit]).get(unit)
    if unit_name is None:
        raise _unknown("unit", unit)
    with reading(request) as conn:
        rows = service.evaluation_rows(conn, [ctx.tenant], period, unit=unit)
    people = src.person_names(ctx.tenant, [r["person"] for r in rows], unit=unit)
    return unit_name, rows, people


@router.get("/units/{unit}/summary/export", response_class=Response, responses=FILES)
def unit_summary_file(
    ctx: Ctx,
    request: Request,
    source: Relations,
    src: Names,
    unit: Code,
    period: PeriodQ,
    fmt: FormatQ,
) -> Response:
    """Danh sách tổng hợp kết quả đánh giá, xếp loại (``001 §V.2`` record 2) of the unit's month
    from the read models: each person's step, score, proposed and final grade, counts by final
    grade. The general-criteria points and the task result are in the evaluation service's
    record (``GET /tenants/{t}/units/{unit}/records/{period}?format=``)."""
    unit_name, rows, people = _unit_rows(ctx, request, source, unit, period, src)
    data = export_records.unit_summary(unit_name, period, rows, people)
    return _file(data, fmt, f"Danh sách tổng hợp {unit} {period}")


@router.get("/units/{unit}/commendation/export", response_class=Response, responses=FILES)
def commendation_file(
    ctx: Ctx,
    request: Request,
    source: Relations,
    src: Names,
    unit: Code,
    period: PeriodQ,
    fmt: FormatQ,
) -> Response:
    """Danh sách đề nghị khen thưởng (``001 §V.2`` record 3): the unit's decided or published
    people with final grade A, best score first."""
    unit_name, rows, people = _unit_rows(ctx, request, source, unit, period, src)
    data = export_records.commendation_list(unit_name, period, rows, people)
    return _file(data, fmt, f"Danh sách đề nghị khen thưởng {unit} {period}")


@router.get("/people/{person}/card/export", response_class=Response, responses=FILES)
def card_file(
    ctx: Ctx,
    request: Request,
    source: Relations,
    src: Names,
    person: Code,
    period: PeriodQ,
    fmt: FormatQ,
    today: TodayQ = None,
) -> Response:
    """Báo cáo nhiệm vụ được giao (``002``) as a file: the figures of
    ``GET /people/{person}/card`` (tasks and points by group, done, late, score, grade)."""
    _check(ctx, source, period, person=person)
    name = src.person_names(ctx.tenant, [person]).get(person)
    if name is None:
        raise _unknown("person", person)
    with reading(request) as conn:
        month = service.person_month(conn, ctx.tenant, person, period, today=day_of(today))
    units = [u["unit"] for u in month["covers"]["units"]]
    unit_names = src.unit_names(ctx.tenant, units) if units else {}
    unit = ", ".join(unit_names.get(u, u) for u in units) or None
    data = export_records.person_card(month, name, unit, period)
    return _file(data, fmt, f"Báo cáo nhiệm vụ được giao {person} {period}")


@router.get("/provincial/export", response_class=Response, responses=FILES)
def provincial_file(
    ctx: Ctx,
    request: Request,
    source: Relations,
    src: Names,
    period: MonthOrQuarterQ,
    fmt: FormatQ,
    reporter: Annotated[
        Text, Query(min_length=1, max_length=200, description="Đơn vị báo cáo / reporting body")
    ] = DEFAULT_REPORTER,
    today: TodayQ = None,
) -> Response:
    """Báo cáo Thường trực Tỉnh ủy (``003``, Phụ lục row 10): for ``YYYY-MM`` the monthly summary,
    for ``YYYY-Qn`` the 3-monthly review (the three months' figures added up, people and grades
    counted per month). Per unit: people, graded, A–D, not evaluated, tasks, done, late (done
    late or overdue), average score; and the tenant's total. Needs ``reporting.tenant``."""
    _check(ctx, source, period)
    day = day_of(today)
    evaluations: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    with reading(request) as conn:
        for month in export_records.quarter_months(period):
            evaluations += service.evaluation_rows(conn, [ctx.tenant], month)
            tasks += service.task_summary(conn, [ctx.tenant], month, by="unit", today=day)["rows"]
    codes = {r["unit"] for r in evaluations} | {r["unit"] for r in tasks}
    unit_names = src.unit_names(ctx.tenant, codes) if codes else {}
    with transaction(tenancy.registry_engine()) as session:
        tenant = tenancy.get_tenant(session, ctx.tenant)
    province = tenant.name if tenant is not None else ctx.tenant
    units = export_records.provincial_units(evaluations, tasks, unit_names)
    data = export_records.provincial_summary(period, province, reporter, units)
    kind = "Báo cáo sơ kết 3 tháng" if data["kind"] == "quarterly" else "Báo cáo tổng hợp KPI"
    return _file(data, fmt, f"{kind} {period}")


@central_files.get("/rankings/export", response_class=Response, responses=FILES)
def ranking_file(
    request: Request,
    caller: Caller,
    period: PeriodQ,
    tenants: TenantsQ,
    fmt: FormatQ,
    axis: AxisQ = "done_percent",
    today: TodayQ = None,
) -> Response:
    """Xếp hạng đơn vị / the ranking of ``GET /central/rankings`` as a file: rank, tenant and
    unit names, the value on the axis, tasks (total, done, overdue) and grades (graded, A),
    with their totals. The same check as the JSON (``reporting.central``)."""
    asked = _central(caller, tenants)
    with reading(request) as conn:
        ranking = queries.unit_ranking(conn, asked, period, axis, today=day_of(today))
    named = named_ranking(request, ranking)
    data = export_records.unit_ranking(named, AXIS_LABELS[axis], tenant_names(asked))
    return _file(data, fmt, f"Xếp hạng đơn vị {period}")
