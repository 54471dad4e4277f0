"""OpenTelemetry for every WOMS process: traces, metrics, JSON logs (issue 8, docs/telemetry.md).

:func:`setup_telemetry` builds one :class:`Telemetry` per process (a tracer provider and a
meter provider with the exporters chosen by ``WOMS_TELEMETRY``) and makes it *active*: the
rest of the code asks :func:`get_tracer` / :func:`get_meter` at call time, so a test passes
its own providers (an ``InMemorySpanExporter``) instead of relying on OpenTelemetry's global
provider, which can be set only once per process.

Settings (environment, read by :class:`TelemetrySettings`):

* ``WOMS_TELEMETRY`` — ``off`` | ``console`` | ``file`` | ``otlp``. Unset: ``otlp`` when
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (production, a collector), else ``file`` (embedded:
  JSON lines under ``$WOMS_HOME/telemetry/``). The test suite runs with ``off``.
* ``OTEL_EXPORTER_OTLP_PROTOCOL`` — ``http/protobuf`` (default, port 4318) or ``grpc``
  (port 4317, as ``infra/k8s/components/otel-collector`` sets it);
* ``OTEL_EXPORTER_OTLP_ENDPOINT`` (and the other standard ``OTEL_EXPORTER_OTLP_*`` /
  ``OTEL_METRIC_EXPORT_INTERVAL`` variables) — read by the OTLP exporters themselves.

What is traced (all spans carry ``woms.tenant`` when a tenant is known, see
:class:`TenantSpanProcessor`):

* HTTP requests (:func:`instrument_app`, FastAPI instrumentation, ``/health`` and ``/ready``
  excluded), and inside them every database statement (:func:`_DatabaseSpans`; statements
  outside a trace, such as the relay's polling, make no span);
* the outbox: :func:`services.common.outbox.record` stores the request's trace context in the
  CloudEvent (``traceparent``, CloudEvents Distributed Tracing extension), the relay sends
  each event in a producer span whose context goes into the Kafka headers, and the reporting
  consumer applies it in a child span (``services.reporting.tracing``);
* Temporal: :func:`temporal_interceptors` (temporalio's ``TracingInterceptor``) on the clients
  that start or signal workflows and on the workers (client → workflow → activities).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from opentelemetry import baggage, context, propagate, trace
from opentelemetry import metrics as otel_metrics
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, event

from services.common.settings import Settings, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

Mode = Literal["off", "console", "file", "otlp"]

TENANT_ATTRIBUTE = "woms.tenant"
"""Span attribute (and baggage key) naming the tenant of a span, e.g. ``hanoi``."""

TELEMETRY_DIR = "telemetry"
"""Directory under ``WOMS_HOME`` of the ``file`` exporters' JSON-lines files."""

_TENANT_PATH = re.compile(r"^/tenants/([a-z0-9][a-z0-9_-]{0,62})(?:/|$)")
_MAX_STATEMENT = 2000


