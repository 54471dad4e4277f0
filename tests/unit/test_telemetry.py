"""services.common.telemetry and its users, with the SDK's in-memory exporter and reader: the
tenant on every span, the traceparent in the outbox's CloudEvents and the Kafka headers, the
database spans, the HTTP spans and per-route metrics, the consumer's apply spans, JSON logs,
the cycle and scoring metrics, and the exporters chosen by ``WOMS_TELEMETRY``."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.orm import Session

from services.common import telemetry
from services.common.events import CloudEvent, topic_for
from services.common.outbox import backlog, outbox_table, record, relay_once
from services.common.settings import Settings
from services.evaluation import metrics
from services.reporting.tracing import apply_spans, observe_lag

TENANT = telemetry.TENANT_ATTRIBUTE


@dataclass
class Recorded:
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader
    tel: telemetry.Telemetry

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == name:
                        found.extend(m.data.data_points)
        return found


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    tel = telemetry.setup_telemetry(
        "test", tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader])
    )
    try:
        yield Recorded(spans, reader, tel)
    finally:
        tel.shutdown()
    assert telemetry.active() is None


def _event(tenant: str = "hanoi", subject: str = "CV-000001") -> CloudEvent:
    return CloudEvent.of(
        tenant=tenant,
        service="tasks",
        entity="task",
        action="assigned",
        subject=subject,
        data={"task": subject},
    )


@dataclass
class FakeProducer:
    """Records what the relay sends (the broker itself is exercised in the integration test)."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(
        self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": headers})

    def flush(self, timeout: float | None = None) -> None:
        return None


# --- the tenant ---------------------------------------------------------------------------


def test_spans_carry_the_tenant_from_baggage_or_their_parent(recorded: Recorded) -> None:
    tracer = telemetry.get_tracer("t")
    with (
        telemetry.tenant_context("hanoi"),
        tracer.start_as_current_span("outer"),
        tracer.start_as_current_span("inner"),
    ):
        pass
    with (
        tracer.start_as_current_span("parent", attributes={TENANT: "thanhhoa"}),
        tracer.start_as_current_span("child"),
    ):
        pass
    with tracer.start_as_current_span("platform"):
        pass
    by_name = {s.name: s.attributes.get(TENANT) for s in recorded.finished()}
    assert by_name == {
        "outer": "hanoi",
        "inner": "hanoi",
        "parent": "thanhhoa",
        "child": "thanhhoa",
        "platform": None,
    }


def test_without_active_telemetry_tracers_and_meters_are_no_ops() -> None:
    assert telemetry.active() is None
    span = telemetry.get_tracer("t").start_span("x")
    assert not span.is_recording()
    assert telemetry.temporal_interceptors() == []
    metrics.step_done("hanoi", "publish")  # no error, nothing recorded anywhere


# --- outbox → relay ---------------------------------------------------------------------


def _outbox() -> tuple[Any, Any]:
    engine = create_engine("sqlite://")
    table = outbox_table(MetaData())
    table.metadata.create_all(engine)
    return engine, table


def test_record_inside_a_trace_stores_the_traceparent_and_the_relay_continues_it(
    recorded: Recorded,
) -> None:
    engine, table = _outbox()
    tracer = telemetry.get_tracer("t")
    with tracer.start_as_current_span("request") as request, Session(engine) as s, s.begin():
        record(s, table, _event(subject="CV-000007"))
    record_outside = _event(subject="CV-000008")
    with Session(engine) as s, s.begin():
        record(s, table, record_outside)
        assert backlog(s, table) == 2
        bodies = [json.loads(b) for b in s.execute(select(table.c.body)).scalars()]
    trace_hex = format(request.get_span_context().trace_id, "032x")
    span_hex = format(request.get_span_context().span_id, "016x")
    assert bodies[0]["traceparent"].startswith(f"00-{trace_hex}-{span_hex}-")
    assert "traceparent" not in bodies[1]  # an untraced event's JSON is unchanged
    assert bodies[1] == json.loads(record_outside.model_dump_json())

    producer = FakeProducer()
    assert relay_once(engine, table, producer) == 2
    with Session(engine) as s:
        assert backlog(s, table) == 0
    sends = [s for s in recorded.finished() if s.kind is SpanKind.PRODUCER]
    assert len(sends) == 1  # only the traced event
    send = sends[0]
    assert send.name == f"send {topic_for('hanoi', 'tasks')}"
    assert send.context.trace_id == request.get_span_context().trace_id
    assert send.parent is not None and send.parent.span_id == request.get_span_context().span_id
    assert send.attributes[TENANT] == "hanoi"
    assert send.attributes["cloudevents.event_id"] == bodies[0]["id"]
    traced, untraced = producer.sent
    headers = dict(traced["headers"])
    send_hex = format(send.context.span_id, "016x")
    assert headers["traceparent"].startswith(f"00-{trace_hex}-{send_hex}-".encode())
    assert headers["baggage"] == f"{TENANT}=hanoi".encode()
    assert untraced["headers"] is None


