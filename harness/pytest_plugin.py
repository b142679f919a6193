"""The harness's pytest hooks and fixtures (tests/conftest.py loads this plugin):

- `@pytest.mark.proof(level)`: tags each report with what it proves, for harness.proof's
  Ledger, which ends the run with the proof line;
- the base images each worker ensured, and the durations the container tests measured,
  handed to the reports and shown at the end;
- `@pytest.mark.applies_to(predicate)`: a test of a parametrized item (say, a stack class)
  that only means something for some of them is deselected for the others: it exists where
  it applies, and is neither run nor counted as skipped elsewhere;
- with `-n N --dist loadgroup`, the tests of one combination, image, stack class or Fly app
  share a worker (its project is prepared and its containers started once); other Docker
  tests share a worker per module, for their module-wide fixtures. Groups run side by side:
  every stack has its own compose project, ports and image names.
"""

from __future__ import annotations

import pytest

from harness import engine, stacks
from harness.proof import IMAGE_PROPERTY, LEVELS, PROPERTY, Ledger

OWNERS = {"Combination", "Image", "StackClass", "FlyApp"}


def _owner(item: pytest.Item, of: str | None = None):
    """The Combination, Image, StackClass or FlyApp a test is parametrized with (or its `of`)."""
    for value in getattr(getattr(item, "callspec", None), "params", {}).values():
        target = getattr(value, of) if of and hasattr(value, of) else value
        if type(target).__name__ in OWNERS:
            return target
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "proof(level, of=None): the proof level this test counts towards"
    )
    config.addinivalue_line(
        "markers", "applies_to(predicate): only for the parametrized items predicate accepts"
    )
    config.pluginmanager.register(Ledger(config), "start-django-proof")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    kept, dropped = [], []
    for item in items:
        mark = item.get_closest_marker("applies_to")
        owner = _owner(item)
        (dropped if mark and owner and not mark.args[0](owner) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    for item in items:
        owner = _owner(item)
        if owner is not None:
            item.add_marker(pytest.mark.xdist_group(f"{type(owner).__name__}:{owner.id}"))
        elif item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.xdist_group(f"docker:{item.path.name}"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tag every phase's report (they share item.user_properties) with what it proves."""
    for mark in item.iter_markers("proof"):
        level = mark.args[0]
        assert level in LEVELS, f"unknown proof level {level!r}"
        owner = _owner(item, mark.kwargs.get("of"))
        assert owner, f"{item.nodeid}: proof({level!r}) needs a parametrized item to prove"
        item.user_properties.append((PROPERTY, (level, owner.id)))


_recorded: set[tuple[str, str]] = set()


@pytest.fixture(autouse=True)
def _report_images_and_timings(record_property):
    """After each test: the base images this process ensured (once each), and the
    durations measured while it and its fixtures ran."""
    yield
    for tag, source in engine.ENSURED.items():
        if (tag, source.source) not in _recorded:
            _recorded.add((tag, source.source))
            record_property(IMAGE_PROPERTY, (tag, source.source, source.seconds))
    while stacks.TIMINGS:
        record_property("timing", stacks.TIMINGS.pop(0))


def pytest_terminal_summary(terminalreporter) -> None:
    """The durations the container tests measured (build, up to healthy, stop)."""
    timings = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        for name, value in getattr(report, "user_properties", None) or []
        if name == "timing"
    ]
    if timings:
        terminalreporter.write_sep("-", "container test timings")
        for line in dict.fromkeys(timings):
            terminalreporter.write_line(line)