class TelemetrySettings(BaseSettings):
    """``WOMS_TELEMETRY`` and ``OTEL_EXPORTER_OTLP_ENDPOINT`` (see the module notes)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    woms_telemetry: Mode | None = None
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_protocol: str = "http/protobuf"

    @property
    def otlp_protocol(self) -> str:
        """``grpc`` or ``http/protobuf`` (the OpenTelemetry default), as configured."""
        return self.otel_exporter_otlp_protocol.strip().lower()

    @property
    def mode(self) -> Mode:
        """The explicit mode, else ``otlp`` with an endpoint, else ``file``."""
        if self.woms_telemetry is not None:
            return self.woms_telemetry
        return "otlp" if (self.otel_exporter_otlp_endpoint or "").strip() else "file"


@dataclass
class Telemetry:
    """The process's tracer and meter providers (``None`` both when ``mode`` is ``off``).

    Attributes:
        service_name: ``planning``, ``tasks``, ``evaluation``, ``reporting``, ``worker``,
            ``relay``… (resource ``service.name`` is ``woms-<service_name>``).
        mode: the exporters chosen (``injected`` when the caller passed its providers).
    """

    service_name: str
    mode: str
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    owned: bool = True
    _files: list[IO[str]] = field(default_factory=list)
    _tracers: dict[str, Tracer] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        """True when spans are recorded (a tracer provider is configured)."""
        return self.tracer_provider is not None

    def shutdown(self) -> None:
        """Flush; shut down the providers this object created (not injected ones); stop
        being the active telemetry and remove the database listeners."""
        global _active
        with _lock:
            if _active is self:
                _active = None
                _DatabaseSpans.remove()
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush()
        if self.owned:
            if self.tracer_provider is not None:
                self.tracer_provider.shutdown()
            if self.meter_provider is not None:
                self.meter_provider.shutdown()
            for f in self._files:
                f.close()


_active: Telemetry | None = None
_lock = threading.Lock()


def active() -> Telemetry | None:
    """The active :class:`Telemetry` (``None`` before :func:`setup_telemetry`)."""
    return _active


def get_tracer(name: str) -> Tracer:
    """A tracer of the active telemetry; a no-op tracer when there is none or it is off (the
    current context still propagates through no-op spans)."""
    current = _active
    if current is None or current.tracer_provider is None:
        return trace.NoOpTracer()
    # one tracer per name and provider: the provider builds a new one on every call, and the
    # database spans ask for one per SQL statement (issue 9, "Load")
    tracer = current._tracers.get(name)
    if tracer is None:
        tracer = current._tracers[name] = current.tracer_provider.get_tracer(name)
    return tracer


def get_meter(name: str) -> Meter:
    """A meter of the active telemetry; a no-op meter when there is none or it is off."""
    current = _active
    if current is None or current.meter_provider is None:
        return otel_metrics.NoOpMeter(name)
    return current.meter_provider.get_meter(name)


def setup_telemetry(
    service_name: str,
    settings: Settings | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    mode: Mode | None = None,
    json_logs: bool = True,
    global_providers: bool = True,
) -> Telemetry:
    """Configure telemetry for this process and make it active.

    Without providers, the first call builds them from the settings and later calls return
    the same :class:`Telemetry` (several apps in one process share it). With providers (tests,
    or an embedding program), they are used as given: a :class:`TenantSpanProcessor` is added
    to ``tracer_provider`` and the result replaces the active telemetry until its
    :meth:`Telemetry.shutdown`.

    Args:
        service_name: the process's service (``woms-<service_name>`` in the resource).
        settings: for ``WOMS_HOME`` (the ``file`` exporters' directory); default
            :func:`services.common.settings.get_settings`.
        tracer_provider: an SDK tracer provider to use instead of building one.
        meter_provider: an SDK meter provider to use instead of building one.
        mode: overrides ``WOMS_TELEMETRY``.
        json_logs: with a built (not injected, not ``off``) telemetry, log JSON lines with
            trace and span ids on stderr (:func:`configure_json_logs`).
        global_providers: with a built telemetry, also make its providers OpenTelemetry's
            global ones (for third-party code; possible once per process).

    Raises:
        pydantic.ValidationError: ``WOMS_TELEMETRY`` is not one of the four modes.
    """
    global _active
    # the stable HTTP conventions (http.server.request.duration by http.route), read once by
    # the instrumentations when they first start
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    with _lock:
        if tracer_provider is not None or meter_provider is not None:
            if tracer_provider is not None:
                tracer_provider.add_span_processor(TenantSpanProcessor())
            _active = Telemetry(
                service_name, "injected", tracer_provider, meter_provider, owned=False
            )
            _DatabaseSpans.install()
            return _active
        if _active is not None:
            return _active
        chosen = mode or TelemetrySettings().mode
        _active = _build(service_name, chosen, settings or get_settings())
        if _active.enabled:
            _DatabaseSpans.install()
            if global_providers:  # for third-party code
                trace.set_tracer_provider(_active.tracer_provider)
                if _active.meter_provider is not None:
                    otel_metrics.set_meter_provider(_active.meter_provider)
            if json_logs:
                configure_json_logs()
        return _active


def _build(service_name: str, mode: Mode, settings: Settings) -> Telemetry:
    """Providers and exporters for ``mode`` (nothing for ``off``)."""
    if mode == "off":
        return Telemetry(service_name, mode)
    resource = Resource.create(
        {"service.name": f"woms-{service_name}", "service.namespace": "woms"}
    )
    files: list[IO[str]] = []
    span_exporter: SpanExporter
    metric_exporter: MetricExporter
    if mode == "otlp":
        span_exporter, metric_exporter = _otlp_exporters(TelemetrySettings().otlp_protocol)
    elif mode == "console":
        span_exporter, metric_exporter = ConsoleSpanExporter(), ConsoleMetricExporter()
    else:  # file: one JSON document a line
        folder = settings.woms_home / TELEMETRY_DIR
        folder.mkdir(parents=True, exist_ok=True)
        spans = (folder / f"{service_name}-traces.jsonl").open("a", encoding="utf-8")
        points = (folder / f"{service_name}-metrics.jsonl").open("a", encoding="utf-8")
        files += [spans, points]
        span_exporter = ConsoleSpanExporter(
            out=spans, formatter=lambda s: s.to_json(indent=None) + "\n"
        )
        metric_exporter = ConsoleMetricExporter(
            out=points, formatter=lambda m: m.to_json(indent=None) + "\n"
        )
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(TenantSpanProcessor())
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    meter_provider = MeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_exporter)]
    )
    return Telemetry(service_name, mode, tracer_provider, meter_provider, _files=files)


def _otlp_exporters(protocol: str) -> tuple[SpanExporter, MetricExporter]:
    """OTLP exporters for ``protocol`` (``grpc`` or ``http/protobuf``); endpoint, headers
    and timeout come from the standard ``OTEL_EXPORTER_OTLP_*`` variables.

    Raises:
        ValueError: another protocol (``http/json`` has no Python exporter).
    """
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetricExporter,
        )
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpanExporter,
        )

        return GrpcSpanExporter(), GrpcMetricExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(), OTLPMetricExporter()
    raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: use 'grpc' or 'http/protobuf'")


# --- the tenant on every span ------------------------------------------------------------


class TenantSpanProcessor(SpanProcessor):
    """Sets ``woms.tenant`` on each span that starts without it: from the ``woms.tenant``
    baggage of its parent context (set per request by :func:`instrument_app`, per message by
    the consumer, carried to Temporal workers in the workflow headers), else from its
    in-process parent span's attribute. Spans outside any tenant (``/health``) get none."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if span.attributes and TENANT_ATTRIBUTE in span.attributes:
            return
        tenant = baggage.get_baggage(TENANT_ATTRIBUTE, parent_context)
        if tenant is None:
            parent = trace.get_current_span(parent_context)
            attributes = getattr(parent, "attributes", None)
            if attributes:
                tenant = attributes.get(TENANT_ATTRIBUTE)
        if tenant is not None:
            span.set_attribute(TENANT_ATTRIBUTE, str(tenant))

    def on_end(self, span: ReadableSpan) -> None:
        return None


@contextmanager
def tenant_context(tenant: str) -> Iterator[None]:
    """Within the block, spans started (here or downstream, through propagation) carry
    ``woms.tenant = tenant``."""
    token = context.attach(baggage.set_baggage(TENANT_ATTRIBUTE, tenant))
    try:
        yield
    finally:
        context.detach(token)


# --- propagation (CloudEvents, Kafka headers) --------------------------------------------

_TRACE_CONTEXT = TraceContextTextMapPropagator()


def current_traceparent() -> tuple[str | None, str | None]:
    """``(traceparent, tracestate)`` of the current span (W3C Trace Context), or
    ``(None, None)`` outside a recorded trace."""
    carrier: dict[str, str] = {}
    _TRACE_CONTEXT.inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate") or None


def context_of_traceparent(traceparent: str | None, tracestate: str | None = None) -> Context:
    """The context whose remote parent is ``traceparent`` (the empty context when None or
    malformed)."""
    carrier = {"traceparent": traceparent or ""}
    if tracestate:
        carrier["tracestate"] = tracestate
    return _TRACE_CONTEXT.extract(carrier, context=Context())


def kafka_headers(ctx: Context) -> list[tuple[str, bytes]]:
    """Kafka record headers carrying ``ctx`` (``traceparent``, ``tracestate``, ``baggage``
    with the global propagator)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=ctx)
    return [(k, v.encode()) for k, v in carrier.items()]


def context_of_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> Context | None:
    """The context carried by Kafka record headers, or None when they carry no
    ``traceparent``."""
    carrier = {k.lower(): v.decode("latin-1") for k, v in headers or () if v is not None}
    if "traceparent" not in carrier:
        return None
    return propagate.extract(carrier, context=Context())


# --- HTTP -------------------------------------------------------------------------------


class _TenantMiddleware:
    """ASGI middleware: ``/tenants/{tenant}/…`` requests run in :func:`tenant_context` and
    their server span gets ``woms.tenant``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        found = _TENANT_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        tenant = found.group(1)
        trace.get_current_span().set_attribute(TENANT_ATTRIBUTE, tenant)
        with tenant_context(tenant):
            await self.app(scope, receive, send)


def instrument_app(app: FastAPI, service: str, telemetry: Telemetry | None = None) -> None:
    """Trace ``app``'s requests and measure them per route (``http.server.request.duration``,
    whose count is the request rate), when telemetry is on.

    Args:
        app: a service's FastAPI application (call from its ``create_app``).
        service: the service's name (used when this call sets telemetry up).
        telemetry: default the active one, else :func:`setup_telemetry` from the settings.
    """
    current = telemetry or setup_telemetry(service)
    if not current.enabled:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app.add_middleware(_TenantMiddleware)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=current.tracer_provider,
        meter_provider=current.meter_provider,
        excluded_urls="/health,/ready",
        exclude_spans=["receive", "send"],
    )


