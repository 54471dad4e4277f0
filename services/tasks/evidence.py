"""Evidence files (minh chứng): what may be uploaded, under which name, how it is served, and
where the bytes are kept.

Evidence is the product and the proof attached to a submission (``000 §V.3``: "cung cấp minh
chứng lên HanoiWork"; ``000 §VI.2``: "gửi sản phẩm, tài liệu, minh chứng điện tử"). Files come
from any staff member's computer and are opened by reviewers, so the upload check
(:func:`check_upload`) is an allow-list decided **by content**, and the file name must then
agree with what the content is (a browser saves a download under its name, and the name decides
what the reviewer's computer does on a double click):

* ``application/pdf`` (``.pdf``); images ``image/png`` (``.png``), ``image/jpeg`` (``.jpg`` /
  ``.jpeg``), ``image/gif`` (``.gif``), ``image/webp`` (``.webp``) — detected with the
  ``filetype`` package;
* ``image/svg+xml`` (``.svg``): UTF-8 XML whose root is ``<svg>``, parsed with ``defusedxml``
  (entity declarations and external entities refused) and refused when it can run anything:
  ``script`` / ``foreignObject`` / ``handler`` / ``iframe`` / ``embed`` / ``object`` elements,
  any XHTML element, any ``on*`` attribute (``onload=``, ``onerror=`` …), an animation setting
  an ``on*`` attribute, ``javascript:`` / ``vbscript:`` / non-image ``data:`` URLs in any
  attribute or style, and processing instructions (``<?xml-stylesheet?>`` can apply XSLT);
* Office Open XML ``docx`` / ``xlsx`` / ``pptx``: a zip whose ``[Content_Types].xml`` declares the
  main part of a Word document, an Excel workbook or a PowerPoint presentation (templates and
  macro-enabled variants are not on the list);
* legacy Word / Excel (``doc`` / ``xls``): an OLE2 compound file (magic ``D0CF11E0A1B11AE1``)
  whose directory holds a ``WordDocument`` or ``Workbook``/``Book`` stream — other OLE files
  (MSI installers, ``ppt`` …) are refused;
* OpenDocument text / spreadsheet (``odt`` / ``ods``): a zip with a ``mimetype`` member naming
  one of the two;
* plain text (``text/plain``, ``.txt``): valid UTF-8 without NUL bytes that is neither HTML nor
  a recognisable script;
* everything else is refused, first of all executables and scripts:

  - by content: ELF, PE/DOS (``MZ``), Mach-O (and ``CAFEBABE`` universal binaries / Java
    classes), Windows shortcuts (``.lnk``), compiled help (``ITSF``), shebang (``#!``) scripts;
    text carrying ``<script`` or ``<?php``; text that is HTML (an HTML tag at the start as in
    the WHATWG MIME-sniffing table; or, once the text opens a tag, an active element such as
    ``<iframe``/``<svg``/``<img`` — with any namespace prefix in the first 64 KiB, as
    ``<name`` anywhere —, an ``on*=`` event attribute or a ``javascript:`` URL anywhere) —
    ``.html`` and ``.hta`` included; Windows batch (``@echo off``), PowerShell / WSH
    (``Invoke-Expression``, ``DownloadString(``, ``-EncodedCommand``, ``WScript.Shell``,
    ``CreateObject(`` …), ``cmd /c``, ``.reg`` / ``.url`` / ``.desktop`` files. These are
    heuristics: a plain note holding both a tag and ``online =`` is refused as HTML;
  - by name: any extension of :data:`DANGEROUS_EXTENSIONS` (``.exe``, ``.bat``, ``.cmd``,
    ``.ps1``, ``.vbs``, ``.js``, ``.hta``, ``.scr``, ``.lnk``, ``.sh`` …), and any name whose
    extension is not the one of its content (:data:`EXTENSIONS`): a batch file named ``.pdf``
    is text, not a PDF, and is refused;
  - in a zip container (OOXML, OpenDocument), every member is checked: a path that could
    escape a folder (``..``, absolute, drive letter, backslash, control characters), a duplicate
    name, encryption, a member named like an executable/script/HTML, a member starting like an
    executable (``MZ``, ELF …), an embedded OLE object holding a package (``\\x01Ole10Native``:
    how an ``.exe`` is carried inside a document) or macros, nested zips (checked the same way,
    three levels deep), ActiveX controls, macros (``vbaProject.bin``, ``vbaData.xml``, Excel 4
    macro sheets, ``macroEnabled`` content types, ODF ``Basic/`` / ``Scripts/``), relationships
    that load external content when the file opens (``TargetMode="External"`` other than a
    hyperlink or online audio / video over http(s): remote templates, linked pictures, OLE links
    such as CVE-2022-30190 "Follina"), and zip bombs (more than
    :data:`ZIP_MAX_MEMBERS` members, more than :data:`ZIP_MAX_UNCOMPRESSED` bytes uncompressed in
    all, or a member above 1 MiB expanding more than :data:`ZIP_MAX_RATIO` times).

Every refusal is an :class:`EvidenceRejected` (the API answers 422) whose message is Vietnamese,
then `` / ``, then English, and names what was detected.

File names are normalised by :func:`safe_file_name` before they are stored or shown, and a
download is sent with :func:`download_headers` (``Content-Disposition: attachment`` with an ASCII
and an RFC 5987 UTF-8 name from :func:`content_disposition`, ``X-Content-Type-Options: nosniff``
and a sandboxing ``Content-Security-Policy``; :data:`SECURITY_HEADERS`).

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
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import filetype
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

__all__ = [
    "ALLOWED_CONTENT_TYPES",
    "DANGEROUS_EXTENSIONS",
    "DEFAULT_FILE_NAME",
    "EXTENSIONS",
    "MAX_FILE_NAME_BYTES",
    "SECURITY_HEADERS",
    "ZIP_MAX_MEMBERS",
    "ZIP_MAX_RATIO",
    "ZIP_MAX_UNCOMPRESSED",
    "EvidenceCorrupted",
    "EvidenceNotFound",
    "EvidenceRejected",
    "EvidenceStore",
    "LocalEvidenceStore",
    "S3EvidenceStore",
    "StoredEvidence",
    "check_upload",
    "content_disposition",
    "detect_content_type",
    "download_headers",
    "safe_file_name",
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
SVG = "image/svg+xml"
TEXT = "text/plain"
_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")

#: Every content type :func:`check_upload` can return.
ALLOWED_CONTENT_TYPES: frozenset[str] = frozenset(
    {PDF, *_IMAGES, SVG, DOC, XLS, DOCX, XLSX, PPTX, ODT, ODS, TEXT}
)

#: Accepted file-name extension (lower case, no dot) → the content type it must hold.
EXTENSIONS: Mapping[str, str] = MappingProxyType(
    {
        "pdf": PDF,
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "svg": SVG,
        "doc": DOC,
        "xls": XLS,
        "docx": DOCX,
        "xlsx": XLSX,
        "pptx": PPTX,
        "odt": ODT,
        "ods": ODS,
        "txt": TEXT,
    }
)

#: Extensions (lower case, no dot) of executables, scripts, installers, shortcuts, HTML and
#: macro-enabled Office files: refused as a file name and as a zip member's name.
# fmt: off
DANGEROUS_EXTENSIONS: frozenset[str] = frozenset(
    {
        # Windows executables, libraries, installers, drivers, control-panel items
        "exe", "com", "scr", "pif", "cpl", "dll", "ocx", "sys", "drv", "ax", "efi", "msi", "msp",
        "mst", "msix", "msixbundle", "appx", "appxbundle", "cab", "xll",
        # Windows scripts and script hosts, shortcuts, registry, shell and help files
        "bat", "cmd", "btm", "ps1", "ps1xml", "ps2", "ps2xml", "psc1", "psc2", "psd1", "psm1",
        "pssc", "cdxml", "vb", "vbs", "vbe", "js", "jse", "wsf", "wsh", "wsc", "ws", "sct", "hta",
        "lnk", "url", "scf", "inf", "reg", "msc", "gadget", "application", "appref-ms",
        "settingcontent-ms", "library-ms", "search-ms", "searchconnector-ms", "jnlp", "chm", "hlp",
        "mht", "mhtml",
        # web pages (they run scripts when opened)
        "htm", "html", "xhtml", "shtml", "xht", "xsl", "xslt",
        # Unix and macOS executables, packages and scripts
        "sh", "bash", "zsh", "csh", "ksh", "fish", "command", "tool", "run", "elf", "so", "dylib",
        "app", "pkg", "dmg", "deb", "rpm", "apk", "desktop",
        # interpreted languages and bytecode
        "py", "pyc", "pyo", "pyw", "pyz", "pl", "pm", "rb", "php", "phtml", "php3", "php4", "php5",
        "phar", "asp", "aspx", "jsp", "cgi", "lua", "tcl", "jar", "class", "war", "ear",
        # macro-enabled and add-in Office files
        "docm", "dotm", "xlsm", "xltm", "xlsb", "xlam", "xla", "pptm", "potm", "ppsm", "ppam",
        "sldm", "iqy", "slk",
    }
)
# fmt: on

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
#: Largest ``[Content_Types].xml`` / ``mimetype`` / ``.rels`` member read (bytes).
_MAX_MANIFEST = 1 * MIB

#: At most this many members in a zip container (a docx has ~15, a large xlsx a few hundred).
ZIP_MAX_MEMBERS = 5000
#: At most this many bytes uncompressed in all (by the sizes the zip declares, which
#: ``zipfile`` enforces when reading), nested zips included.
ZIP_MAX_UNCOMPRESSED = 256 * MIB
#: A member larger than 1 MiB uncompressed may expand at most this many times (deflate tops out
#: near 1032×; repetitive spreadsheet XML stays well under 100×).
ZIP_MAX_RATIO = 200
_RATIO_FLOOR = 1 * MIB
#: Nested zips / OLE objects in a container are opened at most this deep …
_ZIP_MAX_DEPTH = 3
#: … and read whole only up to this size (larger ones are refused, as a bomb would be).
_NESTED_MAX = 64 * MIB

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
    (b"L\x00\x00\x00\x01\x14\x02\x00", "Windows shortcut (.lnk, application/x-ms-shortcut)"),
    (b"ITSF", "Windows compiled help (.chm, application/vnd.ms-htmlhelp)"),
    (b"\x00asm", "WebAssembly module (application/wasm)"),
    (b"#!", "script with a shebang (#!)"),
)

#: How much of a text the anchored checks (:data:`_SCRIPT_STARTS`, :data:`_HTML_START`) and the
#: tag-by-tag HTML check (:data:`_ACTIVE_TAG`) read: browsers sniff at most the first 1445 bytes
#: (WHATWG MIME sniffing, "resource header"); the rest of the text is searched for substrings.
_SNIFF_CHARS = 64 * 1024
#: A text starting like a file Windows acts on (matched on the lower-cased start of the text).
_SCRIPT_STARTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\s*(?:@\s*)?echo\s+off\b"), "Windows batch script (@echo off)"),
    (
        re.compile(r"\s*(?:windows registry editor version|regedit4\b)"),
        "Windows registry file (.reg)",
    ),
    (
        re.compile(r"\s*\[(?:internetshortcut|\.shellclassinfo|shell|desktop entry)\]"),
        "shortcut or shell file (.url, .scf, .desktop)",
    ),
)
#: Script code anywhere in a text: (substrings one of which must occur, the pattern, what it
#: is); searched in the lower-cased text, the pattern only when a substring occurs.
_SCRIPT_CODE: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    (
        ("invoke-", "download", "webclient", "executionpolicy", "start-process", "-enc", "iex"),
        re.compile(
            r"invoke-expression|invoke-webrequest|downloadstring\s*\(|downloadfile\s*\("
            r"|new-object\s+(?:-typename\s+)?(?:system\.)?net\.webclient|set-executionpolicy"
            r"|start-process\s|(?<![\w-])-enc(?:odedcommand)?\s|(?<![\w-])iex\s*[(\"'$]"
            r"|\[system\.reflection\.assembly\]::load"
        ),
        "PowerShell script (.ps1)",
    ),
    (
        ("wscript", "shell.application", "createobject", "activexobject", "getobject"),
        re.compile(
            r"wscript\.shell|shell\.application|wscript\.(?:createobject|echo|quit|sleep)"
            r"|createobject\s*\(|activexobject\s*\(|getobject\s*\(\s*[\"']winmgmts"
        ),
        "Windows Script Host script (.vbs, .js, .wsf)",
    ),
    (
        ("cmd", "powershell"),
        re.compile(r"(?<![\w-])(?:cmd(?:\.exe)?\s+/[ck]|powershell(?:\.exe)?\s+-)"),
        "command line",
    ),
)
#: HTML as the WHATWG MIME-sniffing standard recognises it at the start of a resource (§7.1,
#: "identifying a resource with an unknown MIME type"): one of these tags, then a space or ``>``.
_HTML_START = re.compile(
    r"[\t\n\x0c\r ]*<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style"
    r"|title|b|body|br|p|!--)(?=[ >])"
)
#: HTML elements that run, load or frame content: a tag (any namespace prefix) searched in the
#: first :data:`_SNIFF_CHARS` of a text, ``<name`` as a substring in all of it.
_ACTIVE_ELEMENTS: tuple[str, ...] = (
    "html", "head", "body", "script", "iframe", "frame", "frameset", "object", "embed",
    "applet", "meta", "link", "base", "form", "svg", "math", "img", "image", "video", "audio",
    "source", "input", "button", "details", "marquee", "isindex", "template", "style",
)  # fmt: skip
_ACTIVE_TAG = re.compile(rf"<(?:[\w.-]+:)?(?:{'|'.join(_ACTIVE_ELEMENTS)})(?=[\s/>])")
#: A tag opening (``<a``, ``<!``, ``</``, ``<?``): only a text with one is looked at as HTML.
_TAG_OPEN = re.compile(r"<[a-z!/?]")
#: An event-handler attribute (``onerror=``), searched in the whole lower-cased text (not tag
#: by tag: quoted ``>`` and ``<`` in attribute values would defeat that, and it is quadratic).
_EVENT_ATTRIBUTE = re.compile(r"(?<![\w-])(on[a-z]{3,})\s*=")
_SCRIPT_URL = re.compile(r"(?:javascript|vbscript|livescript)\s*:")

_SVG_NS = "http://www.w3.org/2000/svg"
_XHTML_NS = "http://www.w3.org/1999/xhtml"
#: SVG elements (local names, lower case) that run or embed active content.
_SVG_FORBIDDEN_ELEMENTS = frozenset(
    {"script", "foreignobject", "handler", "listener", "iframe", "embed", "object", "applet"}
)
#: ``data:`` URLs an SVG may carry (embedded raster images).
_SAFE_DATA_URL = re.compile(r"data:image/(?:png|jpeg|jpg|gif|webp)[;,]")
#: A URL scheme that runs or carries a document, at the start of a value or after a character
#: that cannot be part of a scheme (``url(``, ``;`` in ``values=`` lists, a space …).
_URL_SCHEME = re.compile(r"(?:^|[^a-z0-9+.-])(javascript|vbscript|livescript|data):")
_CSS_ACTIVE = ("expression(", "-moz-binding", "behavior:", "@import")


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


def _html(detected: str) -> EvidenceRejected:
    return _refuse(
        "Không chấp nhận trang HTML hoặc nội dung có mã lệnh chạy trong trình duyệt",
        "HTML and content that runs in a browser are not accepted",
        detected,
    )


def _bomb(detected: str) -> EvidenceRejected:
    return _refuse(
        "Tệp nén bất thường (quá nhiều thành phần hoặc giải nén quá lớn)",
        "abnormal archive (too many members or too large once uncompressed)",
        detected,
    )


def _shown(text: str, limit: int = 80) -> str:
    """``text`` for a message: at most ``limit`` characters (then ``…``), control and format
    characters escaped as ``\\xNN``."""
    cut = len(text) > limit
    escaped = "".join(
        ch if unicodedata.category(ch)[0] != "C" else f"\\x{ord(ch):02x}" for ch in text[:limit]
    )
    return escaped[:limit] + ("…" if cut or len(escaped) > limit else "")


# --- OLE2 (legacy Office) ------------------------------------------------------------------


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


#: OLE storages / streams of macros, and of an embedded package (any file, an ``.exe`` too).
_OLE_MACROS = frozenset({"Macros", "_VBA_PROJECT_CUR", "VBA", "_VBA_PROJECT"})
_OLE_PACKAGE = "\x01Ole10Native"


def _ole_refusal(names: set[str]) -> EvidenceRejected | None:
    """Why an OLE directory (a whole file or an object embedded in one) is refused, or None."""
    if names & _OLE_MACROS:
        return _executable("Office document with macros (VBA)")
    if _OLE_PACKAGE in names:
        return _executable("embedded OLE package object (\\x01Ole10Native), may carry any file")
    return None


def _ole_type(data: bytes) -> str:
    """``doc`` or ``xls`` from an OLE2 file's stream names, else :class:`EvidenceRejected`
    (damaged, macros, an embedded package, or another OLE file such as an MSI installer)."""
    try:
        names = _ole_entry_names(data)
    except (_Malformed, struct.error) as exc:
        raise _damaged("OLE compound file (application/x-ole-storage)") from exc
    refusal = _ole_refusal(names)
    if refusal is not None:
        raise refusal
    if "WordDocument" in names:
        return DOC
    if "Workbook" in names or "Book" in names:
        return XLS
    guess = filetype.guess_mime(data)
    raise _not_allowed(f"OLE compound file ({guess or 'application/x-ole-storage'})")


# --- zip containers (OOXML, OpenDocument) --------------------------------------------------


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, refused when it declares more than ``limit`` bytes or expands past
    what it declares (a forged size; the read itself never goes past the bound)."""
    if info.file_size > limit:
        raise _bomb(f"zip member '{_shown(info.filename)}' over {_mb(limit)} MB")
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise _bomb(f"zip member '{_shown(info.filename)}' larger than it declares")
    return data


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    """A zip member of at most :data:`_MAX_MANIFEST` bytes."""
    info = archive.getinfo(name)
    if info.file_size > _MAX_MANIFEST:
        raise _damaged(f"zip with an oversized {_shown(name)}")
    return _read_bounded(archive, info, _MAX_MANIFEST)


