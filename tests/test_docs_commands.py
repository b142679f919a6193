"""Every command the manual shows is a snippet file that a page includes, and is run by a
test (tests/test_docs_*.py, harness.snippets.RUN_BY) or says on the page why it is not; the
recipes, questions and tables the prose names exist."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from harness import ROOT
from harness.baseimages import compose_config
from harness.commands import run, tool
from harness.snippets import (
    COVERED_ELSEWHERE,
    DOCS,
    INCLUDE,
    NOT_RUN,
    NOT_RUNNABLE,
    RUN_BY,
    SHELL_LANGUAGES,
    SNIPPETS,
    fences,
    hooks,
    included_snippets,
    pages,
)

SCENARIOS = [name for names in RUN_BY.values() for name in names]


def test_every_shell_block_includes_a_snippet_file():
    for page, text in pages().items():
        for language, info, body in fences(text):
            if language not in SHELL_LANGUAGES:
                continue
            lines = [line for line in body if line.strip()]
            assert lines and all(INCLUDE.match(line.strip()) for line in lines), (
                f"{page}: a ```{info} block shows commands that are not in docs/snippets/"
            )


def test_every_snippet_is_shown_and_accounted_for():
    files = sorted(p.name for p in SNIPPETS.glob("*.sh"))
    shown = included_snippets()
    assert sorted(shown) == files, "every snippet file is included by a page, and exists"
    accounted = set(SCENARIOS) | set(NOT_RUNNABLE) | set(COVERED_ELSEWHERE)
    assert sorted(accounted) == files
    assert not set(SCENARIOS) & set(NOT_RUNNABLE)
    assert len(SCENARIOS) == len(set(SCENARIOS))


def test_commands_that_cannot_run_here_say_so_on_the_page():
    for name in sorted(p.name for p in SNIPPETS.glob("*.sh")):
        first = (SNIPPETS / name).read_text().splitlines()[0]
        if name in NOT_RUNNABLE:
            assert first.startswith(NOT_RUN), f"{name} must start with {NOT_RUN!r}"
        else:
            assert not first.startswith(NOT_RUN), f"{name} is run here; do not say otherwise"


def test_work_covered_elsewhere_is_really_run():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in ci


# --- templates, recipes and questions named in the prose --------------------------------------


@pytest.fixture(scope="module")
def full_project() -> Path:
    return hooks().render({"project_name": "Café Ledger", "database": "both"})


def recipes_of(project: Path) -> list[str]:
    result = run([tool("just"), "--summary"], cwd=project)
    assert result.returncode == 0, result.output
    return result.stdout.split()


def test_every_recipe_is_in_the_recipe_table_and_the_remote_table(full_project):
    containers = (DOCS / "containers.md").read_text()
    remote = (DOCS / "remote-docker.md").read_text()
    for recipe in recipes_of(full_project):
        if recipe == "default":
            continue
        assert re.search(rf"^\| `just {recipe}\b", containers, re.MULTILINE), (
            f"{recipe}: containers.md"
        )
        assert re.search(rf"^\| `just {recipe}`", remote, re.MULTILINE), (
            f"{recipe}: remote-docker.md"
        )


def test_just_commands_named_anywhere_are_recipes(full_project):
    recipes = set(recipes_of(full_project))
    named = []
    for text in pages().values():
        named += re.findall(r"`just ([a-z][\w-]*)", text)
    for snippet in SNIPPETS.glob("*.sh"):
        for line in snippet.read_text().splitlines():
            code = line.split(" #")[0] if not line.lstrip().startswith("#") else ""
            named += re.findall(r"(?:^|\s)just ([a-z][\w-]*)", code)
    assert named
    for recipe in named:
        assert recipe in recipes, f"`just {recipe}` is not a recipe"


def test_remote_table_marks_exactly_the_bind_mounting_recipe_as_local_only(full_project, tmp_path):
    """The debug overlay is the only compose file with a bind mount, `just debug` the only
    recipe that uses it, and the only docker recipe the remote page says does not work."""
    project = tmp_path / "p"
    shutil.copytree(full_project, project)
    (project / ".env").write_text("POSTGRES_PASSWORD=x\n")
    binds = {}
    for files in (["compose.yaml"], ["compose.yaml", "compose.debug.yaml"]):
        for profile in ("pg", "sq"):
            config = compose_config(project, profile, tuple(files))
            binds[tuple(files), profile] = [
                m
                for svc in config["services"].values()
                for m in svc.get("volumes", [])
                if m["type"] == "bind"
            ]
            if len(files) == 1:
                assert binds[tuple(files), profile] == []
            else:
                assert binds[tuple(files), profile], "the debug overlay bind-mounts src/"
    justfile = (project / "justfile").read_text()
    users = [
        block.split(":")[0]
        for block in re.split(r"\n(?=[a-z])", justfile)
        if "compose.debug.yaml" in block
    ]
    assert [u.split()[0] for u in users] == ["debug"]
    remote = (DOCS / "remote-docker.md").read_text()
    rows = dict(re.findall(r"^\| `just (\w+)` \| ([^|]+) \|", remote, re.MULTILINE))
    assert "does not work" in rows.pop("debug")
    assert not any("does not work" in verdict for verdict in rows.values())


def test_every_question_has_its_own_section():
    text = (DOCS / "questions.md").read_text()
    for name in hooks().questions():
        assert re.search(rf"^### `{name}`$", text, re.MULTILINE), (
            f"questions.md: no section for {name}"
        )