# --- database statements -----------------------------------------------------------------


class _DatabaseSpans:
    """A client span per SQL statement executed inside a trace, on every SQLAlchemy engine
    (class-level listeners: engines created before setup are covered too). Name
    ``<OPERATION> <database>``; attributes ``db.system.name``, ``db.namespace``,
    ``db.operation.name``, ``db.query.text`` (the statement with its placeholders, never
    the parameters)."""

    _installed = False
    _key = "_woms_span"

    @classmethod
    def install(cls) -> None:
        if not cls._installed:
            event.listen(Engine, "before_cursor_execute", cls._before)
            event.listen(Engine, "after_cursor_execute", cls._after)
            event.listen(Engine, "handle_error", cls._error)
            cls._installed = True

    @classmethod
    def remove(cls) -> None:
        if cls._installed:
            event.remove(Engine, "before_cursor_execute", cls._before)
            event.remove(Engine, "after_cursor_execute", cls._after)
            event.remove(Engine, "handle_error", cls._error)
            cls._installed = False

    @staticmethod
    def _before(
        conn: Any, _cursor: Any, statement: str, _params: Any, ctx: Any, _many: bool
    ) -> None:
        if ctx is None or not trace.get_current_span().get_span_context().is_valid:
            return
        engine = conn.engine
        database = engine.url.database or ""
        if engine.dialect.name == "sqlite":
            database = Path(database).stem if database else ":memory:"
        operation = (statement.lstrip().split(None, 1) or ["SQL"])[0].upper()
        span = get_tracer("woms.db").start_span(
            f"{operation} {database}".strip(),
            kind=SpanKind.CLIENT,
            attributes={
                "db.system.name": engine.dialect.name,
                "db.namespace": database,
                "db.operation.name": operation,
                "db.query.text": statement[:_MAX_STATEMENT],
            },
        )
        setattr(ctx, _DatabaseSpans._key, span)

    @staticmethod
    def _after(_conn: Any, _cursor: Any, _statement: str, _params: Any, ctx: Any, _m: bool) -> None:
        span = getattr(ctx, _DatabaseSpans._key, None)
        if span is not None:
            span.end()
            setattr(ctx, _DatabaseSpans._key, None)

    @staticmethod
    def _error(exception_context: Any) -> None:
        ctx = exception_context.execution_context
        span = getattr(ctx, _DatabaseSpans._key, None) if ctx is not None else None
        if span is not None:
            error = exception_context.original_exception
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
            setattr(ctx, _DatabaseSpans._key, None)


