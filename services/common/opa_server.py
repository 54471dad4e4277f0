"""An OPA-REST-compatible policy server backed by regorus: the embedded "OPA sidecar".

No OPA binary ships with a PyPI or Debian package, so ``woms`` brings its own server speaking
the subset of the OPA REST API that ``opa-python-client`` (and :class:`OpaEngine`) use, and
evaluating with regorus. Point ``OPA_URL`` at it to run the HTTP engine locally; production
runs real OPA instead. Policies and data live in memory, per server (:class:`PolicyStore`).

Endpoints (OPA REST API v1 semantics)::

    GET    /health                      -> 200 {}
    GET    /v1/policies                 -> {"result": [{"id", "raw"}, ...]}
    GET    /v1/policies/{id}            -> {"result": {"id", "raw"}} | 404
    PUT    /v1/policies/{id}  (text)    -> 200 {} | 400 {"code", "message", "errors": [...]}
    DELETE /v1/policies/{id}            -> 200 {} | 404
    PUT    /v1/data/{path}    (JSON)    -> 204
    PATCH  /v1/data/{path}    (JSON Patch, RFC 6902, relative to path) -> 204 | 400 | 404
    DELETE /v1/data/{path}              -> 204 | 404
    GET    /v1/data/{path}              -> {"result": value} | {} (undefined)
    POST   /v1/data/{path}    {"input": ...} -> {"result": value} | {} (undefined)

Errors are OPA-shaped: ``{"code": "invalid_parameter" | "resource_not_found" |
"internal_error", "message": ...}``. Rego sets are answered as sorted arrays, as OPA does.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import jsonpatch
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from hobofan_regorus import Engine
from starlette.concurrency import run_in_threadpool

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_BODY = 16 * 1024 * 1024
"""Largest request body accepted (bytes)."""


class StoreError(Exception):
    """A request the store refuses; ``status`` and ``code`` follow OPA's answers."""

    def __init__(self, status: int, code: str, message: str, errors: list[Any] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []


def _clean(exc: Exception) -> str:
    """regorus' message without the Rust stack trace it may append."""
    return str(exc).split("\n\nStack backtrace:")[0].strip()


def _segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s]


def _reference(segments: list[str]) -> str:
    """``["woms", "x-y"]`` -> ``data.woms["x-y"]``."""
    return "data" + "".join(f".{s}" if _IDENT.match(s) else f"[{json.dumps(s)}]" for s in segments)


