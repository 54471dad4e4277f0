"""The monthly evaluation cycle (DOMAIN.md §6, 001 §IV.1) as Temporal workflows.

* :mod:`.inputs` — dataclass inputs, signal payloads and query results;
* :mod:`.deadlines` — the pure calendar: period → deadlines;
* :mod:`.activities` — activity names and contracts (implemented by the evaluation service);
* :mod:`.person` — :class:`~.person.PersonEvaluationWorkflow`, one person's month;
* :mod:`.cycle` — :class:`~.cycle.MonthlyCycleWorkflow`, the whole tenant's month;
* :mod:`.worker` — the workflow list and a worker builder.
"""
