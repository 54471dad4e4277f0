"""The web application's FastAPI app (``woms serve web``, port 8100): server-rendered pages in
Vietnamese (Jinja2), a few lines of plain JavaScript, charts drawn server-side (pygal SVG);
nothing is loaded from outside the app at run time.

It is a backend-for-frontend: every figure comes from the services' HTTP APIs (``PLANNING_URL``,
``TASKS_URL``, ``EVALUATION_URL``, ``REPORTING_URL``; :mod:`services.web.settings`) called
with the signed-in person's bearer token; it imports none of the services.

Log-in (embedded mode): a person is chosen from planning's list of the tenant's people, or an
account that is not a person (a subject of planning's role grants, e.g. ``admin``); a token of
the embedded issuer (:func:`services.common.auth.issue_token`, role ``staff`` only) is kept in
an HTTP-only cookie. Nobody chooses roles: they come from planning's role grants
(:mod:`services.common.roles`), as in every service.

Errors (issue 17): every error is a Vietnamese page inside the application's frame
(``error.html`` on ``base.html``, with the menu when signed in) — 404 unknown address, 405,
413 a form field over 1 MB, 422 an address or form value the routes refuse (naming every
field), 500 an unexpected error (logged with a reference shown on the page, no traceback),
502 a service that failed and 503 one that does not answer (naming it, with a retry link).
A client that asks for JSON (``Accept: application/json`` without ``text/html``) gets JSON.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Form, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from services.common.auth import issue_token
from services.common.roles import HttpGrants
from services.web import backend as backend_module
from services.web import evaluation_pages, home_pages, reports_pages, tasks_pages
from services.web.backend import ApiError, Backend, ServiceDown
from services.web.messages import error_lines, field_errors, vietnamese
from services.web.pages import (
    HERE,
    NAME_COOKIE,
    ROLE_LABELS,
    TOKEN_COOKIE,
    LoginRequired,
    granted_roles,
    render,
    settings_of,
    viewer_or_none,
)
from services.web.settings import WebSettings

WEB_SUBJECT = "system:web"
"""Subject of the web app's own token: lists the people and accounts on the log-in page and
reads planning's role grants."""
SERVICE_NAMES = {
    "planning": "kế hoạch",
    "tasks": "nhiệm vụ",
    "evaluation": "đánh giá",
    "reporting": "báo cáo",
}
MAX_FIELD = "1 MB"
"""The largest form field (Starlette's ``max_part_size``, 1 MiB), as the 413 page says it."""
TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Cần đăng nhập",
    403: "Không có quyền truy cập",
    404: "Không tìm thấy trang",
    405: "Thao tác không được hỗ trợ",
    409: "Không thực hiện được yêu cầu",
    413: "Dữ liệu gửi lên quá lớn",
    422: "Dữ liệu không hợp lệ",
    500: "Đã xảy ra lỗi",
    502: "Dịch vụ gặp lỗi",
    503: "Dịch vụ tạm thời không truy cập được",
}
_log = logging.getLogger("services.web")


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON (``Accept`` names ``application/json`` and not
    ``text/html``): API clients keep FastAPI's JSON errors, browsers get pages."""
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


def retry_target(request: Request) -> str:
    """Where "Thử lại" goes: the same address for a GET, else the page the form was sent from
    (the ``Referer``, when it is of this site), else the same path."""
    if request.method in ("GET", "HEAD"):
        query = f"?{request.url.query}" if request.url.query else ""
        return same_origin_path(request.url.path + query)
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path:
        query = f"?{referer.query}" if referer.query else ""
        return same_origin_path(referer.path + query)
    return same_origin_path(request.url.path)


async def error_page(
    request: Request,
    status: int,
    message: str,
    *,
    title: str | None = None,
    lines: list[str] | None = None,
    retry: bool = False,
    reference: str | None = None,
    headers: dict[str, str] | None = None,
    framed: bool = True,
) -> Response:
    """The Vietnamese error page (``error.html``) in the application's frame: the menu when
    the viewer is signed in (``framed``; not when planning itself is down), ``lines`` (each
    error), a retry link, a reference (500)."""
    me = await run_in_threadpool(viewer_or_none, request) if framed else None
    answer = render(
        request,
        "error.html",
        me,
        status_code=status,
        status=status,
        title=title or TITLES.get(status, "Không thực hiện được yêu cầu"),
        message=message,
        lines=lines or [],
        retry=retry_target(request) if retry else None,
        reference=reference,
    )
    for key, value in (headers or {}).items():
        answer.headers[key] = value
    return answer


def _service(name: str) -> str:
    return SERVICE_NAMES.get(name, name)


