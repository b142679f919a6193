"""A shard's ledger on disk, and the shards' ledgers merged into the one proof line.

`scripts/test --shard I/N` runs a share of every level (harness/pytest_plugin.py picks it)
and, instead of judging, writes its ledger here. `scripts/test --merge LEDGER.json ...` reads
every shard's file and prints, and under CI=true judges, the proof line of the whole:

    python -m harness.shards merge LEDGER.json ...
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from harness.commands import IN_CI
from harness.proof import Ledger


def write(ledger: Ledger, path: Path) -> str:
    """Write a shard's ledger to `path`; the line the shard ends with."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "shard": ledger.shard,
        "passed": [[*key, ok] for key, ok in sorted(ledger.passed.items())],
        "seconds": ledger.seconds,
        "sources": ledger.sources,
        "collection": (ledger.collected or ledger.started) - ledger.started,
        "wall": time.monotonic() - ledger.started,
    }))  # fmt: skip
    index, count = ledger.shard
    return f"shard {index}/{count}: ledger written to {path}; `scripts/test --merge` judges the shards together"


def read(paths: list[Path]) -> tuple[Ledger, list[str]]:
    """One ledger from the shards' files, and what is wrong with the set of shards."""
    ledger, shards, problems = Ledger(None), [], []
    ledger.wall = 0.0
    for path in paths:
        data = json.loads(path.read_text())
        shards.append(tuple(data["shard"] or (1, 1)))
        for level, member, test, ok in data["passed"]:
            key = (level, member, test)
            ledger.passed[key] = ledger.passed.get(key, True) and ok
        for phase, seconds in data["seconds"].items():
            ledger.seconds[phase] += seconds
        for tag, (source, seconds) in data["sources"].items():
            ledger.sources[tag] = (source, max(seconds, ledger.sources.get(tag, ("", 0))[1]))
        ledger.wall = max(ledger.wall, data["wall"])
    counts = {n for _, n in shards}
    if len(counts) != 1 or sorted(i for i, _ in shards) != list(range(1, counts.pop() + 1)):
        problems.append(f"the shards are not 1..N once each: {sorted(shards)}")
    return ledger, problems


def merge(paths: list[Path]) -> int:
    """Print the phase timings and the proof line of the shards together; 1 under CI=true
    when a level is short or the shards are not a whole set."""
    ledger, problems = read(paths)
    line, timings, complete = ledger.summary()
    print("phase timings (summed over every shard's workers; wall clock: the slowest shard):")
    print("\n".join(timings))
    for problem in problems:
        print(problem)
    failed = IN_CI and (problems or not complete)
    if failed:
        print("CI=true: a proof level is below its total, so the run fails")
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] != ["merge"] or len(sys.argv) < 3:
        sys.exit("usage: python -m harness.shards merge LEDGER.json ...")
    sys.exit(merge([Path(p) for p in sys.argv[2:]]))