# --- Temporal ----------------------------------------------------------------------------


def temporal_interceptors() -> list[Any]:
    """``[TracingInterceptor]`` over the active tracer when telemetry is on, else ``[]``.

    Pass to ``Client.connect(..., interceptors=...)``: a worker built on that client uses it
    too (it is also a worker interceptor), so a request that starts or signals a workflow,
    the workflow and its activities form one trace.
    """
    current = _active
    if current is None or current.tracer_provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(current.tracer_provider.get_tracer("temporalio"))]


# --- metrics -----------------------------------------------------------------------------


def observe_gauge(
    name: str,
    read: Callable[[], Iterable[tuple[float, Mapping[str, str]]]],
    *,
    unit: str = "1",
    description: str = "",
) -> None:
    """Register an observable gauge ``name`` on the active meter: at each collection,
    ``read()`` gives ``(value, attributes)`` pairs. A failing ``read`` reports nothing for
    that collection (logged), it never stops the exporter."""

    def callback(_: CallbackOptions) -> Sequence[Observation]:
        try:
            return [Observation(v, dict(attrs)) for v, attrs in read()]
        except Exception:
            logging.getLogger(__name__).exception("gauge %s could not be read", name)
            return []

    get_meter("woms").create_observable_gauge(
        name, callbacks=[callback], unit=unit, description=description
    )


# --- logs --------------------------------------------------------------------------------


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (ISO 8601 UTC), ``level``, ``logger``, ``message``,
    ``trace_id`` and ``span_id`` (hex, of the current span; absent outside a trace),
    ``woms.tenant`` (from the context's baggage, when set) and ``exception`` (traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        from datetime import UTC, datetime

        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            out["trace_id"] = format(span_context.trace_id, "032x")
            out["span_id"] = format(span_context.span_id, "016x")
        tenant = baggage.get_baggage(TENANT_ATTRIBUTE)
        if tenant is not None:
            out[TENANT_ATTRIBUTE] = str(tenant)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_json_logs() -> logging.Handler:
    """Log the root logger's records as JSON lines on stderr (:class:`JsonLogFormatter`) at
    the root logger's level (``WARNING`` unless the program set another); idempotent.
    Returns the handler."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonLogFormatter):
            return handler
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root.addHandler(handler)
    return handler
