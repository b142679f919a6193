"""The proof line counts a member only when every test its level needs for it passed, matched
against the level's enumerated members; a run that leaves needed work out (`-k`, a deselect,
an `applies_to` that wrongly says no) shows the shortfall and, under CI=true, fails. Shards
split the work without overlap and merge to the same line. Every cache key changes with each
input it stands for."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import ROOT, levels, proof, renders, s3service, standins
from harness.combinations import spread
from harness.commands import git, run
from harness.pytest_plugin import shard_of
from harness.template_repo import assert_not_head


@pytest.fixture
def ledger(monkeypatch):
    """A ledger over a level of two members, a and b, each needing two tests."""
    members = [SimpleNamespace(id="a"), SimpleNamespace(id="b")]
    level = levels.Level("rendered", lambda: members, {"m.py::one": None, "m.py::two": None})
    monkeypatch.setattr(levels, "QUICK", False)  # the full line's label, even under --quick
    monkeypatch.setattr(levels, "counted", lambda: [level])
    monkeypatch.setattr(levels, "_members", lambda name: members)
    monkeypatch.setattr(renders, "changed_renders", list)
    return proof.Ledger(SimpleNamespace())


def report(member: str, test: str, outcome: str = "passed", when: str = "call"):
    return SimpleNamespace(
        user_properties=[(proof.PROPERTY, ("rendered", member, f"m.py::{test}"))],
        outcome=outcome,
        when=when,
        duration=1.0,
    )


def test_a_member_counts_only_when_every_test_it_needs_passed_every_phase(ledger):
    for member in ("a", "b"):
        ledger.pytest_runtest_logreport(report(member, "one"))
    ledger.pytest_runtest_logreport(report("a", "two"))
    ledger.pytest_runtest_logreport(report("b", "two"))
    ledger.pytest_runtest_logreport(report("b", "two", "failed", when="teardown"))
    line, timings, complete = ledger.summary()
    assert line.startswith("proof: rendered 1/2 |"), line
    assert not complete
    assert any(t.startswith("rendered: 5s of test time") for t in timings), timings


def test_a_member_missing_a_needed_test_does_not_count(ledger):
    """One passing test per member is not enough: the level names two."""
    for member in ("a", "b"):
        ledger.pytest_runtest_logreport(report(member, "one"))
    assert ledger.summary()[0].startswith("proof: rendered 0/2 |")


def test_ids_the_level_does_not_enumerate_count_for_nothing_and_are_named(ledger):
    for member in ("a", "b", "stray"):
        for test in ("one", "two"):
            ledger.pytest_runtest_logreport(report(member, test))
    line, _, complete = ledger.summary()
    assert "rendered 2/2" in line and "ids it does not enumerate: 1 (stray)" in line, line
    assert not complete


def test_under_ci_a_shortfall_fails_the_run_and_a_whole_run_keeps_its_status(ledger, monkeypatch):
    monkeypatch.setattr(proof, "IN_CI", True)
    for member, test in (("a", "one"), ("a", "two"), ("b", "one")):
        ledger.pytest_runtest_logreport(report(member, test))
    session = SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    ledger.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
    assert "a proof level is below its total" in "\n".join(ledger.lines)
    ledger.pytest_runtest_logreport(report("b", "two"))
    session = SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    ledger.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.OK, ledger.lines


def test_a_render_changed_by_a_test_fails_the_run_under_ci(ledger, monkeypatch, tmp_path):
    monkeypatch.setattr(proof, "IN_CI", True)
    for member in ("a", "b"):
        for test in ("one", "two"):
            ledger.pytest_runtest_logreport(report(member, test))
    monkeypatch.setattr(renders, "changed_renders", lambda: [tmp_path / "project"])
    session = SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    ledger.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
    assert "renders changed by a test: 1" in ledger.lines[-1]


def test_changed_renders_names_a_render_written_into(tmp_path, monkeypatch):
    monkeypatch.setattr(renders, "CACHE", tmp_path)
    monkeypatch.setattr(renders, "template_key", lambda: "k")
    monkeypatch.setattr(renders, "snapshot", lambda: ROOT)
    project = renders.render({"project_name": "Proof Check", "database": "sqlite"})
    assert renders.changed_renders() == []
    (project / "src" / "huey.sqlite3").write_bytes(b"SQLite format 3\0")
    assert renders.changed_renders() == [project]


def test_every_level_names_only_tests_that_exist():
    """A level that needs a test nobody wrote could never reach its total."""
    for level in levels.LEVELS:
        for name in level.needs:
            module, test = name.split("::")
            assert re.search(
                rf"^def {test}\(", (ROOT / "tests" / module).read_text(), re.MULTILINE
            ), name


# --- planted faults: real runs of the real render tests, in quick mode (3 combinations) -------

RENDERED = [name.split("::")[1] for name in levels.level("rendered").needs]


def run_rendered(*args: str, tests: Path = ROOT / "tests", ci: bool = True) -> str:
    """pytest on test_render.py's "rendered" tests (quick mode: the spread), in a subprocess
    as scripts/test runs it; its output (the proof line last)."""
    env = {**os.environ, "START_DJANGO_QUICK": "1", "CI": "true" if ci else "false"}
    env.pop("PYTEST_XDIST_WORKER", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "0",
               "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
               str(tests / "test_render.py"), "-k", " or ".join(RENDERED), *args]  # fmt: skip
    result = run(command, cwd=ROOT, env=env)
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def rendered_count(output: str) -> str:
    return re.search(r"^proof \(quick\): rendered (\d+/\d+)", output, re.MULTILINE)[1]


def test_a_run_of_every_needed_test_reaches_the_total():
    output = run_rendered()
    assert rendered_count(output) == "3/3", output[-3000:]


def test_a_k_run_shows_the_shortfall_and_fails_under_ci():
    output = run_rendered("-k", "not test_scripts_are_executable")
    assert rendered_count(output) == "0/3", output[-3000:]
    assert output.startswith("exit 1") and "below its total" in output, output[-3000:]


def test_a_deselected_member_shows_the_shortfall_and_fails_under_ci():
    first = spread()[0]  # the quick run's first member
    node = f"tests/test_render.py::test_no_template_syntax_is_left[{first.id}]"
    output = run_rendered("--deselect", node)
    assert rendered_count(output) == "2/3", output[-3000:]
    assert output.startswith("exit 1"), output[-3000:]


def test_a_wrong_applies_to_shows_the_shortfall_and_fails_under_ci(tmp_path):
    """test_scripts_are_executable, told it applies only to Python 3.13 combinations: the
    level still needs it for the others."""
    tests = tmp_path / "tests"
    shutil.copytree(ROOT / "tests", tests, ignore=shutil.ignore_patterns(".node", "__pycache__"))
    module = tests / "test_render.py"
    text = module.read_text().replace(
        '@pytest.mark.proof("rendered")\ndef test_scripts_are_executable',
        '@pytest.mark.proof("rendered")\n'
        '@pytest.mark.applies_to(lambda c: c.get("python_version") == "3.13")\n'
        "def test_scripts_are_executable",
    )
    assert text != module.read_text(), "the planted fault found no place"
    module.write_text(text)
    output = run_rendered(tests=tests)
    assert rendered_count(output) == "1/3", output[-3000:]
    assert output.startswith("exit 1"), output[-3000:]


def test_two_shards_are_disjoint_cover_everything_and_merge_to_the_whole_line(tmp_path):
    groups = [f"Combination:{n}" for n in range(400)]
    shards = [{g for g in groups if shard_of(g, 3) == i} for i in (1, 2, 3)]
    assert sum(map(len, shards)) == len(groups) and set().union(*shards) == set(groups)
    ledgers = []
    for index in (1, 2):
        ledgers.append(tmp_path / f"shard-{index}.json")
        output = run_rendered("--shard", f"{index}/2", "--ledger", str(ledgers[-1]))
        assert output.startswith("exit 0") and ledgers[-1].exists(), output[-3000:]
    env = {**os.environ, "START_DJANGO_QUICK": "1", "CI": "true"}
    merged = run([sys.executable, "-m", "harness.shards", "merge", *ledgers], cwd=ROOT, env=env)
    assert merged.returncode == 1, merged.stdout  # only the rendered tests ran: linted is short
    assert rendered_count(merged.stdout) == "3/3", merged.stdout
    alone = run([sys.executable, "-m", "harness.shards", "merge", ledgers[0]], cwd=ROOT, env=env)
    assert "the shards are not 1..N once each" in alone.stdout, alone.stdout


# --- the upgrade level starts from a real release -----------------------------------------


def test_an_upgrade_from_head_itself_is_refused():
    with pytest.raises(AssertionError, match="is HEAD itself"):
        assert_not_head(git(ROOT, "rev-parse", "HEAD").strip())


# --- cache keys: each input changes the key --------------------------------------------------


def test_the_render_key_follows_copier_jinja2_and_pyyaml(monkeypatch):
    import importlib.metadata

    real = importlib.metadata.version
    before = renders.tools_key()
    for tool in renders.TOOLS:
        monkeypatch.setattr(importlib.metadata, "version",
                            lambda name, t=tool: real(name) + ("+other" if name == t else ""))  # fmt: skip
        assert renders.tools_key() != before, tool
    monkeypatch.setattr(importlib.metadata, "version", real)
    assert renders.tools_key() == before


def test_the_stand_in_key_follows_the_ca_bundle(monkeypatch, tmp_path):
    bundle = tmp_path / "ca.crt"
    bundle.write_text("one CA\n")
    monkeypatch.setattr(standins, "HOST_CA_BUNDLE", bundle)
    recipe = standins.recipe("postgres:17")
    before = recipe.digest("sha256:base")
    bundle.write_text("another CA\n")
    assert recipe.digest("sha256:base") != before
    assert recipe.digest("sha256:other-base") != recipe.digest("sha256:base")


def test_the_s3_image_key_follows_its_binary_dockerfile_and_command(monkeypatch):
    before = s3service.image_key("weed-a")
    assert s3service.image_key("weed-b") != before
    monkeypatch.setattr(s3service, "IMAGE_COMMAND", (*s3service.IMAGE_COMMAND, "-v=1"))
    assert s3service.image_key("weed-a") != before
    monkeypatch.setattr(s3service, "_BASE", "python:3.14-slim-trixie")
    assert s3service.image_key("weed-a") != before


def test_the_lock_key_follows_pyproject_and_uv():
    from harness.projects import lock_key

    assert lock_key(b"[project]\nname='a'\n", "0.13.8") != lock_key(
        b"[project]\nname='b'\n", "0.13.8"
    )
    assert lock_key(b"[project]\nname='a'\n", "0.13.8") != lock_key(
        b"[project]\nname='a'\n", "0.14.0"
    )
