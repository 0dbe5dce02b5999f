"""Broken and hostile EPUBs: DRM, zip bombs, headers that lie about sizes."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from tests.story_files import xhtml
from tests.story_files.generic import generic_epub3_files, write_generic_epub3

ENCRYPTION_XML = """<?xml version="1.0"?>
<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"
            xmlns:enc="http://www.w3.org/2001/04/xmlenc#">
  <enc:EncryptedData>
    <enc:EncryptionMethod Algorithm="{algorithm}"/>
    <enc:CipherData><enc:CipherReference URI="{uri}"/></enc:CipherData>
  </enc:EncryptedData>
</encryption>
"""
AES = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
FONT_OBFUSCATION = "http://www.idpf.org/2008/embedding"


def write_encrypted_epub(path: Path, algorithm: str = AES, uri: str = "OEBPS/ch1.xhtml") -> Path:
    """A generic EPUB 3 whose encryption.xml says ``uri`` is encrypted with ``algorithm``."""
    extra: dict[str, str | bytes] = {
        "META-INF/encryption.xml": ENCRYPTION_XML.format(algorithm=algorithm, uri=uri)
    }
    return write_generic_epub3(path, extra=extra)


def write_zip_bomb(path: Path, size: int = 5 * 1024 * 1024) -> Path:
    """An EPUB whose chapter is ``size`` bytes of blanks: about 1000:1 compressed, a few KB on disk."""
    files = generic_epub3_files()
    files["ch3.xhtml"] = xhtml("ch3", "<p>" + " " * size + "</p>")
    return write_generic_epub3(path, files)


def lie_about_size(path: Path, member: str, claimed: int) -> Path:
    """Rewrite the uncompressed size that the zip's headers state for ``member``."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as book:
        info = book.getinfo(member)
    # Local file header: the uncompressed size is at offset 22.
    struct.pack_into("<I", data, info.header_offset + 22, claimed)
    # Central directory: walk its entries (46 fixed bytes + name + extra + comment) to the member.
    eocd = data.rfind(b"PK\x05\x06")
    (offset,) = struct.unpack_from("<I", data, eocd + 16)
    while data[offset : offset + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, offset + 28)
        name = bytes(data[offset + 46 : offset + 46 + name_len]).decode()
        if name == member:
            struct.pack_into("<I", data, offset + 24, claimed)
        offset += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    return path