def _extension(name: str) -> str:
    """The lower-case extension of the last path component of ``name`` (no dot), ignoring the
    trailing dots and spaces Windows drops (``a.bat.`` → ``bat``); ``""`` when there is none."""
    base = re.split(r"[/\\]", name)[-1].rstrip(" .")
    _, dot, ext = base.rpartition(".")
    return ext.lower() if dot else ""


def _unsafe_member_name(name: str) -> bool:
    """A zip member name that could leave the extraction folder or confuse a parser."""
    if not name or name.startswith("/") or "\\" in name or re.match(r"[A-Za-z]:", name):
        return True
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        return True
    return any(part in ("..", ".") for part in name.split("/"))


class _Budget:
    """Uncompressed bytes a zip and its nested zips may still declare."""

    def __init__(self) -> None:
        self.left = ZIP_MAX_UNCOMPRESSED


def _check_zip_members(archive: zipfile.ZipFile, budget: _Budget, depth: int) -> None:
    """Refuse a container any of whose members is hostile (module docstring, zip containers).

    Args:
        archive: the open zip.
        budget: uncompressed bytes left for this zip and the ones nested in it.
        depth: 0 for the uploaded file, 1 for a zip inside it …

    Raises:
        EvidenceRejected: traversal / duplicate / encrypted member, executable or script member
            (by name or leading bytes), OLE package or macros, ActiveX, zip bomb.
        zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, ValueError,
            zlib.error: as ``zipfile`` raises them on a damaged member (the caller reports a
            damaged file).
    """
    infos = archive.infolist()
    if len(infos) > ZIP_MAX_MEMBERS:
        raise _bomb(f"zip with {len(infos)} members (at most {ZIP_MAX_MEMBERS})")
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if _unsafe_member_name(name):
            raise _refuse(
                "Tệp nén chứa đường dẫn không an toàn",
                "the archive holds an unsafe member path",
                f"zip member '{_shown(name)}'",
            )
        folded = name.casefold()
        if folded in seen:
            raise _damaged(f"zip with a duplicate member '{_shown(name)}'")
        seen.add(folded)
        if info.flag_bits & 0x1:
            raise _damaged(f"zip with an encrypted member '{_shown(name)}'")
        budget.left -= info.file_size
        if budget.left < 0:
            raise _bomb(f"zip over {_mb(ZIP_MAX_UNCOMPRESSED)} MB uncompressed")
        if info.file_size > _RATIO_FLOOR and info.file_size > ZIP_MAX_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            raise _bomb(f"zip member '{_shown(name)}' expanding {ratio}×")
        if info.is_dir():
            continue
        base = name.rsplit("/", 1)[-1].casefold()
        if _extension(name) in DANGEROUS_EXTENSIONS:
            raise _executable(f"zip member '{_shown(name)}' named as an executable or script")
        if base in ("vbaproject.bin", "vbadata.xml") or "macrosheet" in folded:
            raise _executable("Office document with macros (VBA)")
        if "/activex/" in f"/{folded}":
            raise _executable("Office document with ActiveX controls")
        with archive.open(info) as member:
            head = member.read(16)
        for magic, what in _EXECUTABLES:
            if head.startswith(magic):
                raise _executable(f"zip member '{_shown(name)}': {what}")
        if head.startswith((_OLE_MAGIC, _ZIP_MAGIC)):
            _check_nested(archive, info, head, budget, depth)


