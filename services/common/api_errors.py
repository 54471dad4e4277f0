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

The 422 of a body, query or path that fails validation is written by
:func:`validation_error_answer` (installed by :func:`declare_error_responses`): each problem
``{"loc", "msg", "type", "input"?}`` names the field and the reason, and echoes the input only
when it can be written as UTF-8 JSON — a JSON string with a lone surrogate (``"ab\\ud800cd"``,
which ``json.loads`` accepts but UTF-8 cannot encode) is not echoed, and a field name carrying
one is shown escaped (``\\ud800``). FastAPI's own handler echoed it and failed while encoding
its answer: a 500, and the connection was reset for the next request (issue 15).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, RootModel

MAX_ECHO_CHARS = 200
"""Inputs whose JSON is longer than this many characters are not echoed back (a 422 never
returns a megabyte of the caller's own body)."""
NOT_SHOWN = (
    "giá trị không hiển thị được (không phải văn bản Unicode hợp lệ) / "
    "input not shown: not valid Unicode text"
)


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


def _text(value: str) -> str:
    """``value`` with what UTF-8 cannot encode (lone surrogates) as ``\\uXXXX`` escapes."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _utf8_json(value: Any) -> str | None:
    """``value`` as UTF-8-encodable JSON text, or ``None`` when it is not (a lone surrogate,
    an object JSON cannot hold)."""
    try:
        text = json.dumps(jsonable_encoder(value), ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return None
    return text


def safe_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validation problems (``RequestValidationError.errors()``) as JSON-safe items
    ``{"loc": [...], "msg": str, "type": str, "input"?: any}``: ``loc`` parts and ``msg``
    escaped where UTF-8 cannot encode them; ``input`` kept only when it is UTF-8-encodable
    JSON of at most :data:`MAX_ECHO_CHARS` characters — otherwise left out, and ``msg`` says
    so when the input was not valid text. A missing field echoes nothing (its "input" is the
    whole enclosing object). ``ctx`` is dropped (it may carry the input)."""
    items = []
    for error in errors:
        loc = [p if isinstance(p, int) else _text(str(p)) for p in error.get("loc", ())]
        item: dict[str, Any] = {
            "loc": loc,
            "msg": _text(str(error.get("msg", ""))),
            "type": _text(str(error.get("type", "value_error"))),
        }
        if "input" in error and item["type"] != "missing":  # a missing field's input: the parent
            shown = _utf8_json(error["input"])
            if shown is None:
                item["msg"] += f" ({NOT_SHOWN})"
            elif len(shown) <= MAX_ECHO_CHARS:
                item["input"] = json.loads(shown)
        items.append(item)
    return items


async def validation_error_answer(_: Request, exc: Exception) -> JSONResponse:
    """422 ``{"detail": safe_errors(exc.errors())}`` for a :class:`RequestValidationError`."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(status_code=422, content={"detail": safe_errors(errors)})


def declare_error_responses(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI declare the error answers above on every operation (added to
    the schema when it is first built, so routes included later are covered; an operation's
    own declaration of a code wins), and answer validation errors with
    :func:`validation_error_answer` (never echoing input UTF-8 cannot encode)."""
    app.add_exception_handler(RequestValidationError, validation_error_answer)
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
