"""Faults a production stack survives, on a real PostgreSQL + Redis + huey stack: PostgreSQL
restarted under steady traffic, Redis killed with tasks queued. The load is bounded (one
request every 50 ms, for a minute at most) and stays on 127.0.0.1."""

from __future__ import annotations

import http.client
import threading
import time
from typing import Self

import pytest

from harness.combinations import one
from harness.commands import wait_until
from harness.engine import require_engine
from harness.stacks import TOKEN, Stack, get, healthy, post_entry, prepare, timed, words

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def stack(render, tmp_path_factory):
    require_engine()
    combo = one(database="postgres", worker="huey", worker_broker="redis")
    project = prepare(render(combo), tmp_path_factory.mktemp("faults") / "project")
    stack = Stack(project, f"sdt-{TOKEN}-faults", "pg")
    with timed("faults: up --build --wait"):
        stack.up(build=True)
    yield stack
    stack.remove()


class Traffic:
    """GET / every `every` seconds from a thread, until the block ends or `limit` requests:
    each answer as (when, status), status 0 when no HTTP answer came."""

    def __init__(self, port: int, every: float = 0.05, limit: int = 1200) -> None:
        self.port, self.every, self.limit = port, every, limit
        self.answers: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.answers) < self.limit:
            try:
                status = get(self.port, "/")[0]
            except (OSError, http.client.HTTPException):
                status = 0
            self.answers.append((time.time(), status))
            self._stop.wait(self.every)

    def since(self, moment: float) -> list[int]:
        return [status for when, status in self.answers if when > moment]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def started_at(stack: Stack, service: str) -> tuple[str, int]:
    state = stack.inspect(service)
    return state["State"]["StartedAt"], state["RestartCount"]


def health_of(stack: Stack, service: str) -> str:
    return stack.inspect(service)["State"]["Health"]["Status"]


def test_postgres_restarted_under_traffic_answers_no_5xx_once_healthy_again(stack):
    """Web and worker keep their processes and recover by themselves: a web process drops a
    connection that failed during the outage and opens a new one on its next request."""
    before = {s: started_at(stack, s) for s in (stack.web, stack.worker)}
    with Traffic(stack.port) as traffic:
        wait_until(lambda: len(traffic.since(0)) >= 10, 30, "traffic flowing")
        restarted = stack.compose("restart", "postgres", timeout=120)
        assert restarted.returncode == 0, restarted.output
        back = wait_until(
            lambda: health_of(stack, "postgres") == "healthy" and time.time(),
            60,
            "postgres healthy",
        )
        wait_until(lambda: len(traffic.since(back)) >= 40, 30, "traffic after the restart")
    assert traffic.since(back), "no request after PostgreSQL was healthy again"
    assert [s for s in traffic.since(back) if s != 200] == [], traffic.since(back)
    assert {s: started_at(stack, s) for s in before} == before, "web or worker was restarted"
    post_entry(stack.port, "after the database restart", "the worker reconnects too")
    assert wait_until(lambda: words(stack.port, "after the database restart"), 90, "processed")


def test_tasks_queued_when_redis_is_killed_are_all_processed(stack):
    """The queue is Redis's append-only file on a volume: tasks enqueued while no worker runs
    survive a Redis killed without warning (SIGKILL, no final save) and restarted."""
    assert stack.compose("stop", stack.worker, timeout=120).returncode == 0
    titles = [f"queued through a Redis crash {n}" for n in range(5)]
    for title in titles:
        post_entry(stack.port, title, "waits in Redis")
    assert [words(stack.port, t) for t in titles] == [None] * len(titles), "pending, no worker"

    def synced() -> bool:  # appendfsync everysec: the writes are on disk within a second
        info = stack.exec("redis", "redis-cli", "INFO", "persistence").stdout
        return "aof_enabled:1" in info and "aof_pending_bio_fsync:0" in info

    wait_until(synced, 10, "Redis's append-only file synced")
    for step in (("kill", "redis"), ("start", "redis"), ("start", stack.worker)):
        result = stack.compose(*step, timeout=120)
        assert result.returncode == 0, result.output
    wait_until(lambda: healthy(stack.port), 60, "/health/ all ok with Redis back")
    for title in titles:
        assert wait_until(lambda t=title: words(stack.port, t), 90, f"{title!r} processed")
