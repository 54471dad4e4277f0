"""Evidence files (minh chứng): what may be uploaded, and where the bytes are kept.

Evidence is the product and the proof attached to a submission (``000 §V.3``: "cung cấp minh
chứng lên HanoiWork"; ``000 §VI.2``: "gửi sản phẩm, tài liệu, minh chứng điện tử"). Files come
from any staff member's computer and are opened by reviewers, so the upload check is an
allow-list decided **by content, never by the file name** (:func:`check_upload`):

* ``application/pdf``; images ``image/png``, ``image/jpeg``, ``image/gif``, ``image/webp``
  (detected with the ``filetype`` package);
* Office Open XML ``docx`` / ``xlsx`` / ``pptx``: a zip whose ``[Content_Types].xml`` declares the
  main part of a Word document, an Excel workbook or a PowerPoint presentation (read with
  ``zipfile``; templates and macro-enabled variants are not on the list);
* legacy Word / Excel (``doc`` / ``xls``): an OLE2 compound file (magic ``D0CF11E0A1B11AE1``)
  whose directory holds a ``WordDocument`` or ``Workbook``/``Book`` stream — other OLE files
  (MSI installers, ``ppt`` …) are refused;
* OpenDocument text / spreadsheet (``odt`` / ``ods``): a zip with a ``mimetype`` member naming
  one of the two;
* plain text (``text/plain``): valid UTF-8 without NUL bytes;
* everything else is refused, first of all executables and scripts: ELF, PE/DOS (``MZ``),
  Mach-O (and ``CAFEBABE`` universal binaries / Java classes), shebang (``#!``) scripts, and
  text carrying ``<script`` or ``<?php``. Office files carrying macros (``vbaProject.bin``,
  ``macroEnabled`` content types, OLE ``Macros``/``_VBA_PROJECT_CUR`` storages, ODF ``Basic/``
  or ``Scripts/``) are refused as scripts too.

Two stores keep the bytes content-addressed by SHA-256 (identical content is stored once; the
caller's database row keeps the file name and uploader): :class:`LocalEvidenceStore` on a file
system, :class:`S3EvidenceStore` on an S3-compatible object store. Production needs an
S3-compatible endpoint (AWS S3, MinIO, Ceph RGW …) and a ``boto3`` client, which this module
never imports; its unit tests only check the keys and request arguments it builds.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import filetype

__all__ = [
    "ALLOWED_CONTENT_TYPES",
    "EvidenceCorrupted",
    "EvidenceNotFound",
    "EvidenceRejected",
    "EvidenceStore",
    "LocalEvidenceStore",
    "S3EvidenceStore",
    "StoredEvidence",
    "check_upload",
    "detect_content_type",
]

MIB = 1024 * 1024

PDF = "application/pdf"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
TEXT = "text/plain"
_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")

#: Every content type :func:`check_upload` can return.
ALLOWED_CONTENT_TYPES: frozenset[str] = frozenset(
    {PDF, *_IMAGES, DOC, XLS, DOCX, XLSX, PPTX, ODT, ODS, TEXT}
)

#: OOXML main-part content type (in ``[Content_Types].xml``) → the file's content type.
_OOXML_MAIN: tuple[tuple[bytes, str], ...] = (
    (b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", DOCX),
    (b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", XLSX),
    (
        b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        PPTX,
    ),
)
_ODF_ALLOWED = (ODT, ODS)
#: Largest ``[Content_Types].xml`` / ``mimetype`` member read (bytes): guards against zip bombs.
_MAX_MANIFEST = 1 * MIB

_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_ZIP_MAGIC = b"PK\x03\x04"
_UTF8_BOM = b"\xef\xbb\xbf"
#: Leading bytes of executables → what to call them in the message.
_EXECUTABLES: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "ELF executable (application/x-executable)"),
    (b"MZ", "Windows PE/DOS executable (application/x-msdownload)"),
    (b"\xfe\xed\xfa\xce", "Mach-O executable (application/x-mach-binary)"),
    (b"\xfe\xed\xfa\xcf", "Mach-O executable (application/x-mach-binary)"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable (application/x-mach-binary)"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable (application/x-mach-binary)"),
    (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class (application/x-mach-binary)"),
    (b"#!", "script with a shebang (#!)"),
)
_TEXT_SCRIPTS = (b"<script", b"<?php")


class EvidenceRejected(ValueError):
    """An upload is refused. ``str(error)`` is Vietnamese, then `` / ``, then English.

    Attributes:
        reason: the bilingual message.
        detected: the type detected from the content (e.g. ``"application/zip"``), or ``None``
            when the refusal is about size.
    """

    def __init__(self, reason: str, detected: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detected = detected


class EvidenceNotFound(KeyError):
    """No stored evidence has this key."""


class EvidenceCorrupted(RuntimeError):
    """The stored bytes no longer match the SHA-256 in their key."""


def _mb(size: int) -> str:
    """A byte count in MB (1 MB = 1 048 576 bytes) with at most two decimals, e.g. ``20``."""
    value = (Decimal(size) / MIB).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return "<0.01" if value == 0 else format(value.normalize(), "f")


def _refuse(vi: str, en: str, detected: str) -> EvidenceRejected:
    return EvidenceRejected(f"{vi} (phát hiện: {detected}) / {en} (detected: {detected})", detected)


def _not_allowed(detected: str) -> EvidenceRejected:
    return _refuse(
        "Loại tệp không được chấp nhận làm minh chứng",
        "this file type is not accepted as evidence",
        detected,
    )


def _executable(detected: str) -> EvidenceRejected:
    return _refuse(
        "Không chấp nhận tệp thực thi hoặc mã lệnh",
        "executables and scripts are not accepted",
        detected,
    )


def _damaged(detected: str) -> EvidenceRejected:
    return _refuse("Tệp bị hỏng, không đọc được", "the file is damaged or unreadable", detected)


class _Malformed(Exception):
    """An OLE2 structure that cannot be read."""


def _ole_entry_names(data: bytes) -> set[str]:
    """Names of the storages and streams of an OLE2 compound file ([MS-CFB] §2.2–2.6).

    Follows the DIFAT → FAT → directory chain; every loop is bounded by the file's sectors.

    Raises:
        _Malformed: a truncated or inconsistent file.
    """
    if len(data) < 512:
        raise _Malformed("shorter than the OLE header")
    (shift,) = struct.unpack_from("<H", data, 30)
    if shift not in (9, 12):
        raise _Malformed(f"sector shift {shift}")
    size = 1 << shift
    n_sectors = max(0, (len(data) - size) // size)
    per_sector = size // 4

    def sector(index: int) -> bytes:
        if index >= n_sectors:
            raise _Malformed(f"sector {index} beyond the end")
        offset = (index + 1) * size
        return data[offset : offset + size]

    def regular(value: int) -> bool:
        return value < 0xFFFFFFFA  # MAXREGSECT; the rest mark free / end of chain / FAT

    (first_dir,) = struct.unpack_from("<I", data, 48)
    (first_difat,) = struct.unpack_from("<I", data, 68)
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if regular(s)]
    next_difat, hops = first_difat, 0
    while regular(next_difat):
        hops += 1
        if hops > n_sectors:
            raise _Malformed("DIFAT chain loops")
        entries = struct.unpack(f"<{per_sector}I", sector(next_difat))
        fat_sectors.extend(s for s in entries[:-1] if regular(s))
        next_difat = entries[-1]
    fat: list[int] = []
    for index in fat_sectors:
        fat.extend(struct.unpack(f"<{per_sector}I", sector(index)))

    names: set[str] = set()
    current, visited = first_dir, set()
    while regular(current):
        if current in visited or current >= len(fat):
            raise _Malformed("directory chain loops or leaves the FAT")
        visited.add(current)
        block = sector(current)
        for offset in range(0, size, 128):
            entry = block[offset : offset + 128]
            (name_len,) = struct.unpack_from("<H", entry, 64)
            if entry[66] in (1, 2, 5) and 2 <= name_len <= 64 and name_len % 2 == 0:
                names.add(entry[: name_len - 2].decode("utf-16-le", errors="replace"))
        current = fat[current]
    return names


def _ole_type(data: bytes) -> str:
    """``doc`` or ``xls`` from an OLE2 file's stream names, else :class:`EvidenceRejected`."""
    try:
        names = _ole_entry_names(data)
    except (_Malformed, struct.error) as exc:
        raise _damaged("OLE compound file (application/x-ole-storage)") from exc
    if names & {"Macros", "_VBA_PROJECT_CUR", "VBA"}:
        raise _executable("Office document with macros (VBA)")
    if "WordDocument" in names:
        return DOC
    if "Workbook" in names or "Book" in names:
        return XLS
    guess = filetype.guess_mime(data)
    raise _not_allowed(f"OLE compound file ({guess or 'application/x-ole-storage'})")


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    """A zip member of at most :data:`_MAX_MANIFEST` bytes."""
    if archive.getinfo(name).file_size > _MAX_MANIFEST:
        raise _damaged(f"zip with an oversized {name}")
    return archive.read(name)


