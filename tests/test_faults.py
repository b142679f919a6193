"""Faults a production stack survives, on a real PostgreSQL + Redis + huey stack: PostgreSQL
restarted, and stopped for a while, under steady traffic, Redis killed with tasks queued, a worker killed mid-task.
The load is bounded (one request every 50 ms, for ten minutes at most) and stays on 127.0.0.1;
each test asserts it was still running when the recovery it measures was over."""

from __future__ import annotations

import re
import select
import subprocess
import time
from typing import Self

import pytest

from harness.combinations import one
from harness.commands import run, wait_until
from harness.engine import require_engine
from harness.http import Load, healthy, post_entry, words, writer
from harness.projects import prepare
from harness.stacks import Stack, suite_name, timed

pytestmark = pytest.mark.docker

STALE_SECONDS = 5


@pytest.fixture(scope="module")
def stack(render, tmp_path_factory):
    require_engine()
    combo = one(database="postgres", worker="huey", worker_broker="redis")
    project = prepare(render(combo), tmp_path_factory.mktemp("faults") / "project")
    # Entries unprocessed for 5 s are stale (the default is 10 minutes): the worker's startup
    # sweep then picks up what a killed worker lost within the test's time.
    with (project / ".env").open("a") as env:
        env.write(f"STALE_ENTRY_SECONDS={STALE_SECONDS}\n")
    stack = Stack(project, suite_name("faults"), "pg")
    with timed("faults: up --build --wait"):
        stack.up(build=True)
    yield stack
    stack.remove()


def traffic(stack: Stack) -> Load:
    """One request every 50 ms, until the block ends (or ten minutes)."""
    return Load(stack.port, threads=1, pause=0.05, limit=12000, max_seconds=600)


def statuses(load: Load, moment: float) -> list[int]:
    """The status of each request sent after `moment` (time.monotonic); 0: no HTTP answer."""
    return [answer.status for answer in load.between(moment)]


def postgres_ready(stack: Stack) -> float:
    """When (time.monotonic) PostgreSQL's own healthcheck passes again."""
    return wait_until(
        lambda: stack.health_command("postgres").returncode == 0 and time.monotonic(),
        60,
        "postgres ready",
    )


def started_at(stack: Stack, service: str) -> tuple[str, int]:
    state = stack.inspect(service)
    return state["State"]["StartedAt"], state["RestartCount"]


def test_postgres_restarted_under_traffic_answers_no_5xx_once_healthy_again(stack):
    """Web and worker keep their processes and recover by themselves: a web process drops a
    connection that failed during the outage and opens a new one on its next request."""
    before = {s: started_at(stack, s) for s in (stack.web, stack.worker)}
    with traffic(stack) as load:
        wait_until(lambda: len(load.answers) >= 10, 30, "traffic flowing")
        restarted = stack.compose("restart", "postgres", timeout=120)
        assert restarted.returncode == 0, restarted.output
        back = postgres_ready(stack)
        wait_until(lambda: len(statuses(load, back)) >= 40, 30, "traffic after the restart")
        assert load.running(), "the load stopped before the recovery was measured"
    assert [s for s in statuses(load, back) if s != 200] == [], statuses(load, back)
    assert {s: started_at(stack, s) for s in before} == before, "web or worker was restarted"
    post_entry(stack.port, "after the database restart", "the worker reconnects too",
               writer(stack.port, stack.manage))  # fmt: skip
    assert wait_until(lambda: words(stack.port, "after the database restart"), 90, "processed")


OUTAGE_SECONDS = 20


