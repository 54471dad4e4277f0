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
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.common.auth import issue_token
from services.common.roles import HttpGrants
from services.web import backend as backend_module
from services.web import evaluation_pages, home_pages, reports_pages, tasks_pages
from services.web.backend import ApiError, Backend, ServiceDown
from services.web.messages import FORM, field_errors
from services.web.pages import (
    HERE,
    NAME_COOKIE,
    ROLE_LABELS,
    TOKEN_COOKIE,
    LoginRequired,
    granted_roles,
    render,
    settings_of,
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

    @app.exception_handler(ServiceDown)
    async def service_down(request: Request, exc: ServiceDown) -> Response:
        what = SERVICE_NAMES.get(exc.service, exc.service)
        return render(
            request,
            "message.html",
            None,
            status_code=503,
            title="Dịch vụ tạm thời không truy cập được",
            message=f"Dịch vụ {what} không phản hồi. Vui lòng thử lại sau ít phút.",
        )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        message = field_errors(exc.status, exc.detail)
        return render(
            request,
            "message.html",
            None,
            status_code=exc.status if 400 <= exc.status < 500 else 502,
            title="Không thực hiện được yêu cầu",
            message=message.get(FORM) or "; ".join(f"{k}: {v}" for k, v in message.items()),
        )

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
