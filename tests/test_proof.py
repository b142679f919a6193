"""The proof line (tests/proof.py) counts an item only when every test of its level passed,
compares with totals from the enumerations, and under CI=true fails a run that falls short."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness import proof, renders


def report(level: str, item: str, outcome: str, when: str = "call", duration: float = 1.0):
    return SimpleNamespace(
        user_properties=[(proof.PROPERTY, (level, item))],
        outcome=outcome,
        when=when,
        duration=duration,
    )


@pytest.fixture
def ledger(monkeypatch):
    totals = dict.fromkeys(proof.LEVELS, 2)
    monkeypatch.setattr(proof, "totals", lambda: totals)
    monkeypatch.setattr(renders, "changed_renders", list)
    return proof.Ledger(SimpleNamespace())


def test_an_item_counts_only_when_every_test_of_its_level_passed(ledger, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    for outcome in ("passed", "passed"):
        ledger.pytest_runtest_logreport(report("rendered", "a", outcome))
    ledger.pytest_runtest_logreport(report("rendered", "b", "passed"))
    ledger.pytest_runtest_logreport(report("rendered", "b", "skipped", when="setup"))
    line, timings, complete = ledger.summary()
    assert line.startswith("proof: rendered 1/2 |"), line
    assert not complete
    assert "rendered: 4s of test time" in timings, timings


def test_under_ci_every_level_is_shown_and_a_shortfall_fails_the_run(ledger, monkeypatch):
    monkeypatch.setenv("CI", "true")
    for level in proof.LEVELS:
        for item in ("a", "b"):
            ledger.pytest_runtest_logreport(report(level, item, "passed"))
    ledger.pytest_runtest_logreport(report("stacks started", "b", "failed"))
    session = SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    ledger.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
    line = ledger.lines[-1]
    assert "stacks started 1/2" in line and "fly apps run 2/2" in line, line
    assert "a proof level is below its total" in "\n".join(ledger.lines)


def test_a_complete_run_under_ci_keeps_its_exit_status(ledger, monkeypatch):
    monkeypatch.setenv("CI", "true")
    for level in proof.LEVELS:
        for item in ("a", "b"):
            ledger.pytest_runtest_logreport(report(level, item, "passed"))
    session = SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    ledger.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.OK
    assert ledger.lines[-1].startswith(
        "proof: rendered 2/2 | linted 2/2 | upgraded 2/2 | images built 2/2"
    )


def test_a_render_changed_by_a_test_fails_the_run_under_ci(ledger, monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    for level in proof.LEVELS:
        for item in ("a", "b"):
            ledger.pytest_runtest_logreport(report(level, item, "passed"))
    monkeypatch.setattr(renders, "changed_renders", lambda: [tmp_path / "project"])
    session = SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    ledger.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
    assert "renders changed by a test: 1" in ledger.lines[-1]


def test_changed_renders_names_a_render_written_into(tmp_path, monkeypatch):
    monkeypatch.setattr(renders, "CACHE", tmp_path)
    monkeypatch.setattr(renders, "template_key", lambda: "k")
    project = renders.render({"project_name": "Proof Check", "database": "sqlite"})
    assert renders.changed_renders() == []
    (project / "src" / "huey.sqlite3").write_bytes(b"SQLite format 3\0")
    assert renders.changed_renders() == [project]
