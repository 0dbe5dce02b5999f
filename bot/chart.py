"""Mentions per chapter of one or a few people as a small PNG bar chart, or a text chart instead.

matplotlib runs with its non-interactive Agg backend (no display, safe in threads with a lock:
pyplot's state is global). The background is transparent and the colours are mid-tones with
labels in a mid grey, so the picture reads on Discord's dark and light themes alike.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence

log = logging.getLogger(__name__)

# Mid-tone colours that keep their contrast on both a near-black and a white background.
COLOURS = ("#4f8fd6", "#e0803a", "#4faa6a", "#c75a8a")
INK = "#8a8f98"
MAX_PEOPLE = len(COLOURS)
_LOCK = threading.Lock()
Series = Sequence[tuple[str, Sequence[int]]]


def chart_png(series: Series, title: str) -> bytes | None:
    """A PNG of mentions per chapter (one bar group per chapter), or None if it cannot be drawn."""
    series = list(series)[:MAX_PEOPLE]
    if not series or not any(series[0][1]):
        return None
    try:
        with _LOCK:
            return _draw(series, title)
    except Exception:  # a missing or broken matplotlib must cost the picture, never the answer
        log.exception("the mentions chart could not be drawn")
        return None


def warm() -> None:
    """Draw one throw-away chart: matplotlib's import (and, on a new machine, its font cache) costs
    seconds, which the first /who with a picture should not pay."""
    chart_png([("warm-up", (1,))], "")  # a named series: the legend, and its font, load too


def _draw(series: Series, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    chapters = len(series[0][1])
    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    axes = figure.subplots()
    width = 0.8 / len(series)
    for i, (name, counts) in enumerate(series):
        xs = [c + 1 + (i - (len(series) - 1) / 2) * width for c in range(chapters)]
        axes.bar(xs, list(counts), width=width, color=COLOURS[i], label=name)
    axes.set_xlabel("Chapter", color=INK)
    axes.set_ylabel("Mentions", color=INK)
    axes.set_title(title, color=INK, fontsize=10)
    axes.set_xlim(0.5, chapters + 0.5)
    axes.tick_params(colors=INK)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for spine in axes.spines.values():
        spine.set_color(INK)
    # A legend even for one person: the picture is shared on its own, without the reply's text.
    legend = axes.legend(frameon=False, fontsize=8)
    for text in legend.get_texts():
        text.set_color(INK)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", transparent=True)
    return out.getvalue()


def chart_text(series: Series, width: int = 20) -> str:
    """The same chart as lines of text: one row per chapter, one bar per person."""
    series = list(series)[:MAX_PEOPLE]
    if not series:
        return ""
    top = max((max(c, default=0) for _, c in series), default=0) or 1
    marks = "█▓▒░"
    lines = []
    if len(series) > 1:
        lines.append("  ".join(f"{marks[i]} {name}" for i, (name, _) in enumerate(series)))
    for chapter in range(len(series[0][1])):
        bars = " ".join(
            f"{marks[i] * round(counts[chapter] * width / top)}{counts[chapter]}"
            for i, (_, counts) in enumerate(series)
        )
        lines.append(f"ch {chapter + 1:>3} {bars}")
    return "\n".join(lines)
