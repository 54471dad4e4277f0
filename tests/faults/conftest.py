"""The fault scenarios of issue 9 (`docs/faults.md`).

The long ones (the worker killed 50 times during a 200-person month, the reporting consumer
killed 20 times, the broker restarted during a burst: it needs the moto server that
``make test-faults`` installs) run under ``make test-faults`` (``WOMS_FAULTS=1``); ``make test``
collects only the short ones. They are not collected
rather than skipped, so a skip can never hide a failure.
"""

from __future__ import annotations

import os

LONG = ["test_worker_kills.py", "test_consumer_kills.py", "test_broker_restart.py"]

collect_ignore = [] if os.environ.get("WOMS_FAULTS") == "1" else LONG