class PolicyStore:
    """Policies (id -> Rego text) and the base data document, safe to share between threads.

    regorus engines are bound to the thread that made them (dropping one elsewhere leaks it),
    so every engine is built, evaluated and dropped on one worker thread owned by the store;
    the compiled engine is kept there and rebuilt when a change bumped the version. Errors
    come back from the worker as messages, never as tracebacks holding an engine. Call
    :meth:`close` when done.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        """Guards the snapshot below (held briefly; never while waiting on the worker)."""
        self._writing = threading.Lock()
        """Serialises policy uploads, which wait on the worker to check they compile."""
        self._policies: dict[str, str] = {}
        self._data: dict[str, Any] = {}
        self._version = 0
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="woms-policy-regorus")
        self._compiled: tuple[int, Engine] | None = None
        """(version, engine); touched only on the worker thread."""

    def close(self) -> None:
        """Drop the compiled engine on its thread and stop the worker."""
        self._worker.submit(self._forget).result()
        self._worker.shutdown()

    def _forget(self) -> None:
        self._compiled = None

    # --- policies ---------------------------------------------------------------------

    def policies(self) -> dict[str, str]:
        """A copy of ``{id: raw Rego}``."""
        with self._lock:
            return dict(self._policies)

    def put_policy(self, policy_id: str, raw: str) -> None:
        """Add or replace a policy after compiling it with the others.

        Raises:
            StoreError: 400 when the module does not parse.
        """
        with self._writing:
            with self._lock:
                candidate = {**self._policies, policy_id: raw}
            error = self._worker.submit(_compile_error, candidate).result()
            if error is not None:
                raise StoreError(
                    400,
                    "invalid_parameter",
                    "error(s) occurred while compiling module(s)",
                    [{"code": "rego_parse_error", "message": error}],
                )
            with self._lock:
                self._policies = {**self._policies, policy_id: raw}
                self._version += 1

    def delete_policy(self, policy_id: str) -> None:
        """Remove a policy. Raises: StoreError 404 when there is none of that id."""
        with self._writing, self._lock:
            if policy_id not in self._policies:
                raise _not_found(f"policy id {policy_id!r}")
            self._policies = {k: v for k, v in self._policies.items() if k != policy_id}
            self._version += 1

    # --- data -------------------------------------------------------------------------

    def put_data(self, path: str, value: Any) -> None:
        """Set the document at ``path`` (``""`` = the whole base document, an object).

        Raises:
            StoreError: 400 when the root is set to a non-object.
        """
        segments = _segments(path)
        with self._lock:
            data = copy.deepcopy(self._data)
            if not segments:
                if not isinstance(value, dict):
                    raise StoreError(400, "invalid_parameter", "root document must be an object")
                data = value
            else:
                parent = data
                for s in segments[:-1]:
                    child = parent.get(s)
                    if not isinstance(child, dict):
                        child = parent[s] = {}
                    parent = child
                parent[segments[-1]] = value
            self._data = data
            self._version += 1

    def patch_data(self, path: str, patch: Any) -> None:
        """Apply a JSON Patch (paths relative to ``path``) to the document at ``path``.

        Raises:
            StoreError: 404 when ``path`` holds no document; 400 when the patch is invalid.
        """
        segments = _segments(path)
        with self._lock:
            target = self._data
            for s in segments:
                if not isinstance(target, dict) or s not in target:
                    raise _not_found(f"data path /{'/'.join(segments)}")
                target = target[s]
            try:
                patched = jsonpatch.apply_patch(target, patch, in_place=False)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise StoreError(400, "invalid_parameter", f"invalid patch: {exc}") from exc
            except (TypeError, AttributeError, KeyError) as exc:
                raise StoreError(400, "invalid_parameter", "invalid patch document") from exc
        self.put_data(path, patched)

    def delete_data(self, path: str) -> None:
        """Remove the document at ``path``. Raises: StoreError 404 when there is none."""
        segments = _segments(path)
        with self._lock:
            data = copy.deepcopy(self._data)
            if not segments:
                data = {}
            else:
                parent = data
                for s in segments[:-1]:
                    parent = parent.get(s) if isinstance(parent, dict) else None
                if not isinstance(parent, dict) or segments[-1] not in parent:
                    raise _not_found(f"data path /{'/'.join(segments)}")
                del parent[segments[-1]]
            self._data = data
            self._version += 1

    # --- evaluation -------------------------------------------------------------------

    def query(self, path: str, input: Any = None, *, has_input: bool = False) -> dict[str, Any]:
        """Evaluate ``data.<path>`` (with ``input`` when given) as OPA's Data API does.

        Returns:
            ``{"result": value}``, or ``{}`` when the value is undefined.

        Raises:
            StoreError: 500 when evaluation fails (e.g. conflicting rule values).
        """
        query = _reference(_segments(path))
        document = json.dumps(input) if has_input else None
        answer, error = self._worker.submit(self._evaluate, query, document).result()
        if error is not None:
            raise StoreError(500, "internal_error", error)
        rows = answer.get("result") or []
        if not rows:
            return {}
        return {"result": rows[0]["expressions"][0]["value"]}

    def _evaluate(self, query: str, document: str | None) -> tuple[dict[str, Any], str | None]:
        """On the worker: ``(regorus' answer, None)`` or ``({}, error message)``."""
        with self._lock:
            version, policies, data = self._version, self._policies, self._data
        if self._compiled is None or self._compiled[0] != version:
            self._compiled = None
            try:
                self._compiled = (version, _compile(policies, data))
            except RuntimeError as exc:
                return {}, _clean(exc)
        engine = self._compiled[1].clone()
        try:
            if document is not None:
                engine.set_input_json(document)
            return json.loads(engine.eval_query_as_json(query)), None
        except RuntimeError as exc:
            return {}, _clean(exc)


def _compile(policies: dict[str, str], data: dict[str, Any]) -> Engine:
    engine = Engine()
    for policy_id, raw in sorted(policies.items()):
        engine.add_policy(policy_id, raw)
    if data:
        engine.add_data_json(json.dumps(data))
    return engine


def _compile_error(policies: dict[str, str]) -> str | None:
    """On the worker: why ``policies`` do not load, or ``None`` when they do."""
    try:
        _compile(policies, {})
    except RuntimeError as exc:
        return _clean(exc)
    return None


def _not_found(what: str) -> StoreError:
    return StoreError(404, "resource_not_found", f"storage_not_found_error: {what}")


def create_app(store: PolicyStore | None = None) -> FastAPI:
    """The server's ASGI app over ``store`` (by default a new empty store, closed when the app
    shuts down; a store passed in is the caller's to close)."""
    owned = store is None
    store = store or PolicyStore()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            store.close()

    app = FastAPI(title="WOMS policy server (OPA REST API subset, regorus)", lifespan=lifespan)
    app.state.store = store

    @app.exception_handler(StoreError)
    async def _store_error(_: Request, exc: StoreError) -> JSONResponse:
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.errors:
            body["errors"] = exc.errors
        return JSONResponse(body, status_code=exc.status)

    async def body_of(request: Request) -> bytes:
        raw = await request.body()
        if len(raw) > _MAX_BODY:
            raise StoreError(413, "invalid_parameter", "request body too large")
        return raw

    async def json_of(request: Request, *, empty: Any = None) -> Any:
        raw = await body_of(request)
        if not raw.strip():
            return empty
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise StoreError(400, "invalid_parameter", f"body is not JSON: {exc}") from exc

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {}

    @app.get("/v1/policies")
    def list_policies() -> dict[str, Any]:
        return {"result": [{"id": k, "raw": v} for k, v in sorted(store.policies().items())]}

    @app.get("/v1/policies/{policy_id:path}")
    def get_policy(policy_id: str) -> dict[str, Any]:
        if not policy_id:  # GET /v1/policies/ lists them, as OPA does
            return list_policies()
        raw = store.policies().get(policy_id)
        if raw is None:
            raise _not_found(f"policy id {policy_id!r}")
        return {"result": {"id": policy_id, "raw": raw}}

    @app.put("/v1/policies/{policy_id:path}")
    async def put_policy(policy_id: str, request: Request) -> dict[str, Any]:
        if not policy_id:
            raise StoreError(400, "invalid_parameter", "policy id missing")
        raw = await body_of(request)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StoreError(400, "invalid_parameter", "policy is not UTF-8") from exc
        # compiling is CPU work: leave the event loop free
        await _in_thread(store.put_policy, policy_id, text)
        return {}

    @app.delete("/v1/policies/{policy_id:path}")
    def delete_policy(policy_id: str) -> dict[str, Any]:
        store.delete_policy(policy_id)
        return {}

    @app.put("/v1/data")
    @app.put("/v1/data/{path:path}")
    async def put_data(request: Request, path: str = "") -> Response:
        store.put_data(path, await json_of(request, empty={}))
        return Response(status_code=204)

    @app.patch("/v1/data")
    @app.patch("/v1/data/{path:path}")
    async def patch_data(request: Request, path: str = "") -> Response:
        patch = await json_of(request, empty=[])
        if not isinstance(patch, list):
            raise StoreError(400, "invalid_parameter", "a JSON Patch must be an array")
        store.patch_data(path, patch)
        return Response(status_code=204)

    @app.delete("/v1/data")
    @app.delete("/v1/data/{path:path}")
    def delete_data(path: str = "") -> Response:
        store.delete_data(path)
        return Response(status_code=204)

    @app.get("/v1/data")
    @app.get("/v1/data/{path:path}")
    def get_data(path: str = "") -> dict[str, Any]:
        return store.query(path)

    @app.post("/v1/data")
    @app.post("/v1/data/{path:path}")
    async def post_data(request: Request, path: str = "") -> dict[str, Any]:
        body = await json_of(request, empty={})
        if not isinstance(body, dict):
            raise StoreError(400, "invalid_parameter", 'body must be {"input": ...}')
        return await _in_thread(store.query, path, body.get("input"), has_input="input" in body)

    return app


async def _in_thread(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run CPU work (compiling, evaluating) in the thread pool, off the event loop."""
    return await run_in_threadpool(func, *args, **kwargs)


def serve(host: str = "127.0.0.1", port: int = 8181) -> None:
    """Run the server in the foreground (uvicorn) until interrupted; empty at start."""
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


@contextmanager
def serve_in_thread(
    host: str = "127.0.0.1", port: int = 0, store: PolicyStore | None = None
) -> Iterator[str]:
    """Run the server (uvicorn) in a daemon thread for the block; yield its base URL.

    ``port=0`` picks a free port. The server stops when the block ends.

    Raises:
        RuntimeError: when the server does not start within 30 s (e.g. the port is taken).
    """
    server = uvicorn.Server(
        uvicorn.Config(create_app(store), host=host, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="woms-opa-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"policy server did not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main(argv: list[str] | None = None) -> None:
    """``python -m services.common.opa_server [--host H] [--port P]``: run the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8181)
    args = parser.parse_args(argv)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
