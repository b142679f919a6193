"""Data survives `docker compose down` and `up` (volumes kept, containers new), for each
volume layout of database=both with a worker: PostgreSQL's data, SQLite's file, huey's queue
file, litestream's replica and Redis's append-only file each live on a named volume."""

from __future__ import annotations

import pytest

from harness.combinations import questions
from harness.commands import wait_until
from harness.engine import require_engine
from harness.http import healthy, post_entry, words, writer
from harness.projects import prepare
from harness.runtimes import StackClass, stack_classes
from harness.stacks import Stack, suite_name, timed

pytestmark = pytest.mark.docker

LAYOUTS = [
    c
    for c in stack_classes()
    if c.image.python_version == questions()["python_version"]["default"]
    and c.representative.get("database") == "both"
    and c.representative.use_huey
    and c.representative.use_litestream
]


@pytest.fixture(params=LAYOUTS, ids=lambda c: c.id)
def stack(request, render, tmp_path) -> Stack:
    require_engine()
    cls: StackClass = request.param
    project = prepare(render(cls.representative), tmp_path / "project")
    stack = Stack(project, suite_name("persist", cls.key[:10]), cls.profile)
    request.addfinalizer(stack.remove)
    with timed(f"{cls.id}: up --build --wait (persistence)"):
        stack.up(build=True)
    return stack


def test_entries_survive_down_and_up(stack):
    title = f"{stack.name} kept entry"
    post_entry(stack.port, title, "survives a restart", writer(stack.port, stack.manage))
    expected = wait_until(lambda: words(stack.port, title), 90, f"{title!r} processed")
    with timed(f"{stack.name}: down, then up --wait"):
        result = stack.down()
        assert result.returncode == 0, result.output
        stack.up()
    wait_until(lambda: healthy(stack.port), 60, "/health/ all ok after up")
    assert words(stack.port, title) == expected, "the entry (or its word count) was lost"