def _check_nested(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, head: bytes, budget: _Budget, depth: int
) -> None:
    """An OLE object or a zip inside a container: macros / packages / hostile members refused."""
    name = _shown(info.filename)
    if depth + 1 >= _ZIP_MAX_DEPTH or info.file_size > _NESTED_MAX:
        raise _bomb(f"zip member '{name}': nested too deep or too large")
    data = _read_bounded(archive, info, _NESTED_MAX)
    if head.startswith(_OLE_MAGIC):
        try:
            names = _ole_entry_names(data)
        except (_Malformed, struct.error) as exc:
            raise _damaged(f"zip member '{name}': OLE compound file") from exc
        refusal = _ole_refusal(names)
        if refusal is not None:
            raise _executable(f"zip member '{name}': {refusal.detected}")
        return
    with zipfile.ZipFile(io.BytesIO(data)) as nested:
        _check_zip_members(nested, budget, depth + 1)
        for manifest_name in nested.namelist():
            if manifest_name.lower() != "[content_types].xml":
                continue
            manifest = _read_small(nested, manifest_name)
            if b"macroenabled" in manifest.lower() or b"vbaproject" in manifest.lower():
                raise _executable(f"zip member '{name}': Office document with macros (VBA)")


#: External relationships an OOXML package may have besides hyperlinks: online audio / video
#: (PowerPoint), over http(s) only. Anything else external (``attachedTemplate``, ``oleObject``,
#: ``frame``, ``subDocument``, ``image``, ``externalLinkPath`` …) is loaded when the file opens.
_EXTERNAL_MEDIA = frozenset({"video", "audio", "media"})