def same_origin_path(target: str) -> str:
    """``target`` when it is a path of this site, else ``"/"`` (no open redirect after log-in,
    issue 15): it must start with a single ``/`` — not ``//`` or ``/\\`` (browsers read both
    as another host), hold no backslash, control character or space, no scheme or host
    (``urlsplit`` finds neither), and be at most 2,000 characters."""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or len(target) > 2000
        or any(ch.isspace() or not ch.isprintable() for ch in target)
    ):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _people(request: Request) -> list[dict[str, Any]]:
    """Who may sign in: the tenant's people (planning ``/people``), then the accounts that are
    not people (subjects of planning's role grants, named by their code); each with the
    ``roles`` planning grants today."""
    settings = settings_of(request)
    token = issue_token(settings.tenant, WEB_SUBJECT, {"service"}, ttl_s=120)
    backend = Backend(request.app.state.http, settings.tenant, token)
    people: list[dict[str, Any]] = []
    while True:
        page = backend.get("planning", "/people", offset=len(people), limit=200)
        people.extend(page["items"])
        if not page["items"] or len(people) >= page["total"]:
            break
    grants = granted_roles(request, settings.tenant)
    codes = {p["code"] for p in people}
    accounts = [{"code": s, "name": s} for s in sorted(grants) if s not in codes]
    return [
        {**p, "roles": [ROLE_LABELS.get(r, r) for r in sorted(grants.get(p["code"], ()))]}
        for p in [*people, *accounts]
    ]


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The web application.

    Args:
        settings: service URLs, tenant and first period (default: from the environment).
    """
    app = FastAPI(title="WOMS — Ứng dụng web", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.settings = settings or WebSettings()
    app.state.http = backend_module.clients(app.state.settings)
    app.state.role_grants = HttpGrants("web", app.state.http["planning"])  # viewers' roles
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(home_pages.router)
    app.include_router(evaluation_pages.router)
    app.include_router(tasks_pages.router)
    app.include_router(reports_pages.router)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        if isinstance(exc.__context__, MultiPartException):  # Starlette's form limits: 400
            too_big = "size" in str(exc.detail)
            status = 413 if too_big else 400
            exc = StarletteHTTPException(status, str(exc.detail), exc.headers)
        if wants_json(request):
            return await http_exception_handler(request, exc)
        if status == 404:
            message = f"Địa chỉ {request.url.path} không có trong ứng dụng."
        elif status == 405:
            message = f"Địa chỉ {request.url.path} không nhận yêu cầu {request.method}."
        elif status == 413:
            message = (
                f"Mỗi ô của biểu mẫu được tối đa {MAX_FIELD}. Hãy rút gọn nội dung rồi gửi lại; "
                "nút Quay lại của trình duyệt giữ những gì đã nhập."
            )
        elif status == 400 and isinstance(exc.detail, str) and "fields" in exc.detail:
            message = "Biểu mẫu có quá nhiều trường."
        elif isinstance(exc.detail, str):
            message = vietnamese(exc.detail)
        else:
            message = "; ".join(error_lines(field_errors(status, exc.detail)))
        return await error_page(
            request, status, message, retry=status >= 500, headers=dict(exc.headers or {})
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if wants_json(request):
            return await request_validation_exception_handler(request, exc)
        lines = error_lines(field_errors(422, list(exc.errors())))
        return await error_page(
            request,
            422,
            "Địa chỉ hoặc dữ liệu gửi lên có giá trị không hợp lệ:",
            lines=lines,
        )

    @app.exception_handler(ServiceDown)
    async def service_down(request: Request, exc: ServiceDown) -> Response:
        what = _service(exc.service)
        _log.warning("service %s did not answer: %s", exc.service, exc)
        message = f"Dịch vụ {what} không phản hồi. Vui lòng thử lại sau ít phút."
        if wants_json(request):
            return JSONResponse(
                {"detail": {"service": exc.service, "reason": message}}, status_code=503
            )
        return await error_page(request, 503, message, retry=True, framed=exc.service != "planning")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if exc.status >= 500:
            _log.error("service %s answered %s: %r", exc.service, exc.status, exc.detail)
            message = (
                f"Dịch vụ {_service(exc.service)} gặp lỗi khi xử lý yêu cầu. "
                "Vui lòng thử lại sau ít phút."
            )
            if wants_json(request):
                return JSONResponse(
                    {"detail": {"service": exc.service, "reason": message}}, status_code=502
                )
            return await error_page(request, 502, message, retry=True)
        errors = field_errors(exc.status, exc.detail)
        if wants_json(request):
            return JSONResponse({"detail": errors}, status_code=exc.status)
        lines = error_lines(errors)
        return await error_page(
            request,
            exc.status,
            lines[0] if len(lines) == 1 else "Dịch vụ từ chối yêu cầu:",
            title="Không thực hiện được yêu cầu",
            lines=lines if len(lines) > 1 else [],
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        reference = uuid.uuid4().hex[:12]
        _log.error(
            "unexpected error %s on %s %s",
            reference,
            request.method,
            request.url.path,
            exc_info=exc,
        )
        message = (
            "Hệ thống gặp lỗi ngoài dự kiến; yêu cầu chưa được thực hiện. "
            "Vui lòng thử lại, nếu vẫn lỗi hãy báo quản trị hệ thống kèm mã tham chiếu."
        )
        if wants_json(request):
            return JSONResponse({"detail": message, "reference": reference}, status_code=500)
        return await error_page(request, 500, message, retry=True, reference=reference)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> HTMLResponse:
        """Đăng nhập / choose a demo person of the tenant (embedded mode)."""
        return render(
            request,
            "login.html",
            None,
            people=_people(request),
            next=same_origin_path(next),
            tenant=settings_of(request).tenant,
        )

    @app.post("/login")
    def login(
        request: Request,
        person: Annotated[str, Form(max_length=64)],
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        """A token for ``person`` (a person or an account; role ``staff``: the services add
        what planning grants) in a cookie."""
        listed = _people(request)
        people = {p["code"]: p["name"] for p in listed}
        if person not in people:
            return render(
                request,
                "login.html",
                None,
                status_code=422,
                people=listed,
                next="/",
                tenant=settings_of(request).tenant,
                errors={"person": "Chọn một người trong danh sách"},
            )
        token = issue_token(settings_of(request).tenant, person, {"staff"}, ttl_s=8 * 3600)
        answer = RedirectResponse(same_origin_path(next), status_code=303)
        answer.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="lax", max_age=8 * 3600)
        answer.set_cookie(NAME_COOKIE, quote(people[person]), samesite="lax", max_age=8 * 3600)
        return answer

    @app.post("/logout")
    def logout() -> Response:
        answer = RedirectResponse("/login", status_code=303)
        answer.delete_cookie(TOKEN_COOKIE)
        answer.delete_cookie(NAME_COOKIE)
        return answer

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