def _zip_type(data: bytes) -> str:
    """OOXML or OpenDocument type of a zip, verified with ``zipfile``, else refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" in names:
                manifest = _read_small(archive, "[Content_Types].xml")
                if b"macroenabled" in manifest.lower() or any(
                    n.lower().endswith("vbaproject.bin") for n in names
                ):
                    raise _executable("Office document with macros (VBA)")
                for main, content_type in _OOXML_MAIN:
                    if main in manifest:
                        return content_type
                raise _not_allowed("Office Open XML package other than docx/xlsx/pptx")
            if "mimetype" in names:
                declared = _read_small(archive, "mimetype").decode("ascii", "replace").strip()
                if declared not in _ODF_ALLOWED:
                    raise _not_allowed(f"OpenDocument ({declared})")
                if any(n.startswith(("Basic/", "Scripts/")) for n in names):
                    raise _executable("OpenDocument with macros (Basic/Scripts)")
                return declared
    except EvidenceRejected:
        raise
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
        # RuntimeError: encrypted member; NotImplementedError: unknown compression
        raise _damaged("application/zip") from exc
    raise _not_allowed(filetype.guess_mime(data) or "application/zip")


def _text_type(data: bytes) -> str | None:
    """``text/plain`` for UTF-8 text without NUL bytes; refuses embedded scripts; else None."""
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lowered = data.lower()
    if any(marker in lowered for marker in _TEXT_SCRIPTS):
        raise _executable("text with an embedded script (<script> / <?php)")
    return TEXT


def detect_content_type(data: bytes) -> str:
    """The content type of ``data`` if it is on the evidence allow-list (module docstring).

    Size is not checked here (see :func:`check_upload`).

    Returns:
        One of :data:`ALLOWED_CONTENT_TYPES`.

    Raises:
        EvidenceRejected: empty, an executable or script, a damaged container, or a type not
            on the list; the message names the detected type.
    """
    if not data:
        raise EvidenceRejected("Tệp rỗng / the file is empty", "empty")
    head = data.removeprefix(_UTF8_BOM)
    for magic, name in _EXECUTABLES:
        if head.startswith(magic):
            raise _executable(name)
    if data.startswith(_OLE_MAGIC):
        return _ole_type(data)
    if data.startswith(_ZIP_MAGIC):
        return _zip_type(data)
    guessed = filetype.guess_mime(data)
    if guessed in (PDF, *_IMAGES):
        return str(guessed)
    if guessed is not None:
        raise _not_allowed(str(guessed))
    text = _text_type(data)
    if text is not None:
        return text
    raise _not_allowed("unknown binary (application/octet-stream)")


def check_upload(data: bytes, filename: str, *, max_bytes: int) -> str:
    """Accept or refuse an evidence upload; returns its content type, detected by content.

    Args:
        data: the file's bytes.
        filename: the name given by the uploader; quoted in messages only, never trusted for
            the type (``report.pdf`` holding an executable is refused).
        max_bytes: the tenant's size limit (bytes, > 0); messages state it in MB
            (1 MB = 1 048 576 bytes).

    Returns:
        One of :data:`ALLOWED_CONTENT_TYPES`.

    Raises:
        ValueError: ``max_bytes`` is not a positive int.
        EvidenceRejected: empty file; larger than ``max_bytes``; not on the allow-list (module
            docstring). The message is Vietnamese + English and names the detected type.
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ValueError(f"max_bytes: {max_bytes!r} must be a positive number of bytes")
    shown = _display_name(filename)
    if not data:
        raise EvidenceRejected(f"Tệp '{shown}' rỗng / the file '{shown}' is empty", "empty")
    if len(data) > max_bytes:
        sizes = f"{len(data)} > {max_bytes} byte"
        raise EvidenceRejected(
            f"Tệp '{shown}' vượt quá giới hạn {_mb(max_bytes)} MB của đơn vị ({sizes}) "
            f"/ the file '{shown}' exceeds the {_mb(max_bytes)} MB limit ({sizes}s)"
        )
    try:
        return detect_content_type(data)
    except EvidenceRejected as exc:
        raise EvidenceRejected(f"'{shown}': {exc.reason}", exc.detected) from None


