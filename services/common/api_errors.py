"""The error answers every service API may give, declared in its OpenAPI (issue 9, "Hostile
input": generated requests must get answers the schema declares).

Every operation may answer ``401`` (no or bad token), ``403`` (the policy denies), ``404``
(unknown object, or another tenant's token), ``413`` (body over the cap,
:mod:`services.common.limits`), ``422`` (bad input naming field and reason), ``429`` (rate
limit, with ``Retry-After``) and ``503`` (policy engine, identity provider or database
unavailable); operations that change state may also answer ``409`` (a step invalid in the
current state), and those with a body ``400`` (a body FastAPI cannot parse). The bodies are
those the services produce: FastAPI's ``{"detail": …}`` (a message, a list of ``{loc, msg,
…}`` items, or an object) or the evaluation service's ``{"field", "reason"}``; FastAPI's
stricter generated 422 schema is replaced by :class:`ApiError`, which covers it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, RootModel


class ErrorItem(BaseModel):
    """One problem: where (``loc``, e.g. ``["body", "name"]``) and why (``msg``)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(default_factory=list)
    msg: str
    type: str | None = None


class DetailError(BaseModel):
    """``{"detail": …}``: a message, a list of problems, or an object (e.g. a policy's
    ``{"action", "reasons"}``)."""

    detail: str | list[ErrorItem] | dict[str, Any]


class FieldError(BaseModel):
    """``{"field", "reason"}`` (the evaluation service's domain errors)."""

    model_config = ConfigDict(extra="allow")

    field: str | None = None
    reason: str


class ApiError(RootModel[DetailError | FieldError]):
    """Body of every 4xx/5xx answer of the service APIs."""


_ALWAYS = {
    401: "Thiếu hoặc sai mã truy cập / missing or invalid bearer token",
    403: "Chính sách không cho phép / denied by the policy",
    404: "Không tìm thấy / not found (or another tenant's token)",
    413: "Nội dung yêu cầu quá lớn / request body too large",
    422: "Dữ liệu không hợp lệ / invalid input (field and reason)",
    429: "Quá nhiều yêu cầu / rate limit exceeded (see Retry-After)",
    503: "Dịch vụ phụ thuộc không truy cập được / a dependency is unavailable",
}
_BODIES = {400: "Nội dung không đọc được / the body cannot be parsed"}
_WRITES = {409: "Không hợp lệ ở trạng thái hiện tại / invalid in the current state"}


def declare_error_responses(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI declare the error answers above on every operation (added to
    the schema when it is first built, so routes included later are covered; an operation's
    own declaration of a code wins)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_errors(schema: dict[str, Any]) -> dict[str, Any]:
    model = ApiError.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(model.pop("$defs", {}))
    components["ApiError"] = model
    ref = {"$ref": "#/components/schemas/ApiError"}
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            codes = dict(_ALWAYS)
            if method != "get":
                codes.update(_WRITES)
            if "requestBody" in operation:
                codes.update(_BODIES)
            responses = operation.setdefault("responses", {})
            if _is_fastapi_default(responses.get("422")):  # the services' own 422s too
                del responses["422"]
            for code, text in codes.items():
                responses.setdefault(
                    str(code),
                    {"description": text, "content": {"application/json": {"schema": ref}}},
                )
    return schema


_METHODS = {"get", "put", "post", "delete", "patch"}


def _is_fastapi_default(response: dict[str, Any] | None) -> bool:
    """FastAPI's generated 422 (``HTTPValidationError``: ``type`` required in each item)."""
    content = (response or {}).get("content", {}).get("application/json", {})
    return content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError")
