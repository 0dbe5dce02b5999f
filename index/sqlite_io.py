"""SQLite and file plumbing for the library: connections, transactions, atomic file writes."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from index.errors import LibraryError


def connect(path: Path) -> sqlite3.Connection:
    """Open the library database in WAL mode; a file that is not one is a LibraryError."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        has_manifest(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise LibraryError(f"{path} is not a storybot library ({exc})") from exc
    return conn


def check_writable(root: Path) -> None:
    """Create the data dir if needed; raise LibraryError unless it is writable."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LibraryError(f"cannot create data dir {root}: {exc.strerror}") from exc
    if not os.access(root, os.W_OK | os.X_OK):
        raise LibraryError(f"data dir {root} is not writable")


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never a part."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def has_manifest(conn: sqlite3.Connection) -> bool:
    """Whether the database holds a committed library (a manifest row)."""
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
    return row is not None and conn.execute("SELECT 1 FROM meta WHERE key='manifest'").fetchone() is not None