def _display_name(filename: str) -> str:
    """The last path component of an uploaded name, control characters removed, ≤ 255 chars;
    ``evidence`` when nothing is left."""
    name = re.split(r"[/\\]", str(filename))[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "evidence"


@dataclass(frozen=True, slots=True)
class StoredEvidence:
    """Where an evidence file was stored.

    Attributes:
        key: the store's key (``<sha256[:2]>/<sha256>``, with the S3 prefix if any).
        sha256: hex SHA-256 of the content.
        size: bytes.
        content_type: detected from the content (:func:`detect_content_type`).
        filename: the uploader's file name, reduced to its last path component.
    """

    key: str
    sha256: str
    size: int
    content_type: str
    filename: str


@runtime_checkable
class EvidenceStore(Protocol):
    """Content-addressed storage of evidence bytes."""

    def put(self, data: bytes, filename: str) -> StoredEvidence:
        """Check and store ``data``; identical content is stored once.

        Raises:
            EvidenceRejected: as :func:`detect_content_type` (and the store's size limit).
        """
        ...

    def get(self, key: str) -> bytes:
        """The stored bytes.

        Raises:
            ValueError: malformed key. EvidenceNotFound: no such key. EvidenceCorrupted: the
                bytes do not match their hash.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored.

        Raises:
            ValueError: malformed key.
        """
        ...


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _checked_type(data: bytes, filename: str, max_bytes: int | None) -> str:
    if max_bytes is None:
        return detect_content_type(data)
    return check_upload(data, filename, max_bytes=max_bytes)


def _sha_of_key(key: str, prefix: str) -> str:
    """The SHA-256 named by ``<prefix><sha[:2]>/<sha>``.

    Raises:
        ValueError: any other shape (no path traversal, no foreign prefix).
    """
    if not isinstance(key, str) or not key.startswith(prefix):
        raise ValueError(f"evidence key {key!r} is malformed")
    rest = key[len(prefix) :]
    folder, _, digest = rest.partition("/")
    if not _HEX64.fullmatch(digest) or folder != digest[:2]:
        raise ValueError(f"evidence key {key!r} is malformed")
    return digest


class LocalEvidenceStore:
    """Evidence on a local file system: ``root/<sha256[:2]>/<sha256>``.

    Writes go to a temporary file in the target folder, are flushed to disk, then renamed over
    the target with :func:`os.replace` (atomic), so readers never see half a file and two
    concurrent uploads of the same content are harmless.

    Args:
        root: the folder (created when missing).
        max_bytes: an optional store-wide size limit (bytes); the tenant limit is checked by the
            caller with :func:`check_upload`.
    """

    def __init__(self, root: Path, *, max_bytes: int | None = None) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        digest = _sha_of_key(key, "")
        return self.root / digest[:2] / digest

    def put(self, data: bytes, filename: str) -> StoredEvidence:
        """See :meth:`EvidenceStore.put`. Content already stored intact is not rewritten."""
        content_type = _checked_type(data, filename, self.max_bytes)
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}"
        path = self._path(key)
        if not (path.is_file() and _file_sha256(path) == digest):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredEvidence(key, digest, len(data), content_type, _display_name(filename))

    def get(self, key: str) -> bytes:
        """See :meth:`EvidenceStore.get`; the content is re-hashed on every read."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise EvidenceNotFound(key) from None
        if hashlib.sha256(data).hexdigest() != path.name:
            raise EvidenceCorrupted(f"evidence {key} does not match its SHA-256")
        return data

    def exists(self, key: str) -> bool:
        """See :meth:`EvidenceStore.exists`."""
        return self._path(key).is_file()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_not_found(exc: Exception) -> bool:
    """A boto3/botocore ``ClientError`` (or look-alike) meaning "no such key"."""
    response = getattr(exc, "response", None)
    if not isinstance(response, Mapping):
        return False
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    return str(error.get("Code")) in {"404", "NoSuchKey", "NotFound"} or (
        meta.get("HTTPStatusCode") == 404
    )


class S3EvidenceStore:
    """Evidence in an S3-compatible bucket: ``<prefix><sha256[:2]>/<sha256>``.

    Args:
        bucket: the bucket name.
        client: a ``boto3.client("s3")``-like object with ``put_object``, ``get_object`` and
            ``head_object``; boto3 is not imported here. Production needs a real S3-compatible
            endpoint (AWS S3, MinIO, Ceph RGW); only the key and argument logic is unit-tested.
        prefix: an optional key prefix ending with ``/`` (e.g. a tenant, ``"hanoi/"``).
        max_bytes: an optional store-wide size limit (bytes), as for the local store.

    Objects are written with ``ContentType`` (detected), ``ContentDisposition: attachment`` (a
    browser downloads rather than renders them) and user metadata ``sha256``. The file name is
    not stored with the object: identical content from two uploads is one object, and each
    upload's name stays in the caller's database.

    Raises:
        ValueError: empty bucket, or a prefix that starts with ``/`` or does not end with ``/``.
    """

    def __init__(
        self, bucket: str, client: Any, *, prefix: str = "", max_bytes: int | None = None
    ) -> None:
        if not bucket:
            raise ValueError("bucket must be given")
        if prefix and (prefix.startswith("/") or not prefix.endswith("/")):
            raise ValueError(f"prefix {prefix!r} must not start with '/' and must end with '/'")
        self.bucket = bucket
        self.client = client
        self.prefix = prefix
        self.max_bytes = max_bytes

    def key_for(self, sha256: str) -> str:
        """The object key of content with this hex SHA-256.

        Raises:
            ValueError: not 64 lowercase hex digits.
        """
        if not _HEX64.fullmatch(sha256):
            raise ValueError(f"{sha256!r} is not a hex SHA-256")
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def put(self, data: bytes, filename: str) -> StoredEvidence:
        """See :meth:`EvidenceStore.put`; skips the upload when the object already exists."""
        content_type = _checked_type(data, filename, self.max_bytes)
        digest = hashlib.sha256(data).hexdigest()
        key = self.key_for(digest)
        if not self.exists(key):
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentLength=len(data),
                ContentType=content_type,
                ContentDisposition="attachment",
                Metadata={"sha256": digest},
            )
        return StoredEvidence(key, digest, len(data), content_type, _display_name(filename))

    def get(self, key: str) -> bytes:
        """See :meth:`EvidenceStore.get`; the content is re-hashed on every read."""
        digest = _sha_of_key(key, self.prefix)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _is_not_found(exc):
                raise EvidenceNotFound(key) from exc
            raise
        data: bytes = response["Body"].read()
        if hashlib.sha256(data).hexdigest() != digest:
            raise EvidenceCorrupted(f"evidence {key} does not match its SHA-256")
        return data

    def exists(self, key: str) -> bool:
        """See :meth:`EvidenceStore.exists` (a ``head_object`` request)."""
        _sha_of_key(key, self.prefix)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _is_not_found(exc):
                return False
            raise
        return True
