"""The demo's tenant: Hà Nội (phường Phúc Lợi) with the monthly cycle's calendar compressed.

The tenant file ``data/tenants/hanoi/tenant.yaml`` is copied under ``$WOMS_HOME/demo/tenant/``
with the tenant setting ``calendar.seconds_per_day`` set (docs/tenant-file.md): a "day" of the
cycle then lasts that many seconds from the cycle's start. Its ``forms:`` are paths relative
to the tenant file (absolute ones are refused), so the form files are copied beside it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HANOI = ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml"
TENANT = "hanoi"


def compressed_tenant_file(folder: Path, seconds_per_day: int, source: Path = HANOI) -> Path:
    """Write a copy of ``source`` with ``calendar.seconds_per_day`` set under ``folder``.

    Args:
        folder: where the copy and its form files go (created).
        seconds_per_day: length of a cycle "day" in seconds (1–86 400).

    Returns:
        the path of the copy (``folder / "tenant.yaml"``).

    Raises:
        ValueError: ``seconds_per_day`` out of range.
        OSError, yaml.YAMLError: the source cannot be read.
    """
    if not 1 <= seconds_per_day <= 86_400:
        raise ValueError(f"seconds_per_day: {seconds_per_day} is not in 1..86400")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data.setdefault("calendar", {})["seconds_per_day"] = seconds_per_day
    folder.mkdir(parents=True, exist_ok=True)
    for form in data.get("forms", []):
        (folder / form).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.parent / form, folder / form)
    copy = folder / "tenant.yaml"
    copy.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return copy