def _parse_xml(data: bytes | str) -> tuple[ET.Element, list[str]]:
    """``data`` parsed with ``defusedxml`` (entity declarations and external entities refused;
    a plain ``<!DOCTYPE>`` is allowed); returns the root and the processing-instruction
    targets met (the ``<?xml …?>`` declaration is not one).

    Raises:
        DefusedXmlException: an entity declaration or an external reference.
        xml.etree.ElementTree.ParseError: not well-formed.
    """

    class Builder(ET.TreeBuilder):
        def __init__(self) -> None:
            super().__init__()
            self.pis: list[str] = []

        def pi(self, target: str, text: str | None = None) -> ET.Element:
            self.pis.append(target)
            return super().pi(target, text)

    builder = Builder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=False)
    parser.feed(data)
    return parser.close(), builder.pis


def _check_relationships(archive: zipfile.ZipFile) -> None:
    """Refuse an OOXML package whose ``.rels`` parts load external content: any
    ``TargetMode="External"`` relationship but a hyperlink, or online audio / video
    (:data:`_EXTERNAL_MEDIA`) over http(s) — remote templates, OLE links, frames, linked
    pictures are refused.

    Raises:
        EvidenceRejected: such a relationship, or a ``.rels`` part that is not well-formed XML.
    """
    for name in archive.namelist():
        if not name.lower().endswith(".rels"):
            continue
        try:
            root, _ = _parse_xml(_read_small(archive, name))
        except (DefusedXmlException, ET.ParseError) as exc:
            raise _damaged(f"Office Open XML with an unreadable '{_shown(name)}'") from exc
        for rel in root.iter():
            if not isinstance(rel.tag, str) or _local(rel.tag) != "relationship":
                continue
            if rel.get("TargetMode", "").lower() != "external":
                continue
            kind = rel.get("Type", "").rsplit("/", 1)[-1].lower()
            target = rel.get("Target", "").strip().lower()
            if kind == "hyperlink" or (
                kind in _EXTERNAL_MEDIA and target.startswith(("https://", "http://"))
            ):
                continue
            raise _executable(
                f"Office document loading external content ({_shown(kind, 40)}"
                f" → {_shown(rel.get('Target', ''), 60)})"
            )


