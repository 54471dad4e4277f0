"""The audit chain's pure parts (services/common/audit.py): the canonical encoding, the entry
hash, the walk that finds the first edited, removed or reordered entry, the exported head."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.common import audit

TENANT = "hanoi"
T0 = datetime(2026, 6, 30, 9, 15, 0, 123456, tzinfo=UTC)


def _chain(n: int, tenant: str = TENANT) -> list[dict[str, Any]]:
    """``n`` entries chained as :func:`audit.append` chains them."""
    rows, prev = [], audit.GENESIS
    for seq in range(1, n + 1):
        row = {
            "seq": seq,
            "at": T0 + timedelta(seconds=seq),
            "tenant": tenant,
            "actor": f"P0{seq}",
            "action": "evaluation.reviewed",
            "object_kind": "evaluation",
            "object_id": f"P0{seq}/2026-06",
            "before": audit.canonical({"status": "self_assessed"}),
            "after": audit.canonical({"status": "reviewed", "review_general": Decimal("27.50")}),
            "prev_hash": prev,
        }
        row["hash"] = prev = audit.entry_hash(row)
        rows.append(row)
    return rows


def test_canonical_json_is_sorted_compact_utf8_and_exact() -> None:
    value = {
        "z": Decimal("83.900000"),
        "a": "Nguyễn Văn A",
        "d": date(2026, 6, 30),
        "t": datetime(2026, 6, 30, 16, 0, tzinfo=timezone(timedelta(hours=7))),
        "n": [1, None, True],
    }
    assert audit.canonical(value) == (
        '{"a":"Nguyễn Văn A","d":"2026-06-30","n":[1,null,true],'
        '"t":"2026-06-30T09:00:00.000000+00:00","z":"83.9"}'
    )
    with pytest.raises(TypeError):
        audit.canonical({"x": object()})


def test_the_hash_is_sha256_of_the_canonical_entry_with_the_previous_hash() -> None:
    row = _chain(1)[0]
    document = (
        '{"action":"evaluation.reviewed","actor":"P01",'
        '"after":{"review_general":"27.5","status":"reviewed"},'
        '"at":"2026-06-30T09:15:01.123456+00:00","before":{"status":"self_assessed"},'
        '"object_id":"P01/2026-06","object_kind":"evaluation",'
        f'"prev_hash":"{audit.GENESIS}","seq":1,"tenant":"hanoi"}}'
    )
    assert row["hash"] == hashlib.sha256(document.encode()).hexdigest()


def test_every_field_is_covered_and_a_naive_time_is_utc() -> None:
    row = _chain(1)[0]
    for name, other in [
        ("seq", 2),
        ("at", T0),
        ("tenant", "thanhhoa"),
        ("actor", "P09"),
        ("action", "evaluation.decided"),
        ("object_kind", "task"),
        ("object_id", "P01/2026-07"),
        ("before", None),
        ("after", audit.canonical({"status": "decided"})),
        ("prev_hash", "f" * 64),
    ]:
        assert audit.entry_hash({**row, name: other}) != row["hash"], name
    naive = {**row, "at": row["at"].replace(tzinfo=None)}  # as SQLite gives it back
    assert audit.entry_hash(naive) == row["hash"]


def test_an_intact_chain_is_walked_to_its_head() -> None:
    rows = _chain(5)
    count, head, broken = audit.check_entries(rows, TENANT)
    assert (count, head.seq, head.hash, broken) == (5, 5, rows[-1]["hash"], None)
    assert audit.check_entries([], TENANT)[1] == audit.Head(0, audit.GENESIS, None)


def test_an_edited_entry_is_named() -> None:
    rows = _chain(5)
    rows[2] = {**rows[2], "after": audit.canonical({"status": "reviewed", "grade": "A"})}
    count, head, broken = audit.check_entries(rows, TENANT)
    assert broken is not None and broken.seq == 3 and "edited" in broken.problem
    assert (count, head.seq) == (2, 2)


def test_an_edited_and_rehashed_entry_breaks_the_next_link() -> None:
    rows = _chain(5)
    rows[2] = {**rows[2], "actor": "P99"}
    rows[2]["hash"] = audit.entry_hash(rows[2])
    _, _, broken = audit.check_entries(rows, TENANT)
    assert broken is not None and broken.seq == 4
    assert "prev_hash does not match the hash of seq 3" in broken.problem


@pytest.mark.parametrize(("removed", "named"), [([0], "1"), ([2], "3"), ([1, 2], "2–3")])
def test_removed_entries_are_named(removed: list[int], named: str) -> None:
    rows = [r for i, r in enumerate(_chain(5)) if i not in removed]
    _, _, broken = audit.check_entries(rows, TENANT)
    assert broken is not None and broken.seq == removed[0] + 1
    assert f"entry {named} missing" in broken.problem


def test_a_reordered_entry_is_named_with_the_entry_it_links_to() -> None:
    rows = _chain(5)
    rows[1], rows[2] = {**rows[2], "seq": 2}, {**rows[1], "seq": 3}  # seq numbers swapped
    by_hash = {r["hash"]: r["seq"] for r in rows}
    _, _, broken = audit.check_entries(rows, TENANT, by_hash.get)
    assert broken is not None and broken.seq == 2
    assert "out of order: it links to the entry stored at seq 3" in broken.problem
    _, _, unnamed = audit.check_entries(rows, TENANT)
    assert unnamed is not None and unnamed.seq == 2 and "prev_hash" in unnamed.problem


def test_another_tenants_chain_is_refused() -> None:
    _, _, broken = audit.check_entries(_chain(2, "thanhhoa"), TENANT)
    assert broken is not None and broken.seq == 1 and "'thanhhoa'" in broken.problem


def test_the_head_file_is_written_atomically(tmp_path: Path) -> None:
    rows = _chain(3)
    head = audit.Head(3, rows[-1]["hash"], rows[-1]["at"])
    document = audit.head_document(TENANT, "evaluation", head, T0)
    out = tmp_path / "heads"
    path = audit.write_head_file(out, document, date(2026, 6, 30))
    assert path == out / "hanoi-evaluation-2026-06-30.json"
    again = audit.write_head_file(out, {**document, "seq": 3}, date(2026, 6, 30))  # replaced
    assert [p.name for p in out.iterdir()] == [again.name]  # no temporary file left
    data = json.loads(path.read_text())
    assert data == {
        "tenant": TENANT,
        "service": "evaluation",
        "seq": 3,
        "hash": rows[-1]["hash"],
        "time": "2026-06-30T09:15:03.123456+00:00",
        "exported_at": "2026-06-30T09:15:00.123456+00:00",
    }
    assert audit.head_from_document(data) == audit.Head(3, rows[-1]["hash"], rows[-1]["at"])


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"seq": -1, "hash": "0" * 64}, "seq"),
        ({"seq": True, "hash": "0" * 64}, "seq"),
        ({"seq": "3", "hash": "0" * 64}, "seq"),
        ({"seq": 3, "hash": "0" * 63}, "hash"),
        ({"seq": 3, "hash": "G" * 64}, "hash"),
    ],
)
def test_a_bad_head_document_names_the_field(document: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        audit.head_from_document(document)
