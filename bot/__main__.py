"""Entry point for `storybot` and `python -m bot`."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the CLI and exit with its status."""
    from bot.cli import run

    sys.exit(run())


if __name__ == "__main__":
    main()
