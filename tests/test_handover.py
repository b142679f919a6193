"""A newcomer with only the generated README: its "First run" commands bring up a stack that
serves the site, and its "First commit" commands make a commit that passes the project's own
pre-commit hooks, with the lock in it and the secrets out of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.combinations import one
from harness.commands import GIT_IDENTITY, git, run, tool
from harness.engine import require_engine
from harness.http import get
from harness.stacks import Stack, suite_name

pytestmark = pytest.mark.docker


def commands(readme: Path, section: str) -> list[str]:
    """The lines of the first ```sh block under a heading, without their comments."""
    text = readme.read_text().split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)[1]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_a_newcomer_runs_and_commits_the_project_from_its_readme(project_copy):
    require_engine()
    project = project_copy(one())
    stack = Stack(project, suite_name("handover"), "pg")
    stack.ensure_images()  # the stand-ins of images a registry would give (no network here)
    env = {**stack.env(), **GIT_IDENTITY}
    env["PATH"] = f"{Path(tool('just')).parent}:{env['PATH']}"  # just, as the README assumes
    readme = project / "README.md"
    try:
        for line in commands(readme, "First run"):
            if line.startswith("open "):  # the browser: the page it would show
                status, _, page = get(stack.port, "/")
                assert status == 200 and "My Django Project" in page, page[:500]
                continue
            if line.endswith("createsuperuser"):  # its questions need a terminal
                line += " --noinput --username admin --email admin@example.com"
            result = run(["bash", "-c", line], cwd=project, env=env, timeout=900)
            assert result.returncode == 0, result.output
    finally:
        stack.remove()

    for line in commands(readme, "First commit"):
        result = run(["bash", "-c", line], cwd=project, env=env, timeout=600)
        assert result.returncode == 0, result.output
        if line.startswith("git commit"):
            assert re.search(r"^ruff.*Passed$", result.output, re.MULTILINE), result.output
    tracked = set(git(project, "ls-files").split())
    assert "src/uv.lock" in tracked and ".env" not in tracked and (project / ".env").exists()
    assert git(project, "log", "--format=%s").split("\n")[0] == "Start from start-django"
    assert (project / ".git/hooks/pre-commit").exists()
    assert git(project, "status", "--porcelain") == "", "the hooks changed nothing"
