"""What a run proved, in one line per level, and how long each phase took.

The levels, their members and the tests each member needs are harness/levels.py's. Every
report of a test marked `@pytest.mark.proof(level)` carries (level, member id, test name)
(harness/pytest_plugin.py puts it there); the Ledger keeps whether each such triple passed,
every phase. A member counts when every test its level needs for it passed; ids a level does
not enumerate count for nothing and are named. So a skipped, deselected or missing test
shows as a shortfall:

    proof: rendered 360/360 | linted 360/360 | images built 63/63 | ... | stand-ins: ...

Under CI=true a level below its total fails the run, whatever the test outcomes. A shard
(`scripts/test --shard I/N`) hands its ledger to harness/shards.py instead of judging.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict

import pytest

from harness.commands import IN_CI

PROPERTY = "proof"
IMAGE_PROPERTY = "image-source"


class Ledger:
    """Collects the reports (in the xdist controller they arrive from every worker)."""

    def __init__(self, config, shard: tuple[int, int] | None = None, write_shard=None):
        self.config = config
        self.shard = shard
        self.write_shard = write_shard  # a shard's end: write the ledger, say where
        self.passed: dict[tuple[str, str, str], bool] = {}
        self.seconds: dict[str, float] = defaultdict(float)
        self.sources: dict[str, tuple[str, float]] = {}
        self.started = time.monotonic()
        self.collected: float | None = None
        self.wall: float | None = None
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
                level, member, test = value
                key = (level, member, test)
                self.passed[key] = self.passed.get(key, True) and report.outcome == "passed"
                phase = phase or level
            elif name == IMAGE_PROPERTY:
                tag, source, seconds = value
                self.sources[tag] = (source, max(seconds, self.sources.get(tag, ("", 0))[1]))
        self.seconds[phase or "other tests"] += report.duration

    def counts(self) -> list[tuple[str, int, int, list[str]]]:
        """(level, members proved, members enumerated, ids proved that it does not enumerate)
        for each level this run reports."""
        from harness import levels

        rows = []
        ran = {lv for (lv, _, _) in self.passed}
        for level in levels.counted():
            if not (IN_CI or level.name in ran):
                continue
            members = level.members()
            done = 0
            for member in members:
                needed = level.needed(member)
                if needed and all(self.passed.get((level.name, member.id, t)) for t in needed):
                    done += 1
            known = {member.id for member in members}
            unknown = sorted({m for (lv, m, _) in self.passed if lv == level.name} - known)
            rows.append((level.name, done, len(members), unknown))
        return rows

    def summary(self) -> tuple[str, list[str], bool]:
        """(the proof line, the phase timings, whether every level reached its total)."""
        from harness import levels

        parts, complete = [], True
        for name, done, total, unknown in self.counts():
            parts.append(f"{name} {done}/{total}")
            complete &= done == total and not unknown
            if unknown:
                parts.append(f"{name}: ids it does not enumerate: {len(unknown)} ({unknown[0]})")
        from harness.renders import changed_renders

        if changed := changed_renders():  # the renders every level stands on
            complete = False
            parts.append(f"renders changed by a test: {len(changed)} (first: {changed[0]})")
        standins = sorted(tag for tag, (source, _) in self.sources.items() if source == "stand-in")
        real = sorted(tag for tag, (source, _) in self.sources.items() if source == "real")
        parts.append(f"stand-ins: {', '.join(standins) or 'none'}")
        if real:
            parts.append(f"real images: {', '.join(real)}")
        label = "proof (quick)" if levels.QUICK else "proof"
        return f"{label}: " + " | ".join(parts), self.timings(), complete

    def timings(self) -> list[str]:
        """Summed test time of each phase, with its share of all test time and the share of
        the wall clock that stands for (workers run side by side)."""
        wall = self.wall if self.wall is not None else time.monotonic() - self.started
        lines = []
        if bootstrap := os.environ.get("START_DJANGO_BOOTSTRAP_SECONDS"):
            lines.append(f"bootstrap (provisioning, before pytest): {int(bootstrap)}s")
        if built := sum(seconds for _, seconds in self.sources.values()):
            lines.append(f"base images (pull or stand-in build, inside tests): {built:.0f}s")
        if self.collected:
            lines.append(
                f"collection (renders every combination): {self.collected - self.started:.0f}s"
            )
        total = sum(self.seconds.values()) or 1.0
        from harness.levels import LEVELS

        for phase in (*(level.name for level in LEVELS), "other tests"):
            if seconds := self.seconds.get(phase):
                share = seconds / total
                lines.append(f"{phase}: {seconds:.0f}s of test time, {share:.0%} "
                             f"(~{share * wall / 60:.1f} of the {wall / 60:.1f} wall-clock minutes)")  # fmt: skip
        lines.append(f"pytest wall clock: {wall:.0f}s")
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):  # an xdist worker: the controller sums up
            return
        if self.shard:
            self.lines = [self.write_shard(self)]
            return
        line, timings, complete = self.summary()
        self.lines = ["phase timings (summed over the workers that ran them):", *timings]
        if IN_CI and not complete:
            self.lines.append("CI=true: a proof level is below its total, so the run fails")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.lines.append(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """After pytest's own last line, so the proof line is the run's last word."""
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if self.lines and reporter is not None:
            for text in self.lines:
                reporter.write_line(text)
