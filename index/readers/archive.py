"""Read members of an untrusted zip archive (an EPUB) within fixed size limits."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from types import TracebackType

from index.errors import InputError

MB = 1024 * 1024
MAX_TOTAL_BYTES = 200 * MB  # everything the archive claims to unpack to
MAX_MEMBER_BYTES = 32 * MB  # one document; real chapters are a few hundred kilobytes
MAX_MEMBERS = 10_000
MAX_RATIO = 100  # text deflates ~3-10:1; a zip bomb reaches 1000:1
RATIO_MIN_BYTES = 1 * MB  # tiny members may compress oddly without harm
_CHUNK = 64 * 1024
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# Everything zipfile and zlib raise for a damaged, truncated or exotic archive.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


class SafeZip:
    """An open zip archive whose members are read with bounded memory; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        self._read_total = 0
        try:
            self._zip = zipfile.ZipFile(path)
        except _ZIP_ERRORS as exc:
            raise self._damaged() from exc
        try:
            self._infos = {info.filename: info for info in self._zip.infolist() if not info.is_dir()}
            # Books made on Windows may link "Text/Ch1.xhtml" to a member stored as "text/ch1.xhtml".
            self._folded = {name.casefold(): info for name, info in reversed(self._infos.items())}
            self._check_sizes()
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._zip.close()

    def has(self, member: str) -> bool:
        """Return True if the archive holds a file called ``member`` (in any letter case)."""
        return self._info(member) is not None

    def read(self, member: str) -> bytes:
        """Return the bytes of ``member``; raise InputError if it is missing or unsafe."""
        info = self._info(member)
        if info is None:
            raise InputError(f"{self.name} is not a valid EPUB: {member} is missing")
        if info.flag_bits & 0x1:
            raise InputError(f"{self.name} is password-protected; storybot reads only unprotected EPUBs")
        if info.compress_type not in _METHODS:
            # EPUB allows only these two; others (bzip2, lzma) decompress without an output bound.
            raise InputError(f"{self.name} is not a valid EPUB: it uses an unsupported compression method")
        self._check_member(info)
        limit = min(info.file_size, MAX_MEMBER_BYTES)
        try:
            data = self._bounded_read(info, limit)
        except _ZIP_ERRORS as exc:
            raise self._damaged() from exc
        # zipfile stops at the size its header states; more bytes than that means a lying header.
        if len(data) > limit:
            raise self._too_big(member)
        self._read_total += len(data)
        if self._read_total > MAX_TOTAL_BYTES:
            raise self._unpacks_too_much()
        return data

    def _info(self, member: str) -> zipfile.ZipInfo | None:
        return self._infos.get(member) or self._folded.get(member.casefold())

    def _bounded_read(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        """Read at most ``limit + 1`` bytes, whatever the header says, so memory stays bounded."""
        chunks: list[bytes] = []
        size = 0
        with self._zip.open(info) as stream:
            while size <= limit:
                chunk = stream.read(min(_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        return b"".join(chunks)

    def _check_sizes(self) -> None:
        """Refuse an archive whose directory promises too much, before anything is decompressed."""
        if len(self._infos) > MAX_MEMBERS:
            raise InputError(f"{self.name} holds more than {MAX_MEMBERS:,} files; it is not a story")
        total = sum(info.file_size for info in self._infos.values())
        if total > MAX_TOTAL_BYTES:
            raise self._unpacks_too_much()

    def _check_member(self, info: zipfile.ZipInfo) -> None:
        """Refuse a member whose header promises a bomb, before decompressing any of it."""
        if info.file_size > MAX_MEMBER_BYTES:
            raise self._too_big(info.filename)
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_MIN_BYTES and ratio > MAX_RATIO:
            raise InputError(
                f"{self.name} is refused as unsafe: {info.filename} is compressed more than "
                f"{MAX_RATIO}:1 (a zip bomb?)"
            )

    def _too_big(self, member: str) -> InputError:
        return InputError(
            f"{self.name} is refused as unsafe: {member} unpacks to more than {MAX_MEMBER_BYTES // MB} MB"
        )

    def _unpacks_too_much(self) -> InputError:
        return InputError(
            f"{self.name} is refused as unsafe: it unpacks to more than {MAX_TOTAL_BYTES // MB} MB"
        )

    def _damaged(self) -> InputError:
        return InputError(f"{self.name} is not a valid EPUB: the file is damaged or not a zip archive")
