"""Decode HTML and XHTML bytes: a BOM, else the declared charset, else UTF-8, else Windows-1252."""

from __future__ import annotations

import codecs

from bs4.dammit import EncodingDetector

from index.errors import InputError
from index.readers.text import Decoded, decode_bytes, normalise_newlines

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# As browsers do (WHATWG Encoding): these labels mean Windows-1252, whose extra characters
# (curly quotes, dashes) are what such files really hold.
_AS_CP1252 = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii"})


def decode_markup(data: bytes, name: str) -> Decoded:
    """Decode markup to text with LF line ends; ``name`` is used in messages."""
    declared = None if data.startswith(_BOMS) else EncodingDetector.find_declared_encoding(data, is_html=True)
    codec = _codec(declared)
    # UTF-8 (declared or not) and BOMs follow the plain-text rules, with their Windows-1252 fallback.
    if codec is None or codec == "utf-8":
        return decode_bytes(data, name)
    if b"\x00" in data and not codec.startswith("utf-16"):
        raise InputError(f"{name} is not a text file")
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        decoded = decode_bytes(data, name)
        warning = f"{name} is not valid {declared} as it declares; read as {_read_as(decoded)}"
        return Decoded(decoded.text, (warning,))
    if not text.strip():
        raise InputError(f"{name} is empty")
    return Decoded(normalise_newlines(text))


def _codec(declared: str | None) -> str | None:
    """The Python codec for a declared charset; None if there is none or Python lacks it."""
    if not declared:
        return None
    if declared.strip().lower() in _AS_CP1252:
        return "cp1252"
    try:
        return codecs.lookup(declared.strip()).name
    except LookupError:
        return None


def _read_as(decoded: Decoded) -> str:
    return "Windows-1252" if decoded.warnings else "UTF-8"
