"""One person's month: self-assessment → review → decision → publication → appeal window.

DOMAIN.md §6 and 001 §IV.1 steps 2–5. Deterministic workflow code: time comes from
``workflow.now()``, waits are ``workflow.wait_condition(..., timeout=...)`` up to a deadline,
and every effect is an activity called by name (:mod:`.activities`).

Contract
--------
Signals (each :class:`StepDone` unless stated): ``self_assessed``, ``reviewed``, ``decided``,
``appealed`` (:class:`Appeal`), ``appeal_answered`` (:class:`AppealAnswer`).
Query: ``state() -> PersonState``. Result: the final :class:`PersonState`.

Behaviour (choices where DOMAIN.md §6 is open)
----------------------------------------------
* Reminders: for each step, one ``send_reminder`` per ``reminder_days_before`` entry, at
  ``deadline - days``, only while the step is not done and only if that instant is still ahead
  when the step begins (no catch-up reminders for a late start).
* Self-assessment missed → ``apply_fallback`` (system score), flag ``self_assessment_missed``;
  the month continues. A ``self_assessed`` signal arriving after the fallback is ignored.
* Review missed → ``escalate`` (flag ``review_escalated``), then keep waiting for ``reviewed``
  until the decision deadline; if the authority decides first, or the decision deadline
  passes, the review is skipped (flag ``review_missed``). This fallback invents no manager's
  general-criteria points: the month stays without them (``001 §II.1``, issue 15) and the
  unit may now be decided with it (``services.evaluation.unit_service.ready_for_unit``).
* Decision missed → ``escalate`` (flag ``decision_escalated``; a month without the manager's
  points is also flagged ``general_missing`` by the service: the authority must enter them,
  ``services.evaluation.service.decide``); still missing at the publication deadline →
  ``escalate`` again (flag ``decision_overdue``) and wait for the decision without a timeout.
  The workflow never decides nor scores by itself: publication waits for the authority's
  ``decided``, and the service refuses to decide a month without the manager's points until
  the authority enters them — so nothing is published with invented scores.
* Publication happens as soon as the decision is in (never held back to the publication
  deadline); after that deadline it is flagged ``publication_late``.
* Early signals are queued, never lost: a ``reviewed``/``decided`` received before its step
  counts when the step is reached; an ``appealed`` before publication opens at publication.
  Duplicate signals keep the first payload. ``appeal_answered`` without an appeal is ignored.
* Appeal window: :data:`APPEAL_WINDOW_DAYS` "days" after publication. An appeal is ``"open"``
  until ``appeal_answered`` arrives (``"upheld"`` or ``"changed"``); that wait has no timeout
  since the higher level's conclusion is binding (001 §IV.1 step 5).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.monthly_cycle.activities import RETRY, START_TO_CLOSE, ActivityNames
    from workflows.monthly_cycle.inputs import (
        DECISION,
        PUBLICATION,
        REVIEW,
        SELF_ASSESSMENT,
        Appeal,
        AppealAnswer,
        PersonInput,
        PersonState,
        PersonStep,
        StepDone,
    )

#: Length of the appeal window after publication, in (possibly compressed) days.
APPEAL_WINDOW_DAYS = 10


@workflow.defn
class PersonEvaluationWorkflow:
    """A person's monthly evaluation (DOMAIN.md §6; 001 §IV.1 steps 2–5)."""

    def __init__(self) -> None:
        self._input: PersonInput | None = None
        self._state = PersonState(step="open")
        self._done: dict[str, StepDone] = {}
        self._appeal: Appeal | None = None
        self._answer: AppealAnswer | None = None

    # --- signals -----------------------------------------------------------------------

    @workflow.signal(name="self_assessed")
    def self_assessed(self, done: StepDone) -> None:
        """The person submitted the self-assessment (step 2, before the 25th)."""
        self._done.setdefault(SELF_ASSESSMENT, done)

    @workflow.signal(name="reviewed")
    def reviewed(self, done: StepDone) -> None:
        """The direct manager commented (step 3, before the 26th)."""
        self._done.setdefault(REVIEW, done)

    @workflow.signal(name="decided")
    def decided(self, done: StepDone) -> None:
        """The authority decided the grade (step 4, before the 28th)."""
        self._done.setdefault(DECISION, done)

    @workflow.signal(name="appealed")
    def appealed(self, appeal: Appeal) -> None:
        """The person responds to / appeals the published result (step 5)."""
        if self._appeal is None:
            self._appeal = appeal

    @workflow.signal(name="appeal_answered")
    def appeal_answered(self, answer: AppealAnswer) -> None:
        """The higher level answered the appeal; ignored when there is no appeal."""
        if self._appeal is not None and self._answer is None:
            self._answer = answer

    # --- query -------------------------------------------------------------------------

    @workflow.query(name="state")
    def state(self) -> PersonState:
        """Current step, flags, escalations, reminder count, publication and appeal."""
        return self._state

    # --- run ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: PersonInput) -> PersonState:
        """Drive the person's month to publication and through the appeal window."""
        self._input = input
        d = input.deadlines
        await self._call(ActivityNames.OPEN_EVALUATION, "open", None, "open")

        self._state.step = SELF_ASSESSMENT
        if not await self._wait_step(SELF_ASSESSMENT, d.self_assessment):
            await self._call(
                ActivityNames.APPLY_FALLBACK, SELF_ASSESSMENT, d.self_assessment, "fallback"
            )
            self._flag("self_assessment_missed")

        self._state.step = REVIEW
        if not await self._wait_step(REVIEW, d.review):
            await self._escalate(REVIEW, d.review, 1)
            self._flag("review_escalated")
            await self._wait_until(
                lambda: REVIEW in self._done or DECISION in self._done, d.decision
            )
            if REVIEW not in self._done:
                self._flag("review_missed")

        self._state.step = DECISION
        if not await self._wait_step(DECISION, d.decision):
            await self._escalate(DECISION, d.decision, 1)
            self._flag("decision_escalated")
            if not await self._wait_until(lambda: DECISION in self._done, d.publication):
                await self._escalate(DECISION, d.publication, 2)
                self._flag("decision_overdue")
                await workflow.wait_condition(lambda: DECISION in self._done)

        self._state.step = PUBLICATION
        await self._call(ActivityNames.PUBLISH, PUBLICATION, d.publication, "publish")
        self._state.published = True
        if workflow.now() >= d.publication:
            self._flag("publication_late")

        self._state.step = "appeal_window"
        window_end = workflow.now() + self._days(APPEAL_WINDOW_DAYS)
        if await self._wait_until(lambda: self._appeal is not None, window_end):
            self._state.appeal = "open"
            await workflow.wait_condition(lambda: self._answer is not None)
            assert self._answer is not None
            self._state.appeal = "upheld" if self._answer.upheld else "changed"

        self._state.step = "done"
        return self._state

    # --- helpers -----------------------------------------------------------------------

    def _days(self, days: int) -> timedelta:
        assert self._input is not None
        return timedelta(seconds=days * self._input.seconds_per_day)

    def _flag(self, flag: str) -> None:
        if flag not in self._state.flags:
            self._state.flags.append(flag)

    async def _wait_until(self, condition: Callable[[], bool], instant: datetime) -> bool:
        """Wait for ``condition`` until ``instant``; return whether it holds."""
        remaining = instant - workflow.now()
        if remaining > timedelta(0) and not condition():
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(condition, timeout=remaining)
        return condition()

    async def _wait_step(self, step: str, deadline: datetime) -> bool:
        """Wait for ``step``'s signal until ``deadline``, reminding before it; True when done."""
        assert self._input is not None

        def done() -> bool:
            return step in self._done

        for days in sorted({n for n in self._input.reminder_days_before if n > 0}, reverse=True):
            at = deadline - self._days(days)
            if at <= workflow.now():
                continue
            if await self._wait_until(done, at):
                return True
            await self._call(ActivityNames.SEND_REMINDER, step, deadline, f"reminder:{step}:{days}")
            self._state.reminders += 1
        return await self._wait_until(done, deadline)

    async def _escalate(self, step: str, deadline: datetime, nth: int) -> None:
        to = await self._call(
            ActivityNames.ESCALATE, step, deadline, f"escalate:{step}:{nth}", result_type=str
        )
        self._state.escalations.append(f"{step}:{to}")

    async def _call(
        self,
        name: str,
        step: str,
        deadline: datetime | None,
        key: str,
        result_type: type | None = None,
    ) -> Any:
        """Run activity ``name`` on a :class:`PersonStep` keyed ``<input key>:<key>``."""
        assert self._input is not None
        arg = PersonStep(
            tenant_id=self._input.tenant_id,
            period=self._input.period,
            person_id=self._input.person_id,
            unit_id=self._input.unit_id,
            step=step,
            idempotency_key=f"{self._input.idempotency_key}:{key}",
            deadline=deadline,
        )
        return await workflow.execute_activity(
            name,
            arg,
            start_to_close_timeout=START_TO_CLOSE,
            retry_policy=RETRY,
            result_type=result_type,
        )