def test_a_refused_send_ends_the_producer_span_in_error(recorded: Recorded) -> None:
    engine, table = _outbox()
    with telemetry.get_tracer("t").start_as_current_span("r"), Session(engine) as s, s.begin():
        record(s, table, _event())

    class Refused(Exception):
        pass

    class RefusingProducer(FakeProducer):
        def flush(self, timeout: float | None = None) -> None:
            raise Refused("broker down")

    with pytest.raises(Refused):
        relay_once(engine, table, RefusingProducer())
    (send,) = [s for s in recorded.finished() if s.kind is SpanKind.PRODUCER]
    assert send.status.status_code.name == "ERROR"
    with Session(engine) as s:
        assert backlog(s, table) == 1  # nothing marked


# --- database ---------------------------------------------------------------------------


def test_statements_inside_a_trace_are_client_spans_outside_none(recorded: Recorded) -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # no trace: no span
        with (
            telemetry.tenant_context("hanoi"),
            telemetry.get_tracer("t").start_as_current_span("request") as parent,
        ):
            conn.execute(text("SELECT 2"))
            with pytest.raises(Exception, match="no such table"):
                conn.execute(text("SELECT * FROM missing"))
    db = [s for s in recorded.finished() if s.kind is SpanKind.CLIENT]
    assert [s.attributes["db.query.text"] for s in db] == ["SELECT 2", "SELECT * FROM missing"]
    for span in db:
        assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
        assert span.attributes["db.system.name"] == "sqlite"
        assert span.attributes[TENANT] == "hanoi"
        assert span.name == "SELECT :memory:"
    assert db[0].status.status_code.name == "UNSET"
    assert db[1].status.status_code.name == "ERROR"


def test_after_shutdown_statements_make_no_spans(recorded: Recorded) -> None:
    recorded.tel.shutdown()
    engine = create_engine("sqlite://")
    provider = TracerProvider()  # a span context from elsewhere, not ours
    with provider.get_tracer("x").start_as_current_span("other"), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert recorded.finished() == []


# --- HTTP -------------------------------------------------------------------------------


def _app(engine: Any) -> FastAPI:
    app = FastAPI()
    telemetry.instrument_app(app, "test")

    @app.get("/tenants/{tenant}/things/{thing}")
    def thing(tenant: str, thing: str) -> dict[str, Any]:
        with engine.connect() as conn:
            value = conn.execute(text("SELECT :v"), {"v": thing}).scalar()
        return {"tenant": tenant, "thing": value}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def test_http_requests_are_traced_with_their_tenant_route_and_database_calls(
    recorded: Recorded,
) -> None:
    engine = create_engine("sqlite://")
    with TestClient(_app(engine)) as client:
        for thing in ("a", "b"):
            assert client.get(f"/tenants/hanoi/things/{thing}").json()["thing"] == thing
        assert client.get("/health").status_code == 200
    spans = recorded.finished()
    servers = [s for s in spans if s.kind is SpanKind.SERVER]
    assert [s.name for s in servers] == ["GET /tenants/{tenant}/things/{thing}"] * 2  # no /health
    for server in servers:
        assert server.attributes[TENANT] == "hanoi"
        assert server.attributes["http.route"] == "/tenants/{tenant}/things/{thing}"
        (db,) = [s for s in spans if s.parent and s.parent.span_id == server.context.span_id]
        assert db.kind is SpanKind.CLIENT and db.attributes[TENANT] == "hanoi"
        assert db.context.trace_id == server.context.trace_id
    assert servers[0].context.trace_id != servers[1].context.trace_id
    (duration,) = [
        p
        for p in recorded.points("http.server.request.duration")
        if p.attributes.get("http.route") == "/tenants/{tenant}/things/{thing}"
    ]
    assert duration.count == 2  # the request rate is the count over time