def test_with_postgres_stopped_pages_fail_fast_the_web_stays_alive_and_recovers(stack):
    """Liveness apart from readiness: while PostgreSQL is stopped, a page that needs it gets
    an error page within a second, the web container's own healthcheck (liveness, the one
    that may restart it) passes and nothing is restarted; within 5 s of the database's
    return every request succeeds."""
    before = {s: started_at(stack, s) for s in (stack.web, stack.worker)}
    with traffic(stack) as load:
        wait_until(lambda: len(load.answers) >= 10, 30, "traffic flowing")
        stopped = stack.compose("stop", "postgres", timeout=120)
        assert stopped.returncode == 0, stopped.output
        down = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        liveness = stack.health_command(stack.web)
        assert liveness.returncode == 0, liveness.output
        back = stack.compose("start", "postgres", timeout=120)
        assert back.returncode == 0, back.output
        ready = postgres_ready(stack)
        wait_until(lambda: len(statuses(load, ready + 5)) >= 40, 30, "traffic after the outage")
        assert load.running(), "the load stopped before the recovery was measured"
    outage = load.between(down + 1, down + OUTAGE_SECONDS)
    assert len(outage) >= 100, len(outage)
    assert {a.status for a in outage} <= {500, 503}, {a.status for a in outage}
    assert max(a.seconds for a in outage) < 1, max(a.seconds for a in outage)
    assert [s for s in statuses(load, ready + 5) if s != 200] == [], statuses(load, ready + 5)
    assert {s: started_at(stack, s) for s in before} == before, "web or worker was restarted"


def test_tasks_queued_when_redis_is_killed_are_all_processed(stack):
    """The queue is Redis's append-only file on a volume: tasks enqueued while no worker runs
    survive a Redis killed without warning (SIGKILL, no final save) and restarted."""
    session = writer(stack.port, stack.manage)
    assert stack.compose("stop", stack.worker, timeout=120).returncode == 0
    titles = [f"queued through a Redis crash {n}" for n in range(5)]
    for title in titles:
        post_entry(stack.port, title, "waits in Redis", session)
    assert [words(stack.port, t) for t in titles] == [None] * len(titles), "pending, no worker"

    def synced() -> bool:  # appendfsync everysec: the writes are on disk within a second
        info = stack.exec("redis", "redis-cli", "INFO", "persistence").stdout
        return "aof_enabled:1" in info and "aof_pending_bio_fsync:0" in info

    wait_until(synced, 10, "Redis's append-only file synced")
    for step in (("kill", "redis"), ("start", "redis")):
        result = stack.compose(*step, timeout=120)
        assert result.returncode == 0, result.output
    # The tasks themselves survived: the started worker's sweep would enqueue these entries
    # again anyway (they are stale within seconds here), so their processing alone proves
    # nothing about the queue.
    queued = lambda: stack.exec("redis", "redis-cli", "LLEN", f"huey.redis.{slug(stack)}").stdout
    assert wait_until(lambda: queued().strip().isdigit() and int(queued()), 30, "Redis answers")
    assert int(queued()) == len(titles), "tasks lost with Redis's restart"
    assert stack.compose("start", stack.worker, timeout=120).returncode == 0
    wait_until(lambda: healthy(stack.port), 60, "/health/ all ok with Redis back")
    for title in titles:
        assert wait_until(lambda t=title: words(stack.port, t), 90, f"{title!r} processed")


def slug(stack: Stack) -> str:
    """The project's package name (its app, its tables' prefix, its huey queue's name)."""
    return next((stack.project / "src").glob("*/tasks.py")).parent.name


def startup_sweeps(stack: Stack) -> list[int]:
    """How many entries each start of the worker enqueued again (scripts/worker.sh)."""
    found = re.findall(r"stale entries enqueued again: (\d+)", stack.logs(stack.worker))
    return [int(n) for n in found]


def psql(stack: Stack, sql: str) -> str:
    result = stack.exec("postgres", "psql", "-U", "app", "-d", "app", "-qtAX", "-c", sql)
    assert result.returncode == 0, result.output
    return result.stdout.strip()


