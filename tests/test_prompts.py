"""Prompt templates: every one renders with sample values, strictly, and the README lists them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.prompts import (
    REPO_PROMPTS,
    REQUIRED,
    SAMPLE_VALUES,
    PromptError,
    Prompts,
    default_prompts_dir,
    load_prompts,
)

SAMPLES = SAMPLE_VALUES
TEMPLATES = sorted(path.name.removesuffix(".txt") for path in REPO_PROMPTS.glob("*.txt"))


def test_the_repo_ships_every_required_template() -> None:
    assert set(REQUIRED) <= set(TEMPLATES)
    assert load_prompts().names == tuple(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_renders_with_sample_values(name: str) -> None:
    prompts = load_prompts(REPO_PROMPTS)
    used = prompts.variables(name)
    assert used <= set(SAMPLES), f"add a sample value for {sorted(used - set(SAMPLES))}"
    text = prompts.render(name, **{k: SAMPLES[k] for k in used})
    assert text.strip()
    assert "$" not in text  # nothing left unrendered
    for k in used:
        assert SAMPLES[k] in text


@pytest.mark.parametrize("task", ["answer", "rewrite", "summary"])
def test_each_task_renders_its_system_and_user_prompt(task: str) -> None:
    prompts = load_prompts()
    wanted = prompts.variables(f"{task}.system") | prompts.variables(f"{task}.user")
    rendered = prompts.render_task(task, **{k: SAMPLES[k] for k in wanted})
    assert rendered.system.strip()
    assert rendered.user.strip()


@pytest.mark.parametrize("name", [n for n in TEMPLATES if n.endswith(".user")])
def test_a_missing_variable_is_an_error(name: str) -> None:
    prompts = load_prompts()
    used = sorted(prompts.variables(name))
    with pytest.raises(PromptError, match=used[0]):
        prompts.render(name, **{k: SAMPLES[k] for k in used[1:]})


@pytest.mark.parametrize("name", TEMPLATES)
def test_an_unknown_variable_is_an_error(name: str) -> None:
    prompts = load_prompts()
    values = {k: SAMPLES[k] for k in prompts.variables(name)}
    with pytest.raises(PromptError, match="questoin"):
        prompts.render(name, **values, questoin="typo")


def test_a_task_refuses_unknown_and_missing_variables() -> None:
    prompts = load_prompts()
    with pytest.raises(PromptError, match="extra"):
        prompts.render_task("summary", story_title="a", chapter_title="b", text="c", extra="d")
    with pytest.raises(PromptError, match="text"):
        prompts.render_task("summary", story_title="a", chapter_title="b")


def test_values_are_not_templates_themselves() -> None:
    prompts = load_prompts()
    text = prompts.render("summary.user", story_title="$question", chapter_title="${text}", text="$$ 5")
    assert "$question" in text
    assert "${text}" in text
    assert "$$ 5" in text


def test_an_unknown_template_a_missing_file_and_a_stray_dollar_are_errors(tmp_path: Path) -> None:
    prompts = load_prompts()
    with pytest.raises(PromptError, match=r"no prompt template nothing\.txt"):
        prompts.render("nothing")
    with pytest.raises(PromptError, match=r"rewrite\.user\.txt"):
        Prompts({name: "x" for name in REQUIRED if name != "rewrite.user"})
    with pytest.raises(PromptError, match=r"answer\.user\.txt.*\$\$"):
        Prompts({name: "costs $5" if name == "answer.user" else "x" for name in REQUIRED})
    with pytest.raises(PromptError, match="no prompts folder"):
        load_prompts(tmp_path / "absent")


def test_a_custom_folder_replaces_the_bundled_templates(tmp_path: Path) -> None:
    for name in REQUIRED:
        (tmp_path / f"{name}.txt").write_text(f"custom {name}: ${{question}}\n", encoding="utf-8")
    prompts = load_prompts(tmp_path)
    assert prompts.source == str(tmp_path)
    assert prompts.render("rewrite.user", question="Q?") == "custom rewrite.user: Q?\n"


def test_the_bundled_folder_is_the_repo_prompts_folder() -> None:
    # In a checkout bot/prompt_templates links to prompts/; an installed wheel holds a copy there.
    assert default_prompts_dir().resolve() == REPO_PROMPTS.resolve()


def test_the_readme_lists_every_template_and_its_variables() -> None:
    readme = (REPO_PROMPTS / "README.md").read_text(encoding="utf-8")
    prompts = load_prompts()
    for name in prompts.names:
        row = next((line for line in readme.splitlines() if f"`{name}.txt`" in line), None)
        assert row is not None, f"prompts/README.md does not list {name}.txt"
        listed = set(re.findall(r"`\$(\w+)`", row))
        assert listed == set(prompts.variables(name)), name