def test_with_telemetry_off_apps_are_not_instrumented(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOMS_TELEMETRY", "off")
    assert telemetry.active() is None
    app = FastAPI()
    try:
        telemetry.instrument_app(app, "test")
        active = telemetry.active()
        assert active is not None and active.mode == "off" and not active.enabled
        assert app.user_middleware == []
    finally:
        active = telemetry.active()
        if active is not None:
            active.shutdown()


# --- reporting consumer -------------------------------------------------------------------


@dataclass
class FakeRecord:
    topic: str
    partition: int
    offset: int
    headers: list[tuple[str, bytes]]


def test_the_consumer_applies_each_traced_message_in_a_child_span(recorded: Recorded) -> None:
    tracer = telemetry.get_tracer("t")
    with tracer.start_as_current_span("send") as send:
        from opentelemetry import context

        headers = telemetry.kafka_headers(context.get_current())
    topic = "woms.hanoi.tasks.events"
    records = [(None, FakeRecord(topic, 0, 7, headers)), (None, FakeRecord(topic, 0, 8, []))]
    engine = create_engine("sqlite://")
    with apply_spans(records), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    spans = recorded.finished()
    (batch,) = [s for s in spans if s.name == "reporting.apply_batch"]
    (apply,) = [s for s in spans if s.name == f"apply {topic}"]
    assert apply.kind is SpanKind.CONSUMER
    assert apply.context.trace_id == send.get_span_context().trace_id
    assert apply.parent is not None and apply.parent.span_id == send.get_span_context().span_id
    assert apply.attributes[TENANT] == "hanoi" and apply.attributes["messaging.kafka.offset"] == 7
    assert [link.context.span_id for link in batch.links] == [send.get_span_context().span_id]
    assert batch.attributes[TENANT] == "hanoi"
    (db,) = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert db.parent is not None and db.parent.span_id == batch.context.span_id
    assert db.attributes[TENANT] == "hanoi"


def test_a_failed_batch_ends_its_spans_in_error(recorded: Recorded) -> None:
    with telemetry.get_tracer("t").start_as_current_span("send"):
        from opentelemetry import context

        headers = telemetry.kafka_headers(context.get_current())
    records = [(None, FakeRecord("woms.hanoi.tasks.events", 1, 3, headers))]
    with pytest.raises(RuntimeError), apply_spans(records):
        raise RuntimeError("database down")
    statuses = {s.name: s.status.status_code.name for s in recorded.finished()}
    assert statuses["reporting.apply_batch"] == "ERROR"
    assert statuses["apply woms.hanoi.tasks.events"] == "ERROR"


# --- metrics ----------------------------------------------------------------------------


def test_cycle_scoring_lag_and_backlog_metrics(recorded: Recorded) -> None:
    metrics.step_done("hanoi", "publish")
    metrics.step_done("hanoi", "publish")
    metrics.late("hanoi", "review")
    with telemetry.tenant_context("hanoi"), metrics.scoring_timer():
        pass
    lag = {("woms.hanoi.tasks.events", 0): 5}
    observe_lag(lambda: lag)
    engine, table = _outbox()
    with Session(engine) as s, s.begin():
        record(s, table, _event())
    telemetry.observe_gauge(
        "woms.outbox.backlog", lambda: [(float(backlog(Session(engine), table)), {TENANT: "hanoi"})]
    )
    telemetry.observe_gauge("broken", lambda: 1 / 0)  # type: ignore[arg-type,return-value]

    (steps,) = recorded.points("woms.cycle.steps")
    assert steps.value == 2 and steps.attributes == {
        TENANT: "hanoi",
        "woms.cycle.activity": "publish",
    }
    (late,) = recorded.points("woms.cycle.late")
    assert late.value == 1 and late.attributes == {TENANT: "hanoi", "woms.cycle.step": "review"}
    (scoring,) = recorded.points("woms.scoring.duration")
    assert scoring.count == 1 and scoring.sum >= 0 and scoring.attributes == {TENANT: "hanoi"}
    (gauge,) = recorded.points("woms.reporting.consumer.lag")
    assert gauge.value == 5
    assert gauge.attributes["messaging.destination.name"] == "woms.hanoi.tasks.events"
    (pending,) = recorded.points("woms.outbox.backlog")
    assert pending.value == 1
    assert recorded.points("broken") == []


# --- logs -------------------------------------------------------------------------------


def test_json_logs_carry_trace_and_span_ids(recorded: Recorded) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(telemetry.JsonLogFormatter())
    log = logging.getLogger("woms.test.telemetry")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.info("ngoài / outside")
        with (
            telemetry.tenant_context("hanoi"),
            telemetry.get_tracer("t").start_as_current_span("s") as span,
        ):
            log.info("trong %s", "inside")
    finally:
        log.removeHandler(handler)
    outside, inside = [json.loads(line) for line in out.getvalue().splitlines()]
    assert outside["message"] == "ngoài / outside" and "trace_id" not in outside
    assert inside["message"] == "trong inside" and inside["level"] == "INFO"
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert inside[TENANT] == "hanoi"


def test_json_logs_are_installed_once_on_the_root_logger() -> None:
    root = logging.getLogger()
    first = telemetry.configure_json_logs()
    try:
        assert telemetry.configure_json_logs() is first
        assert [h for h in root.handlers if h is first] == [first]
        assert isinstance(first.formatter, telemetry.JsonLogFormatter)
    finally:
        root.removeHandler(first)


# --- settings and exporters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "endpoint", "expected"),
    [
        (None, None, "file"),
        (None, "http://collector:4318", "otlp"),
        ("console", "http://collector:4318", "console"),
        ("off", None, "off"),
    ],
)
def test_the_mode_follows_the_settings(
    monkeypatch: pytest.MonkeyPatch, mode: str | None, endpoint: str | None, expected: str
) -> None:
    for name, value in (("WOMS_TELEMETRY", mode), ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert telemetry.TelemetrySettings().mode == expected


def test_an_unknown_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOMS_TELEMETRY", "loud")
    with pytest.raises(ValueError, match="woms_telemetry"):
        telemetry.TelemetrySettings()


def test_the_file_mode_writes_json_lines_under_woms_home(tmp_path: Path) -> None:
    assert telemetry.active() is None
    tel = telemetry.setup_telemetry(
        "planning",
        Settings(woms_home=tmp_path),
        mode="file",
        global_providers=False,
        json_logs=False,
    )
    try:
        assert tel.enabled and telemetry.active() is tel
        with (
            telemetry.tenant_context("hanoi"),
            telemetry.get_tracer("t").start_as_current_span("hi"),
        ):
            pass
        metrics.step_done("hanoi", "publish")
    finally:
        tel.shutdown()
    folder = tmp_path / telemetry.TELEMETRY_DIR
    (span,) = [
        json.loads(line) for line in (folder / "planning-traces.jsonl").read_text().splitlines()
    ]
    assert span["name"] == "hi" and span["attributes"] == {TENANT: "hanoi"}
    assert span["resource"]["attributes"]["service.name"] == "woms-planning"
    points = [
        json.loads(line) for line in (folder / "planning-metrics.jsonl").read_text().splitlines()
    ]
    names = {
        m["name"]
        for p in points
        for rm in p["resource_metrics"]
        for sm in rm["scope_metrics"]
        for m in sm["metrics"]
    }
    assert "woms.cycle.steps" in names


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_the_otlp_mode_builds_the_exporters_of_the_protocol(
    monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcSpanExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # nobody listens
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    monkeypatch.delenv("WOMS_TELEMETRY", raising=False)  # unset: the endpoint chooses otlp
    tel = telemetry.setup_telemetry("tasks", global_providers=False, json_logs=False)
    try:
        assert tel.mode == "otlp"
        processors = tel.tracer_provider._active_span_processor._span_processors  # type: ignore[union-attr]
        exporters = [
            getattr(getattr(p, "_batch_processor", p), "_exporter", None) for p in processors
        ]
        wanted = GrpcSpanExporter if protocol == "grpc" else OTLPSpanExporter
        assert any(type(e) is wanted for e in exporters), exporters
    finally:
        tel.shutdown()


def test_an_unknown_otlp_protocol_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(ValueError, match="http/json"):
        telemetry.setup_telemetry("tasks", mode="otlp", global_providers=False, json_logs=False)
    assert telemetry.active() is None