class RowLock:
    """An entry's row locked (SELECT ... FOR UPDATE) by a psql session in the postgres
    container, held open on a stdin pipe until the block ends (then rolled back)."""

    def __init__(self, stack: Stack, table: str, pk: int) -> None:
        self.stack, self.sql = stack, f"BEGIN; SELECT id FROM {table} WHERE id = {pk} FOR UPDATE;\n"
        self.pk = pk

    def __enter__(self) -> Self:
        command = ["docker", "compose", "-p", self.stack.name, "--profile", self.stack.profile,
                   "exec", "-T", "postgres", "psql", "-U", "app", "-d", "app", "-qtAX"]  # fmt: skip
        self.session = subprocess.Popen(
            command, cwd=self.stack.project, env=self.stack.env(), text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.session.stdin.write(self.sql)
        self.session.stdin.flush()
        # The row, once it is locked; a psql that hangs fails this test, not the run.
        ready, _, _ = select.select([self.session.stdout], [], [], 60)
        if not ready:
            self.session.kill()
            raise AssertionError("psql did not answer within 60 s")
        line = self.session.stdout.readline().strip()
        assert line == str(self.pk), f"psql did not lock the row: {line!r}"
        return self

    def __exit__(self, *exc) -> None:
        self.session.communicate("ROLLBACK;\n", timeout=60)


def test_a_worker_killed_mid_task_leaves_the_entry_processed_once(stack):
    """The worker is caught inside the task, its UPDATE waiting for a row lock another
    session holds, and killed (SIGKILL: no graceful shutdown). Its task is gone with it (huey
    took it off the queue); the restarted worker's startup sweep enqueues the entry again.
    The session the dead worker left in PostgreSQL gets the lock first once it is released,
    but its UPDATE is in a transaction nobody will commit: it rolls back when the session
    finds its client gone. So exactly one "processed" line, from the restarted worker."""
    table = f"{slug(stack)}_entry"
    title, body = "caught mid-task by a SIGKILL", "four words in here"
    session = writer(stack.port, stack.manage)
    with traffic(stack) as load:
        assert stack.compose("stop", stack.worker, timeout=120).returncode == 0
        post_entry(stack.port, title, body, session)  # its task waits in Redis
        posted = time.monotonic()
        pk = int(psql(stack, f"SELECT id FROM {table} WHERE title = '{title}'"))
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            f" AND query LIKE 'UPDATE \"{table}\"%'"
        )
        with RowLock(stack, table, pk):
            assert stack.compose("start", stack.worker, timeout=120).returncode == 0
            # One UPDATE waiting, or two: the worker's startup sweep may have found the entry
            # stale already and enqueued it a second time.
            wait_until(lambda: psql(stack, waiting) != "0", 90, "the worker's UPDATE waiting")
            killed = run(["docker", "kill", "--signal", "KILL", stack.container(stack.worker)])
            assert killed.returncode == 0, killed.output
            gone = lambda: not stack.inspect(stack.worker)["State"]["Running"]
            wait_until(gone, 30, "the worker killed")
        # The lock is released. Docker's restart policy leaves alone a container stopped with
        # `docker kill` (a manual stop), so the worker is started here, the entry stale by now.
        time.sleep(max(0.0, posted + STALE_SECONDS + 1 - time.monotonic()))
        assert stack.compose("start", stack.worker, timeout=120).returncode == 0
        processed_words = wait_until(
            lambda: words(stack.port, title), 90, "processed after the kill"
        )
        assert processed_words == len(f"{title} {body}".split())
        # Found by the restarted worker's startup sweep, not at the schedule's next turn.
        assert startup_sweeps(stack)[-1] == 1, stack.logs(stack.worker)[-3000:]
        time.sleep(STALE_SECONDS + 1)  # time for any second copy of the task: it must not log
        assert load.running(), "the load stopped before the kill and the restart were over"
    processed = [
        line for line in stack.logs(stack.worker).splitlines() if f"entry {pk} processed" in line
    ]
    assert len(processed) == 1, processed
    assert psql(stack, waiting) == "0", "a session still waits on the entry's row"
    assert statuses(load, 0) and [s for s in statuses(load, 0) if s != 200] == []
