"""Text at the API boundary: Vietnamese in one Unicode form, no control characters (issue 9,
"Hostile input").

Vietnamese letters with diacritics have two encodings: precomposed (NFC, ``"ệ"`` = U+1EC7) and
decomposed (NFD, ``"e"`` + U+0323 + U+0302), which look the same but compare unequal. Keyboards
on Windows and the web send NFC, macOS file names and some copy-pastes NFD. Every name or
free text that is stored, compared or searched is normalized to **NFC** when it enters
(:func:`nfc`, the pydantic types :data:`Text` and :data:`OptionalText`), so ``"Nguyễn"`` typed
either way is one name.

Control characters (Unicode category ``Cc`` other than tab, line feed and carriage return;
surrogates ``Cs``; non-characters such as U+FFFE) are refused with a ``ValueError`` naming the
character: they cannot be written into the .xlsx/.pdf exports, break HTTP headers and URLs
built from them, and are never part of a legitimate name.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def nfc(value: str) -> str:
    """``value`` in Unicode normal form NFC (``unicodedata.normalize``)."""
    return unicodedata.normalize("NFC", value)


def same_text(a: str, b: str, *, casefold: bool = False) -> bool:
    """Whether ``a`` and ``b`` are the same text whatever their normal forms (NFC vs NFD),
    optionally ignoring case (``str.casefold``)."""
    a, b = nfc(a), nfc(b)
    return a.casefold() == b.casefold() if casefold else a == b


def clean_text(value: str) -> str:
    """``value`` in NFC, checked for control characters.

    Raises:
        ValueError: a control character, surrogate or non-character (its code point named).
    """
    for ch in value:
        category = unicodedata.category(ch)
        point = ord(ch)
        if (
            (category == "Cc" and ch not in _ALLOWED_CONTROLS)
            or category == "Cs"
            or 0xFDD0 <= point <= 0xFDEF
            or (point & 0xFFFE) == 0xFFFE
        ):
            raise ValueError(
                f"ký tự không hợp lệ U+{point:04X} / character U+{point:04X} is not allowed"
            )
    return nfc(value)


Text = Annotated[str, AfterValidator(clean_text)]
"""A pydantic/FastAPI string type: NFC, no control characters (see :func:`clean_text`)."""
OptionalText = Annotated[str | None, AfterValidator(lambda v: None if v is None else clean_text(v))]
"""As :data:`Text`, ``None`` allowed."""
