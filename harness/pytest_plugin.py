"""The harness's pytest hooks and fixtures (tests/conftest.py loads this plugin):

- `@pytest.mark.proof(level)`: the test proves that level (harness/levels.py) for the member
  it is parametrized with (or that object's `of` attribute, as the level says). It runs for
  exactly the members the level needs it for, and each report carries (level, member, test)
  for harness.proof's Ledger, which ends the run with the proof line;
- `@pytest.mark.applies_to(predicate)`: a test of a parametrized item that only means
  something for some of them is deselected for the others. On a proof test it can only take
  members away, and the ledger shows any member its level still needs;
- with `-n N --dist loadgroup`, the tests of one combination, image, stack class or Fly app
  share a worker (its project is prepared and its containers started once); other Docker
  tests share a worker per module, for their module-wide fixtures. Groups run side by side:
  every stack has its own compose project, ports and image names;
- `--shard I/N`: only the groups whose hash falls to shard I of N (deterministic, disjoint,
  together every group); the ledger goes to `--ledger PATH` for `harness.shards merge`;
- the base images each worker ensured, and the durations the container tests measured,
  handed to the reports and shown at the end.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import pytest

from harness import baseimages, shards, stacks
from harness.levels import level
from harness.proof import IMAGE_PROPERTY, PROPERTY, Ledger

OWNERS = {"Combination", "Image", "StackClass", "FlyApp", "Upgrade", "LiveUpgrade"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("start-django")
    group.addoption("--shard", default=None, metavar="I/N",
                    help="run shard I of N (1-based) of every level's work")  # fmt: skip
    group.addoption("--ledger", default=None, metavar="PATH",
                    help="where a shard writes its ledger (default .proof/shard-I-of-N.json)")  # fmt: skip


def _shard(config: pytest.Config) -> tuple[int, int] | None:
    value = config.getoption("shard")
    if not value:
        return None
    try:
        index, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--shard takes I/N, e.g. 1/2, not {value!r}") from None
    if not 1 <= index <= count:
        raise pytest.UsageError(f"--shard {value}: I must be between 1 and N")
    return index, count


def _owner(item: pytest.Item):
    """The member a test is parametrized with (a Combination, StackClass, FlyApp, ...)."""
    for value in getattr(getattr(item, "callspec", None), "params", {}).values():
        if type(value).__name__ in OWNERS:
            return value
    return None


def test_name(item: pytest.Item) -> str:
    return f"{item.path.name}::{item.originalname}"


def proved(item: pytest.Item) -> list[tuple[str, object]]:
    """(level, member) for each proof mark of the item whose level needs it for the member."""
    found = []
    owner = _owner(item)
    for mark in item.iter_markers("proof"):
        lv = level(mark.args[0])
        name = test_name(item)
        if name not in lv.needs:
            raise pytest.UsageError(
                f"{item.nodeid}: proof({lv.name!r}), but harness/levels.py does not name "
                f"{name} among the tests that level needs"
            )
        if owner is None:
            raise pytest.UsageError(
                f"{item.nodeid}: proof({lv.name!r}) needs a parametrized member"
            )
        member = getattr(owner, lv.of) if lv.of else owner
        if lv.needs[name] is None or lv.needs[name](member):
            found.append((lv.name, member))
    return found


def group_of(item: pytest.Item) -> str:
    """The work a test belongs to: its member, or its module (for module-wide fixtures)."""
    owner = _owner(item)
    if owner is not None:
        return f"{type(owner).__name__}:{owner.id}"
    if item.get_closest_marker("docker"):
        return f"docker:{item.path.name}"
    return f"module:{item.path.name}"


def shard_of(group: str, count: int) -> int:
    """Which shard (1..count) a group falls to: the same on every machine."""
    return int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % count + 1


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "proof(level): the proof level (harness/levels.py) this test counts towards"
    )
    config.addinivalue_line(
        "markers", "applies_to(predicate): only for the parametrized items predicate accepts"
    )
    shard = _shard(config)
    write_shard = None
    if shard:
        path = Path(config.getoption("ledger") or f".proof/shard-{shard[0]}-of-{shard[1]}.json")
        write_shard = functools.partial(shards.write, path=path)
    config.pluginmanager.register(Ledger(config, shard, write_shard), "start-django-proof")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    shard = _shard(config)
    kept, dropped = [], []
    for item in items:
        owner = _owner(item)
        wanted = True
        if item.get_closest_marker("proof"):
            wanted = bool(proved(item))
        mark = item.get_closest_marker("applies_to")
        if mark and owner is not None and not mark.args[0](owner):
            wanted = False
        if shard and shard_of(group_of(item), shard[1]) != shard[0]:
            wanted = False
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    for item in items:
        if _owner(item) is not None or item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.xdist_group(group_of(item)))
    # Longest work first, each group's tests kept together (xdist hands groups out in this
    # order): the Docker modules, then the stack classes and Fly apps, then the rest; the
    # many short combination groups fill the workers' gaps at the end.
    items.sort(key=lambda item: _RANK.get(group_of(item).split(":")[0], 3))


_RANK = {
    "docker": 0,
    "LiveUpgrade": 0,
    "StackClass": 1,
    "FlyApp": 2,
    "Combination": 4,
    "Upgrade": 4,
}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tag every phase's report (they share item.user_properties) with what it proves."""
    for lv, member in proved(item):
        item.user_properties.append((PROPERTY, (lv, member.id, test_name(item))))


_recorded: set[tuple[str, str]] = set()


@pytest.fixture(autouse=True)
def _report_images_and_timings(record_property):
    """After each test: the base images this process ensured (once each), and the
    durations measured while it and its fixtures ran."""
    yield
    for tag, source in baseimages.ENSURED.items():
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
