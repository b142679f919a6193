"""What a run proved, in one line per level, and how long each phase took.

A test states what it proves with `@pytest.mark.proof(level)` (harness/pytest_plugin.py tags
its reports): the item it proves is the `id` of its parametrized Combination, Image,
StackClass or FlyApp (or, with `of="image"`, that object's image). An item counts at a level when every test that proves that level for
it passed, every phase (setup, call, teardown). The totals come from the enumerations
themselves (every combination, every distinct image, class, app), never from the tests
that ran, so a missing or skipped test shows as a shortfall:

    proof: rendered 360/360 | linted 360/360 | images built 63/63 | ... | stand-ins: ...

Under CI=true a level below its total fails the run, whatever the test outcomes.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict

import pytest

LEVELS = (
    "rendered",
    "linted",
    "upgraded",
    "images built",
    "images booted",
    "stacks started",
    "fly apps run",
)
PROPERTY = "proof"
IMAGE_PROPERTY = "image-source"


def totals() -> dict[str, int]:
    """Every level's total, from the enumerations (renders are cached on disk by now)."""
    from harness.combinations import all_combinations
    from harness.runtimes import fly_apps, images, stack_classes

    combos = len(all_combinations())
    return {
        "rendered": combos,
        "linted": combos,
        "upgraded": combos,
        "images built": len(images()),
        "images booted": len(images()),
        "stacks started": len(stack_classes()),
        "fly apps run": len(fly_apps()),
    }


class Ledger:
    """Collects the reports (in the xdist controller they arrive from every worker)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcomes: dict[str, dict[str, bool]] = defaultdict(dict)
        self.seconds: dict[str, float] = defaultdict(float)
        self.sources: dict[str, tuple[str, float]] = {}
        self.started = time.monotonic()
        self.collected: float | None = None
        self.lines: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = self.collected or time.monotonic()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.collected = self.collected or time.monotonic()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        phase = None
        for name, value in report.user_properties:
            if name == PROPERTY:
                level, proved = value
                self.outcomes[level][proved] = self.outcomes[level].get(proved, True) and (
                    report.outcome == "passed"
                )
                phase = phase or level
            elif name == IMAGE_PROPERTY:
                tag, source, seconds = value
                self.sources[tag] = (source, max(seconds, self.sources.get(tag, ("", 0))[1]))
        self.seconds[phase or "other tests"] += report.duration

    def summary(self) -> tuple[str, list[str], bool]:
        """(the proof line, the phase timings, whether every level reached its total)."""
        in_ci = os.environ.get("CI") == "true"
        wanted = [level for level in LEVELS if in_ci or self.outcomes.get(level)]
        counts = totals() if wanted else {}
        parts, complete = [], True
        for level in wanted:
            done = sum(self.outcomes.get(level, {}).values())
            parts.append(f"{level} {done}/{counts[level]}")
            complete &= done == counts[level]
        if wanted:  # the renders every level stands on: still as copier wrote them?
            from harness.renders import changed_renders

            if changed := changed_renders():
                complete = False
                parts.append(f"renders changed by a test: {len(changed)} (first: {changed[0]})")
        standins = sorted(tag for tag, (source, _) in self.sources.items() if source == "stand-in")
        real = sorted(tag for tag, (source, _) in self.sources.items() if source == "real")
        parts.append(f"stand-ins: {', '.join(standins) or 'none'}")
        if real:
            parts.append(f"real images: {', '.join(real)}")
        timings = []
        if bootstrap := os.environ.get("START_DJANGO_BOOTSTRAP_SECONDS"):
            timings.append(f"bootstrap (provisioning, before pytest): {int(bootstrap)}s")
        pulled_or_built = sum(seconds for _, seconds in self.sources.values())
        if pulled_or_built:
            timings.append(f"base images (pull or stand-in build, inside tests): "
                           f"{pulled_or_built:.0f}s")  # fmt: skip
        for phase in (*LEVELS, "other tests"):
            if self.seconds.get(phase):
                timings.append(f"{phase}: {self.seconds[phase]:.0f}s of test time")
        if self.collected:
            timings.append(f"collection (renders every combination): "
                           f"{self.collected - self.started:.0f}s")  # fmt: skip
        timings.append(f"pytest wall clock: {time.monotonic() - self.started:.0f}s")
        return "proof: " + " | ".join(parts), timings, complete

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):  # an xdist worker: the controller sums up
            return
        line, timings, complete = self.summary()
        self.lines = ["phase timings (summed over the workers that ran them):", *timings]
        if os.environ.get("CI") == "true" and not complete:
            self.lines.append("CI=true: a proof level is below its total, so the run fails")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.lines.append(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """After pytest's own last line, so the proof line is the run's last word."""
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if self.lines and reporter is not None:
            for text in self.lines:
                reporter.write_line(text)