def _zip_type(data: bytes) -> str:
    """OOXML or OpenDocument type of a zip, verified with ``zipfile``, else refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_zip_members(archive, _Budget(), 0)
            names = archive.namelist()
            if "[Content_Types].xml" in names:
                manifest = _read_small(archive, "[Content_Types].xml")
                lowered = manifest.lower()
                if b"macroenabled" in lowered or b"vbaproject" in lowered:
                    raise _executable("Office document with macros (VBA)")
                for main, content_type in _OOXML_MAIN:
                    if main in manifest:
                        _check_relationships(archive)
                        return content_type
                raise _not_allowed("Office Open XML package other than docx/xlsx/pptx")
            if "mimetype" in names:
                declared = _read_small(archive, "mimetype").decode("ascii", "replace").strip()
                if declared not in _ODF_ALLOWED:
                    raise _not_allowed(f"OpenDocument ({_shown(declared)})")
                if any(n.startswith(("Basic/", "Scripts/")) for n in names):
                    raise _executable("OpenDocument with macros (Basic/Scripts)")
                return declared
    except EvidenceRejected:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        RuntimeError,
        NotImplementedError,
        OSError,
        EOFError,
        ValueError,
        struct.error,
        zlib.error,
    ) as exc:
        # RuntimeError: encrypted member; NotImplementedError: unknown compression; ValueError:
        # a member name that is not UTF-8 though flagged so …; zlib.error: a damaged stream
        raise _damaged("application/zip") from exc
    raise _not_allowed(filetype.guess_mime(data) or "application/zip")


# --- text, HTML and SVG ----------------------------------------------------------------------


def _local(tag: str) -> str:
    """``{namespace}name`` → ``name``, lower case."""
    return tag.rpartition("}")[2].lower()


class _NotSvg(Exception):
    """The text is not an SVG document."""


def _unsafe_url(value: str, *, data_urls: bool = True) -> bool:
    """Whether an attribute value (or CSS text) holds a script URL (``javascript:``,
    ``vbscript:``, ``livescript:``) or, when ``data_urls``, a ``data:`` URL other than a
    raster image. As a browser parses a URL, tabs and line breaks anywhere and leading spaces /
    control characters are ignored (``java&#9;script:`` is ``javascript:``)."""
    squeezed = re.sub(r"[\t\n\r]+", "", value).lower()
    for match in _URL_SCHEME.finditer(squeezed):
        if match.group(1) != "data":
            return True
        if data_urls and not _SAFE_DATA_URL.match(squeezed, match.start(1)):
            return True
    return False


def _svg_refusal(text: str) -> EvidenceRejected | None:
    """If ``text`` is an SVG document: None when it is inert, else why it is refused.

    Raises:
        _NotSvg: the text is not XML with an ``<svg>`` root (the caller goes on as text).
    """
    try:
        root, pis = _parse_xml(text)
    except DefusedXmlException as exc:
        if "<svg" in text.lower():
            return _html(f"SVG with entity declarations ({type(exc).__name__})")
        raise _NotSvg from exc
    except ET.ParseError as exc:
        lowered = text.lower()
        if "<svg" in lowered or ":svg" in lowered:
            return _damaged("SVG that is not well-formed XML (image/svg+xml)")
        raise _NotSvg from exc
    if _local(root.tag) != "svg":
        raise _NotSvg  # XHTML and other XML: judged as text (HTML refused there)
    if pis:
        return _html(f"SVG with a processing instruction (<?{_shown(pis[0], 40)}?>)")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = _local(element.tag)
        if local in _SVG_FORBIDDEN_ELEMENTS:
            return _html(f"SVG with a <{local}> element")
        if element.tag.startswith(f"{{{_XHTML_NS}}}"):
            return _html(f"SVG with an embedded XHTML <{local}> element")
        for key, value in element.attrib.items():
            attribute = _local(key)
            if attribute.startswith("on"):
                return _html(f"SVG with an event attribute ({_shown(attribute, 40)}=)")
            animated = value.strip().lower().rpartition(":")[2]
            if attribute == "attributename" and animated.startswith(("on", "href")):
                return _html(f"SVG animating {_shown(value, 40)!r}")
            if ":" in value and _unsafe_url(value):
                return _html(f"SVG with a script or data URL in {_shown(attribute, 40)}=")
            if attribute == "style" and any(m in value.lower() for m in _CSS_ACTIVE):
                return _html("SVG with active CSS (expression/binding/@import)")
        if local == "style" and element.text:
            css = element.text.lower()
            if _unsafe_url(css, data_urls=False) or any(m in css for m in _CSS_ACTIVE):
                return _html("SVG with active CSS in <style>")
    return None


def _html_refusal(lowered: str) -> EvidenceRejected | None:
    """Why a text (lower-cased) would run as HTML in a browser, or None: an HTML start (WHATWG
    table), or — once the text opens a tag — an active element (:data:`_ACTIVE_ELEMENTS`), an
    event attribute or a script URL."""
    if _HTML_START.match(lowered, 0, _SNIFF_CHARS):
        return _html("HTML (text/html)")
    if not _TAG_OPEN.search(lowered):
        return None
    tag = _ACTIVE_TAG.search(lowered, 0, _SNIFF_CHARS)
    if tag:
        return _html(f"HTML with an active tag ({_shown(tag.group(0), 40)})")
    for element in _ACTIVE_ELEMENTS:
        if f"<{element}" in lowered:
            return _html(f"HTML with an active tag (<{element})")
    event = _EVENT_ATTRIBUTE.search(lowered) if "=" in lowered else None
    if event:
        return _html(f"HTML with an event attribute ({_shown(event.group(1), 40)}=)")
    if "script" in lowered and _SCRIPT_URL.search(lowered):
        return _html("HTML with a script URL (javascript:)")
    return None


def _script_refusal(lowered: str) -> EvidenceRejected | None:
    """Why a text (lower-cased) is a script or a file Windows acts on, or None."""
    for pattern, what in _SCRIPT_STARTS:
        if pattern.match(lowered, 0, _SNIFF_CHARS):
            return _executable(what)
    for keywords, pattern, what in _SCRIPT_CODE:
        if any(keyword in lowered for keyword in keywords) and pattern.search(lowered):
            return _executable(what)
    return None


def _text_type(data: bytes) -> str | None:
    """``image/svg+xml`` for an inert SVG, ``text/plain`` for other UTF-8 text without NUL
    bytes, None for anything else; refuses an SVG that can run code, embedded scripts
    (``<script`` / ``<?php``), HTML (:func:`_html_refusal`) and recognisable script files
    (:data:`_SCRIPT_STARTS`, :data:`_SCRIPT_CODE`)."""
    if b"\x00" in data:
        return None
    try:
        text = data.removeprefix(_UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.lstrip().startswith("<"):
        try:
            refusal = _svg_refusal(text)
        except _NotSvg:
            pass
        else:
            if refusal is not None:
                raise refusal
            return SVG
    lowered = text.lower()
    if any(marker in lowered for marker in ("<script", "<?php")):
        raise _executable("text with an embedded script (<script>, <?php)")
    refusal = _html_refusal(lowered) or _script_refusal(lowered)
    if refusal is not None:
        raise refusal
    return TEXT


def detect_content_type(data: bytes) -> str:
    """The content type of ``data`` if it is on the evidence allow-list (module docstring).

    Only the content is looked at: size and file name are checked by :func:`check_upload`.

    Returns:
        One of :data:`ALLOWED_CONTENT_TYPES`.

    Raises:
        EvidenceRejected: empty, an executable or script, HTML, an SVG that can run code, a
            damaged or hostile container, or a type not on the list; the message names the
            detected type.
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


# --- file names ----------------------------------------------------------------------------

#: What :func:`safe_file_name` answers when nothing usable is left of a name.
DEFAULT_FILE_NAME = "minh-chung"
#: :func:`safe_file_name` keeps names within this many UTF-8 bytes (file systems allow 255;
#: the rest is left for a browser's " (1)" and the database column of 300 characters).
MAX_FILE_NAME_BYTES = 200
_MAX_EXTENSION = 16
_WINDOWS_RESERVED = re.compile(
    r"(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)", re.I
)
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')


def _cut_utf8(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` UTF-8 bytes (never half a character)."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def safe_file_name(raw: str, *, default: str = DEFAULT_FILE_NAME) -> str:
    """A file name safe to store, show in a page and send in a header, from what an uploader
    gave.

    In order: Unicode NFC (a Vietnamese name typed on macOS arrives decomposed); control
    characters (CR, LF, TAB, NUL, ESC, DEL …), format characters (bidirectional overrides such
    as U+202E, zero-width ones, BOM), surrogates, private-use and unassigned code points
    removed; other white space (U+00A0, U+3000, U+2028 …) made a space; only the last path
    component kept (``/`` and ``\\`` both separate: ``../../etc/passwd`` → ``passwd``); the
    characters Windows forbids (``<>:"|?*``) replaced by ``_``; runs of spaces made one;
    leading and trailing spaces and dots dropped, around the extension too (Windows drops
    trailing ones, so ``a.bat.`` would be saved as ``a.bat``; a leading dot hides a file); a
    Windows device name (``CON``, ``NUL.txt``, ``LPT1.tar.gz`` …) prefixed with ``_``; then cut
    to :data:`MAX_FILE_NAME_BYTES` UTF-8 bytes at a character boundary, keeping the extension
    (the text after the last dot, when it has 1–16 characters and no space). ``default`` stands
    for a name of which nothing is left (``minh-chung.pdf`` for ``"../.pdf"``).

    Args:
        raw: the uploader's file name (any string).
        default: the stem when nothing is left (e.g. ``f"minh-chung-{evidence_id}"``); itself
            normalised the same way, :data:`DEFAULT_FILE_NAME` if nothing is left of it either.

    Returns:
        A non-empty NFC name without path separator, control or format character, surrounding
        space or trailing dot, within :data:`MAX_FILE_NAME_BYTES` UTF-8 bytes; the function is
        idempotent.

    Raises:
        TypeError: ``raw`` is not a ``str``.
    """
    if not isinstance(raw, str):
        raise TypeError(f"file name must be a str, not {type(raw).__name__}")
    kept = []
    for ch in unicodedata.normalize("NFC", raw):
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        kept.append(" " if ch.isspace() else ch)
    text = re.split(r"[/\\]", "".join(kept))[-1]
    text = _WINDOWS_FORBIDDEN.sub("_", text)
    text = re.sub(r" +", " ", text).strip(" ").rstrip(".")
    stem, dot, ext = text.rpartition(".")
    if not dot or not ext or len(ext) > _MAX_EXTENSION or " " in ext:
        stem, ext = text, ""
    stem = stem.strip(" .")
    if _WINDOWS_RESERVED.fullmatch(stem.split(".")[0].strip()):
        stem = f"_{stem}"
    suffix = f".{ext}" if ext else ""
    stem = _cut_utf8(stem, MAX_FILE_NAME_BYTES - len(suffix.encode("utf-8"))).rstrip(" .")
    if not stem:
        stem = DEFAULT_FILE_NAME if default == DEFAULT_FILE_NAME else safe_file_name(default)
        stem = _cut_utf8(stem, MAX_FILE_NAME_BYTES - len(suffix.encode("utf-8"))).rstrip(" .")
    return f"{stem or DEFAULT_FILE_NAME}{suffix}"


def _ascii_fallback(name: str, default: str = DEFAULT_FILE_NAME) -> str:
    """``"Báo cáo tháng 5.pdf"`` → ``"Bao-cao-thang-5.pdf"``: diacritics dropped, ``đ`` → ``d``,
    anything but ``[A-Za-z0-9._-]`` → ``-``; ``default`` (made ASCII the same way) for an
    empty stem."""

    def plain(part: str) -> str:
        folded = unicodedata.normalize("NFKD", part.replace("đ", "d").replace("Đ", "D"))
        folded = "".join(c for c in folded if not unicodedata.combining(c))
        return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._-]+", "-", folded)).strip("-.")

    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = plain(ext)
    return (plain(stem) or plain(default) or DEFAULT_FILE_NAME) + (f".{ext}" if ext else "")


def content_disposition(
    name: str | None, *, inline: bool = False, default: str = DEFAULT_FILE_NAME
) -> str:
    """The ``Content-Disposition`` value for sending evidence named ``name`` (RFC 6266 §4):
    ``attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded UTF-8>``.

    ``name`` goes through :func:`safe_file_name` first (``None`` counts as empty), so a raw
    name from an old database row cannot break the header (no quote, CR, LF or path).
    ``filename`` is the ASCII fallback for old clients (diacritics dropped, ``đ`` → ``d``,
    anything but ``[A-Za-z0-9._-]`` → ``-``; ``default`` for an empty stem); ``filename*`` is
    the exact NFC name with every byte outside ``[A-Za-z0-9._~-]`` percent-encoded (RFC 5987
    ``ext-value``), which browsers prefer.

    Args:
        name: the stored (or raw) file name.
        inline: ``inline`` instead of ``attachment`` (a preview in the browser; send
            :data:`SECURITY_HEADERS` with it).
        default: the stem when nothing is left of ``name`` (:func:`safe_file_name`).

    Returns:
        An ASCII header value, e.g. ``attachment; filename="Bao-cao.pdf";
        filename*=UTF-8''B%C3%A1o%20c%C3%A1o.pdf``.
    """
    exact = safe_file_name(name or "", default=default)
    kind = "inline" if inline else "attachment"
    ascii_name = _ascii_fallback(exact, safe_file_name("", default=default))
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(exact, safe='')}"


#: Headers every evidence download carries, besides ``Content-Type`` (the stored, detected
#: type) and ``Content-Disposition`` (:func:`content_disposition`): no MIME sniffing, and should
#: a browser render the file anyway (an inline preview, an SVG opened directly) no script, no
#: plugin, no form, no fetch, no same-origin access (``sandbox``); not framed by any page; no
#: referrer; not kept in shared caches or on disk (personal data on office computers); not
#: loadable by other sites.
SECURITY_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": (
            "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
            "frame-ancestors 'none'; sandbox"
        ),
        "Cross-Origin-Resource-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, no-store",
    }
)


def download_headers(
    name: str | None, *, inline: bool = False, default: str = DEFAULT_FILE_NAME
) -> dict[str, str]:
    """All headers of an evidence download named ``name``, besides ``Content-Type``:
    :data:`SECURITY_HEADERS` and ``Content-Disposition`` (:func:`content_disposition` with
    ``inline`` and ``default``; ``attachment`` unless ``inline``).

    Returns:
        A new dict of ASCII header names to ASCII values.
    """
    disposition = content_disposition(name, inline=inline, default=default)
    return {**SECURITY_HEADERS, "Content-Disposition": disposition}


# --- the upload check ----------------------------------------------------------------------


def _check_name(content_type: str, name: str) -> None:
    """Refuse ``name`` (already :func:`safe_file_name`) when its extension is dangerous, not on
    :data:`EXTENSIONS`, or not the one of ``content_type``."""
    ext = _extension(name)
    expected = sorted(e for e, t in EXTENSIONS.items() if t == content_type)
    wanted = ", ".join(f".{e}" for e in expected)
    if ext in DANGEROUS_EXTENSIONS:
        raise _executable(f"file named as an executable or script (.{ext})")
    if not ext:
        raise _refuse(
            f"Tên tệp cần có phần mở rộng đúng với nội dung ({wanted})",
            f"the file name needs the extension of its content ({wanted})",
            content_type,
        )
    if ext not in EXTENSIONS:
        raise _refuse(
            f"Phần mở rộng .{_shown(ext, 20)} không được chấp nhận (nội dung cần đuôi {wanted})",
            f"the extension .{_shown(ext, 20)} is not accepted (the content needs {wanted})",
            content_type,
        )
    if EXTENSIONS[ext] != content_type:
        raise _refuse(
            f"Phần mở rộng .{ext} không khớp với nội dung tệp (cần đuôi {wanted})",
            f"the extension .{ext} does not match the content (expected {wanted})",
            content_type,
        )


def _check(data: bytes, filename: str, max_bytes: int | None) -> str:
    """:func:`check_upload` with an optional size limit."""
    if max_bytes is not None and (
        isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0
    ):
        raise ValueError(f"max_bytes: {max_bytes!r} must be a positive number of bytes")
    shown = safe_file_name(filename)
    if not data:
        raise EvidenceRejected(f"Tệp '{shown}' rỗng / the file '{shown}' is empty", "empty")
    if max_bytes is not None and len(data) > max_bytes:
        sizes = f"{len(data)} > {max_bytes} byte"
        raise EvidenceRejected(
            f"Tệp '{shown}' vượt quá giới hạn {_mb(max_bytes)} MB của đơn vị ({sizes}) "
            f"/ the file '{shown}' exceeds the {_mb(max_bytes)} MB limit ({sizes}s)"
        )
    try:
        content_type = detect_content_type(data)
        _check_name(content_type, shown)
    except EvidenceRejected as exc:
        raise EvidenceRejected(f"'{shown}': {exc.reason}", exc.detected) from None
    return content_type


def check_upload(data: bytes, filename: str, *, max_bytes: int) -> str:
    """Accept or refuse an evidence upload; returns its content type, detected by content.

    Args:
        data: the file's bytes.
        filename: the name given by the uploader. It is normalised with
            :func:`safe_file_name`, and its extension must be the one of the detected content
            (:data:`EXTENSIONS`): ``report.pdf`` holding an executable, a batch file or a PNG
            is refused, and so is any name of :data:`DANGEROUS_EXTENSIONS`.
        max_bytes: the tenant's size limit (bytes, > 0); messages state it in MB
            (1 MB = 1 048 576 bytes).

    Returns:
        One of :data:`ALLOWED_CONTENT_TYPES`.

    Raises:
        TypeError: ``filename`` is not a ``str``.
        ValueError: ``max_bytes`` is not a positive int.
        EvidenceRejected: empty file; larger than ``max_bytes``; content not on the allow-list
            (:func:`detect_content_type`); a dangerous, unknown, missing or mismatched
            extension. The message is Vietnamese + English, quotes the normalised name and
            names the detected type.
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ValueError(f"max_bytes: {max_bytes!r} must be a positive number of bytes")
    return _check(data, filename, max_bytes)


@dataclass(frozen=True, slots=True)
class StoredEvidence:
    """Where an evidence file was stored.

    Attributes:
        key: the store's key (``<sha256[:2]>/<sha256>``, with the S3 prefix if any).
        sha256: hex SHA-256 of the content.
        size: bytes.
        content_type: detected from the content (:func:`detect_content_type`).
        filename: the uploader's file name as :func:`safe_file_name` normalised it (what the
            caller should store and send back).
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
            EvidenceRejected: as :func:`check_upload` (content, name; the store's size limit
                when it has one).
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
        content_type = _check(data, filename, self.max_bytes)
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
        return StoredEvidence(key, digest, len(data), content_type, safe_file_name(filename))

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
        content_type = _check(data, filename, self.max_bytes)
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
        return StoredEvidence(key, digest, len(data), content_type, safe_file_name(filename))

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
