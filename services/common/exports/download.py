"""An export as an HTTP download: media type and a ``Content-Disposition`` safe for
Vietnamese file names.

The header carries two names (RFC 6266 §4.3): ``filename="..."`` in plain ASCII for old
clients (diacritics removed, ``đ`` → ``d``, anything else outside ``[A-Za-z0-9._-]`` → ``-``)
and ``filename*=UTF-8''...`` with the exact Vietnamese name percent-encoded (RFC 5987), which
browsers prefer. Neither can break the header (no quotes, no line breaks).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

from services.common.exports import Format, export
from services.common.exports.schemas import Record

MEDIA_TYPES: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
#: OpenAPI ``responses`` of an endpoint that may answer with a file.
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {media: {} for media in MEDIA_TYPES.values()},
        "description": "Tệp Excel hoặc PDF khi có ``format`` / the .xlsx or .pdf file",
    }
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f/\\\"]+")


def ascii_name(name: str) -> str:
    """The ASCII fallback of a file name: ``"Danh sách đề nghị khen thưởng 2026-06.pdf"`` →
    ``"Danh-sach-de-nghi-khen-thuong-2026-06.pdf"``."""
    plain = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub("-{2,}", "-", _UNSAFE.sub("-", plain)).strip("-.") or "export"


def content_disposition(filename: str) -> str:
    """The ``Content-Disposition: attachment`` value for ``filename`` (any Unicode text; slashes,
    quotes and control characters become ``-``)."""
    exact = unicodedata.normalize("NFC", _CONTROL.sub("-", filename)).strip() or "export"
    return f"attachment; filename=\"{ascii_name(exact)}\"; filename*=UTF-8''{quote(exact, safe='')}"


def file_response(record: Record, fmt: Format, stem: str) -> Response:
    """``record`` exported as ``fmt`` (``"xlsx"`` / ``"pdf"``) in a response named
    ``<stem>.<fmt>``. Raises as :func:`services.common.exports.export` (the record is already
    validated, so only a layout bug would)."""
    return Response(
        export(record, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": content_disposition(f"{stem}.{fmt}")},
    )
