"""The two connected traces of issue 8, with the SDK's in-memory exporter and real components:

1. an HTTP request to the evaluation API (self-assessment) → its database statements, among
   them the outbox insert → the outbox relay's producer span on the real Tansu broker → the
   reporting consumer's apply span: one trace id, each span the child of the one before;
2. an HTTP request that starts the tenant's month → ``StartWorkflow`` (client) →
   ``RunWorkflow`` → its activities and their database statements, on the Temporal
   time-skipping server: one trace id.

Every span of both traces carries ``woms.tenant``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaProducer
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.common import runtime, telemetry
from services.common.db import create_engine_for_url, engine_for, migrate, transaction
from services.common.outbox import relay_once
from services.common.tenancy import namespace_of
from services.evaluation.activities import EvaluationActivities
from services.evaluation.models import outbox
from services.reporting.consumer import ReportingConsumer, tenants_pattern
from services.reporting.database import MIGRATIONS
from tests.evaluation_service.evaluation_api_stack import (
    PERIOD,
    SEED,
    STAFF,
    TENANT,
    auth,
    closed_address,
    evaluation_app,
    open_month,
    planning_stack,
)
from woms.onboarding import ensure_topics
from workflows.monthly_cycle.inputs import cycle_workflow_id
from workflows.monthly_cycle.worker import TASK_QUEUE, build_worker

pytestmark = pytest.mark.integration

TENANT_ATTR = telemetry.TENANT_ATTRIBUTE


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
    tel = telemetry.setup_telemetry("test", tracer_provider=provider, meter_provider=meters)
    try:
        yield exporter
    finally:
        tel.shutdown()


def _trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


def _only(spans: list[ReadableSpan], what: str) -> ReadableSpan:
    assert len(spans) == 1, (what, [s.name for s in spans])
    return spans[0]


def _child_of(span: ReadableSpan, parent: ReadableSpan) -> bool:
    return span.parent is not None and span.parent.span_id == parent.context.span_id


def test_a_request_its_database_the_outbox_kafka_and_the_consumer_form_one_trace(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kafka_bootstrap: str,
    spans: InMemorySpanExporter,
) -> None:
    with planning_stack(tmp_path, monkeypatch) as planning_url:
        open_month(STAFF)  # outside any request: its events carry no trace
        with TestClient(evaluation_app(planning_url, closed_address())) as api:
            url = f"/tenants/{TENANT}/evaluations/{STAFF}/{PERIOD}/self-assessment"
            r = api.post(url, headers=auth(STAFF), json={"general": 27})
            assert r.status_code == 200, r.text
        server = _only(
            [
                s
                for s in spans.get_finished_spans()
                if s.kind is SpanKind.SERVER
                and s.attributes.get("http.route", "").endswith("/self-assessment")
            ],
            "server span",
        )
        with transaction(engine_for(TENANT, "evaluation")) as s:
            bodies = [json.loads(b) for b in s.execute(select(outbox.c.body)).scalars()]
        traced = [b for b in bodies if "traceparent" in b]
        event = _only(traced, "traced event")  # type: ignore[arg-type]
        assert event["type"].endswith(".self_assessed.v1")
        assert event["traceparent"].split("-")[1] == format(server.context.trace_id, "032x")

        ensure_topics(kafka_bootstrap, TENANT)
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        try:
            while relay_once(engine_for(TENANT, "evaluation"), outbox, producer):
                pass
        finally:
            producer.close(timeout=10)
        send = _only(
            [
                s
                for s in spans.get_finished_spans()
                if s.kind is SpanKind.PRODUCER
                and s.attributes.get("cloudevents.event_id") == event["id"]
            ],
            "producer span",
        )

        reporting = create_engine_for_url(f"sqlite:///{tmp_path / 'reporting.sqlite3'}")
        migrate(reporting, MIGRATIONS)
        consumer = ReportingConsumer(
            reporting,
            kafka_bootstrap,
            group_id=f"telemetry-{uuid.uuid4().hex}",
            pattern=tenants_pattern([TENANT]),
        )
        try:
            deadline = time.monotonic() + 60
            applied: list[ReadableSpan] = []
            while not applied:
                assert time.monotonic() < deadline, "the consumer never applied the event"
                consumer.poll_once(timeout_ms=500)
                applied = [
                    s
                    for s in spans.get_finished_spans()
                    if s.kind is SpanKind.CONSUMER and _child_of(s, send)
                ]
        finally:
            consumer.close()
        assert consumer.outcomes["applied"] >= 1
        apply = _only(applied, "apply span")
        reporting.dispose()

    whole = _trace(spans, server.context.trace_id)
    inserts = [
        s
        for s in whole
        if s.kind is SpanKind.CLIENT and "INSERT INTO outbox" in s.attributes["db.query.text"]
    ]
    insert = _only(inserts, "outbox insert span")
    assert _child_of(insert, server) and insert.attributes["db.namespace"] == "evaluation"
    assert _child_of(send, server)  # the event's traceparent is the request's span
    assert send.name == f"send woms.{TENANT}.evaluation.events"
    assert apply.name == f"apply woms.{TENANT}.evaluation.events"
    assert {server, insert, send, apply} <= set(whole)
    assert {s.attributes.get(TENANT_ATTR) for s in whole} == {TENANT}
    assert len(whole) > 4  # the request's other statements are in it too


async def _start_month_through_the_api(planning_url: str, acts: EvaluationActivities) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=runtime.temporal_test_server_path()
    )
    address = env.client.service_client.config.target_host
    client = await Client.connect(
        address, namespace=namespace_of(TENANT), interceptors=telemetry.temporal_interceptors()
    )
    with ThreadPoolExecutor(4) as pool:
        async with (
            env,
            build_worker(client, acts.all(), task_queue=TASK_QUEUE, activity_executor=pool),
        ):
            with TestClient(evaluation_app(planning_url, address)) as api:
                r = await asyncio.to_thread(
                    api.post,
                    f"/tenants/{TENANT}/cycles/{PERIOD}",
                    headers=auth("admin", "tenant_admin"),
                    json={},
                )
                assert r.status_code == 200, r.text
            await client.get_workflow_handle(cycle_workflow_id(TENANT, PERIOD)).result()


def test_a_request_that_starts_the_month_its_workflow_and_activities_form_one_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter
) -> None:
    with planning_stack(tmp_path, monkeypatch) as planning_url:
        acts = EvaluationActivities(
            people_of=lambda tenant, period: [],  # nobody: the month opens and finishes
            ledger_of=lambda tenant, person, period: list(SEED["tasks"]),
            relation_of=lambda tenant, period: {},
        )
        asyncio.run(asyncio.wait_for(_start_month_through_the_api(planning_url, acts), 120))

    server = _only(
        [
            s
            for s in spans.get_finished_spans()
            if s.kind is SpanKind.SERVER
            and s.attributes.get("http.route") == "/tenants/{tenant}/cycles/{period}"
        ],
        "server span",
    )
    whole = _trace(spans, server.context.trace_id)
    names = [s.name for s in whole]
    start = _only([s for s in whole if s.name == "StartWorkflow:MonthlyCycleWorkflow"], "start")
    assert _child_of(start, server)
    run = _only([s for s in whole if s.name == "RunWorkflow:MonthlyCycleWorkflow"], "run")
    assert _child_of(run, start)
    finished = _only([s for s in whole if s.name == "RunActivity:cycle_finished"], "activity")
    assert "StartActivity:cycle_finished" in names
    db = [s for s in whole if s.kind is SpanKind.CLIENT and _child_of(s, finished)]
    assert db, names  # the activity's own database statements are in the trace
    assert {s.attributes.get(TENANT_ATTR) for s in whole} == {TENANT}, [
        (s.name, s.attributes.get(TENANT_ATTR)) for s in whole
    ]
