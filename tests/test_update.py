"""`copier update` between real template versions (git tags on a temporary copy of this
repository): local work is kept, template changes arrive, conflicts are visible, changed
answers add and remove exactly the right files, and answer migrations carry old answers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.combinations import one
from harness.commands import GIT_IDENTITY, git, run, tool
from harness.expected import expected_files
from harness.renders import answers_of
from harness.template_repo import TemplateRepo

CONFLICT_MARKERS = ("<<<<<<<", ">>>>>>>")


def copier(*args: str, cwd: Path | None = None):
    result = run([tool("copier"), *args], cwd=cwd, env={**os.environ, **GIT_IDENTITY}, timeout=300)
    assert result.returncode == 0, result.output
    return result


def make_project(template_repo: TemplateRepo, dest: Path, *data: str) -> Path:
    args = [arg for item in data for arg in ("--data", item)]
    copier(
        "copy",
        "--defaults",
        "--quiet",
        "--vcs-ref",
        "v1.0.0",
        *args,
        str(template_repo.path),
        str(dest),
    )
    git(dest, "init", "--quiet")
    git(dest, "add", "-A")
    git(dest, "commit", "--quiet", "-m", "generated")
    return dest


def tracked(project: Path) -> set[str]:
    return set(git(project, "ls-files").splitlines())


def leftovers(project: Path) -> list[str]:
    found = [p.name for p in project.rglob("*.rej")]
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text(errors="replace")
            found += [f"{path}: {m}" for m in CONFLICT_MARKERS if m in text]
    return found


def test_copy_from_a_git_url_at_a_tag_records_the_version(template_repo, tmp_path):
    project = make_project(template_repo, tmp_path / "proj")
    recorded = answers_of(project)
    assert recorded["_commit"] == "v1.0.0"
    assert Path(recorded["_src_path"]) == template_repo.path


def test_update_keeps_local_work_and_applies_template_changes(template_repo, tmp_path):
    project = make_project(template_repo, tmp_path / "proj")
    slug = answers_of(project)["project_slug"]
    # Local work: a setting, a new app, a compose change.
    settings = project / "src/config/settings.py"
    settings.write_text(settings.read_text() + "\nTEAM_FEATURE_FLAG = True\n")
    (project / "src/billing").mkdir()
    (project / "src/billing/__init__.py").write_text('"""Billing, written by the team."""\n')
    compose = project / "compose.yaml"
    compose.write_text(
        compose.read_text().replace("x-app: &app\n", "x-app: &app\n  init: true\n", 1)
    )
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "local work")

    # The template moves on: a new file and a changed line elsewhere.
    (template_repo.path / "template/CONTRIBUTING.md").write_text(
        "# Contributing\n\nRun `just test`.\n"
    )
    template_repo.edit("template/.gitignore", "htmlcov/\n", "htmlcov/\n.mypy_cache/\n")
    template_repo.release("v1.1.0")

    copier("update", "--defaults", "--quiet", cwd=project)

    assert answers_of(project)["_commit"] == "v1.1.0"
    assert "TEAM_FEATURE_FLAG = True" in settings.read_text()
    assert (project / "src/billing/__init__.py").is_file()
    assert "  init: true\n" in compose.read_text()
    assert (project / "CONTRIBUTING.md").read_text().startswith("# Contributing")
    assert ".mypy_cache/" in (project / ".gitignore").read_text()
    assert (project / f"src/{slug}/models.py").is_file()
    assert leftovers(project) == []


def test_a_conflicting_edit_is_shown_as_a_conflict_not_lost(template_repo, tmp_path):
    project = make_project(template_repo, tmp_path / "proj")
    gitignore = project / ".gitignore"
    gitignore.write_text(gitignore.read_text().replace("htmlcov/\n", "coverage-html/\n"))
    git(project, "commit", "--quiet", "-am", "our coverage folder")
    template_repo.edit("template/.gitignore", "htmlcov/\n", "htmlcov-report/\n")
    template_repo.release("v1.1.0")

    copier("update", "--defaults", "--quiet", "--conflict", "inline", cwd=project)

    text = gitignore.read_text()
    assert all(marker in text for marker in CONFLICT_MARKERS), text
    assert "coverage-html/" in text and "htmlcov-report/" in text


@pytest.mark.parametrize(
    ("before", "change"),
    [
        ({}, "worker=none"),
        ({"database": "sqlite"}, "database=both"),
        ({}, "debugpy=false"),
        ({}, "secrets=1password"),
        ({"database": "both"}, "litestream=false"),
        ({}, "fly=false"),
    ],
    ids=lambda v: (
        v if isinstance(v, str) else "-".join(f"{k}_{x}" for k, x in v.items()) or "defaults"
    ),
)
def test_changing_an_answer_adds_and_removes_exactly_the_right_files(
    template_repo, tmp_path, before, change
):
    project = make_project(
        template_repo, tmp_path / "proj", *(f"{k}={v}" for k, v in before.items())
    )
    old_files = tracked(project) | {".copier-answers.yml"}
    key, value = change.split("=")
    copier("update", "--defaults", "--quiet", "--data", change, cwd=project)
    git(project, "add", "-A")
    new_files = tracked(project)

    slug = answers_of(project)["project_slug"]
    parse = {"true": True, "false": False}
    old_expect = expected_files(one(**before), slug)
    new_expect = expected_files(one(**{**before, key: parse.get(value, value)}), slug)
    should_add = {p for p, on in new_expect.items() if on and not old_expect.get(p)}
    should_remove = {p for p, on in old_expect.items() if on and not new_expect.get(p)}
    assert should_add or should_remove, "the change must matter to the file list"
    assert new_files - old_files == should_add
    assert old_files - new_files == should_remove
    assert leftovers(project) == []


def test_a_renamed_question_keeps_its_answer_through_a_migration(template_repo, tmp_path):
    project = make_project(template_repo, tmp_path / "proj", "debugpy=false")
    # Release v2.0.0 renames `debugpy` to `debugger`, with the migration that carries it.
    config = template_repo.path / "copier.yml"
    text = config.read_text().replace("\ndebugpy:\n", "\ndebugger:\n")
    text = text.replace("{% if debugpy %}", "{% if debugger %}")
    text = text.replace(
        "_migrations: []",
        "_migrations:\n"
        "  - version: v2.0.0\n"
        "    when: \"{{ _stage == 'before' }}\"\n"
        '    command: [python3, "{{ _copier_conf.src_path }}/migrations/answers.py", rename, debugpy, debugger]',
    )
    config.write_text(text)
    for path in sorted((template_repo.path / "template").rglob("*"), reverse=True):
        if "debugpy" in path.name:
            path.rename(path.with_name(path.name.replace("debugpy", "debugger")))
    for path in (template_repo.path / "template").rglob("*.jinja"):
        path.write_text(path.read_text().replace("if debugpy", "if debugger"))
    template_repo.release("v2.0.0")

    copier("update", "--defaults", "--quiet", "--trust", cwd=project)

    recorded = answers_of(project)
    assert recorded["_commit"] == "v2.0.0"
    assert recorded["debugger"] is False, "the old answer, not the new default (true)"
    assert "debugpy" not in recorded
    assert not (project / "compose.debug.yaml").exists()
    assert leftovers(project) == []
