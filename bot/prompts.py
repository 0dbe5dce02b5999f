"""Prompt templates as data files (``prompts/*.txt``), rendered strictly.

Templates use ``string.Template`` syntax (``$name`` or ``${name}``; ``$$`` is a literal dollar).
Rendering with a variable the template lacks, or without one it uses, is a ``PromptError``: a typo
in a template or in the code fails loudly instead of sending the model a half-filled prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import NamedTuple

SUFFIX = ".txt"
# The templates the composers use; a prompts folder lacking one is refused when it is loaded.
TASKS = ("answer", "rewrite", "summary")
REQUIRED = tuple(f"{task}.{part}" for task in TASKS for part in ("system", "user"))
# In a checkout `bot/prompt_templates` is a symlink to the repo's `prompts/`; an installed wheel
# holds a copy of the files there (package data). The repo folder covers checkouts without symlinks.
BUNDLED = "prompt_templates"
REPO_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
# The variables bot/composers.py gives each task, with sample values: what `storybot doctor` renders
# a configured prompts folder with, so a template that would fail at answer time fails there first.
TASK_VARIABLES = {
    "answer": ("passages", "history", "question"),
    "rewrite": ("history", "question"),
    "summary": ("story_title", "chapter_title", "text"),
}
SAMPLE_VALUES = {
    "passages": "[1] The Lighthouse — Chapter 2: The Storm\n<<<\nMira carried the lantern.\n>>>",
    "history": "Earlier questions from this reader: none.",
    "question": "Who carried the lantern?",
    "story_title": "The Lighthouse",
    "chapter_title": "Chapter 2: The Storm",
    "text": "A storm broke the lens and Mira carried the lantern to the village.",
}


class PromptError(ValueError):
    """A prompt template is missing, malformed, or rendered with the wrong variables."""


class ChatPrompt(NamedTuple):
    """A task's rendered system and user prompts."""

    system: str
    user: str


class Prompts:
    """Named templates ("answer.system", …) that render only with exactly their own variables."""

    def __init__(self, templates: Mapping[str, str], source: str = "") -> None:
        self.source = source
        self._templates: dict[str, Template] = {}
        for name, text in templates.items():
            template = Template(text)
            if not template.is_valid():
                raise PromptError(f"{name}{SUFFIX}: a '$' that starts no variable; write '$$' for a dollar")
            self._templates[name] = template
        missing = [name for name in REQUIRED if name not in self._templates]
        if missing:
            where = f" in {source}" if source else ""
            raise PromptError(f"missing prompt template(s){where}: {', '.join(n + SUFFIX for n in missing)}")

    @property
    def names(self) -> tuple[str, ...]:
        """Every template's name, sorted."""
        return tuple(sorted(self._templates))

    def variables(self, name: str) -> frozenset[str]:
        """The variables template ``name`` uses."""
        return frozenset(self._template(name).get_identifiers())

    def render(self, name: str, **values: str) -> str:
        """Render one template; every variable it uses must be given, and no other."""
        template = self._template(name)
        unknown = sorted(set(values) - set(template.get_identifiers()))
        if unknown:
            raise PromptError(f"{name}{SUFFIX} has no variable(s) {', '.join(unknown)}")
        try:
            return template.substitute(values)
        except KeyError as err:
            raise PromptError(f"{name}{SUFFIX} needs a value for {err.args[0]}") from None

    def render_task(self, task: str, **values: str) -> ChatPrompt:
        """Render ``task``'s system and user templates; each variable must be used by one of them."""
        parts = (f"{task}.system", f"{task}.user")
        wanted = [self.variables(name) for name in parts]
        unknown = sorted(set(values) - wanted[0] - wanted[1])
        if unknown:
            raise PromptError(f"the {task} prompts have no variable(s) {', '.join(unknown)}")
        system, user = (
            self.render(name, **{k: v for k, v in values.items() if k in used})
            for name, used in zip(parts, wanted, strict=True)
        )
        return ChatPrompt(system, user)

    def _template(self, name: str) -> Template:
        try:
            return self._templates[name]
        except KeyError:
            raise PromptError(f"no prompt template {name}{SUFFIX}") from None


def default_prompts_dir() -> Path:
    """The bundled templates: package data when installed, the repo's ``prompts/`` in a checkout."""
    bundled = Path(str(files("bot").joinpath(BUNDLED)))
    for folder in (bundled, REPO_PROMPTS):
        if folder.is_dir() and any(folder.glob(f"*{SUFFIX}")):
            return folder
    raise PromptError(
        "the bundled prompt templates are missing from this install; set STORYBOT_PROMPTS_DIR to a "
        "folder holding them (the repo's prompts/)"
    )


def load_prompts(folder: Path | None = None) -> Prompts:
    """Load every ``*.txt`` template in ``folder`` (default: the bundled ones)."""
    folder = folder or default_prompts_dir()
    if not folder.is_dir():
        raise PromptError(f"no prompts folder at {folder}")
    templates = {
        path.name.removesuffix(SUFFIX): path.read_text(encoding="utf-8") for path in folder.glob(f"*{SUFFIX}")
    }
    return Prompts(templates, source=str(folder))


def render_samples(prompts: Prompts) -> list[ChatPrompt]:
    """Render each task with sample values for what the composers give it; PromptError if one fails."""
    rendered = []
    for task in TASKS:
        given = TASK_VARIABLES[task]
        used = prompts.variables(f"{task}.system") | prompts.variables(f"{task}.user")
        unknown = sorted(used - set(given))
        if unknown:  # name the typo, not the variable it left unused
            raise PromptError(
                f"the {task} prompts use {', '.join('$' + n for n in unknown)}; "
                f"storybot gives them only {', '.join('$' + n for n in given)}"
            )
        rendered.append(prompts.render_task(task, **{name: SAMPLE_VALUES[name] for name in given}))
    return rendered
