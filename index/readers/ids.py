"""Story ids: a default slug from a file name, and validation of ids given by a user."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from index.errors import InputError

MAX_ID_LENGTH = 100  # Discord autocomplete values hold at most 100 characters
_VALID_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
_OTHER_CHARS = re.compile(r"[^a-z0-9_]+")


def default_story_id(path: Path) -> str:
    """Return a slug of the file stem usable as a story id ("story" if nothing is left)."""
    # Decompose accents first so "Café" becomes "cafe" rather than "caf".
    folded = unicodedata.normalize("NFKD", path.stem)
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    slug = _OTHER_CHARS.sub("-", ascii_only)
    # A leading "_" would fail validation, so strip it along with the dashes.
    slug = slug.strip("-_")[:MAX_ID_LENGTH].rstrip("-")
    return slug or "story"


def validate_story_id(story_id: str) -> str:
    """Return ``story_id`` unchanged if it is a valid id, else raise InputError."""
    if _VALID_ID.fullmatch(story_id):
        return story_id
    shown = story_id if len(story_id) <= 40 else story_id[:40] + "..."
    raise InputError(
        f"invalid story id {shown!r}: use 1-100 characters from a-z, 0-9, '_' and '-', "
        "starting with a letter or digit"
    )
