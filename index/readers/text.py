"""Decode a story file to normalised text: UTF-8 (BOM stripped), else Windows-1252."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from index.errors import InputError

SNIFF_BYTES = 8192
MAX_CONTROL_RATIO = 0.10
_ALLOWED_CONTROLS = frozenset(b"\t\n\r\f")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _cp1252_table() -> dict[int, str]:
    """Map each Latin-1 code point to its Windows-1252 character."""
    table: dict[int, str] = {}
    for byte in range(0x80, 0xA0):
        try:
            table[byte] = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            # cp1252 leaves five bytes undefined; keep their Latin-1 meaning.
            continue
    return table


_CP1252 = _cp1252_table()


@dataclass(frozen=True)
class Decoded:
    """Text decoded from a file, with warnings worth showing the user."""

    text: str
    warnings: tuple[str, ...] = ()


def read_text(path: Path) -> Decoded:
    """Read and decode the file at ``path``; raise InputError if it is not usable text."""
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    return decode_bytes(data, path.name)


def decode_bytes(data: bytes, name: str) -> Decoded:
    """Decode file bytes to text with LF line ends; ``name`` is used in messages."""
    if data.startswith(_UTF16_BOMS):
        # UTF-16 files are full of NUL bytes, so try them before the binary check.
        text = _decode_utf16(data, name)
        return Decoded(_check_not_blank(normalise_newlines(text), name))
    if not data.removeprefix(codecs.BOM_UTF8).strip():
        raise InputError(f"{name} is empty")
    if _looks_binary(data):
        raise InputError(f"{name} is not a text file")
    warnings: tuple[str, ...] = ()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1").translate(_CP1252)
        warnings = (f"{name} is not valid UTF-8; read as Windows-1252",)
    return Decoded(_check_not_blank(normalise_newlines(text), name), warnings)


def normalise_newlines(text: str) -> str:
    """Turn CRLF and lone CR line ends into LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_utf16(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not a text file") from exc


def _check_not_blank(text: str, name: str) -> str:
    # Bytes that look non-blank can still decode to blanks (e.g. cp1252 NBSP).
    if not text.strip():
        raise InputError(f"{name} is empty")
    return text


def _looks_binary(data: bytes) -> bool:
    """Return True for NUL bytes anywhere or many control bytes near the start."""
    if b"\x00" in data:
        return True
    head = data[:SNIFF_BYTES]
    controls = sum(1 for b in head if (b < 0x20 and b not in _ALLOWED_CONTROLS) or b == 0x7F)
    return controls > MAX_CONTROL_RATIO * len(head)
