"""The measured scenarios on a generated project's swarm stack (harness/swarm.py), each under
a steady load: tests/test_swarm.py holds them to their bounds, scripts/benchmark reports them."""

from __future__ import annotations

import time

from harness.commands import run, wait_until
from harness.http import Load
from harness.swarm import SwarmStack


def rolling_update(stack: SwarmStack, tag: str, threads: int = 4) -> dict:
    """`just stack-build TAG` then, under load, `just stack-deploy TAG`: the web service rolls
    to the new tag one task at a time. The load counted is what was sent from the deploy's
    start until every web task ran the new tag, healthy."""
    stack.build(tag)
    replicas = len(stack.containers("web"))
    with Load(stack.port, threads=threads, limit=10**6, max_seconds=600) as load:
        wait_until(lambda: len(load.answers) >= 20, 30, "load flowing")
        start = time.monotonic()
        stack.deploy(tag)
        wait_until(lambda: stack.ready("web", replicas, tag), 300, f"web on {tag}")
        end = time.monotonic()
        assert load.running(), "the load stopped before the update ended: nothing measured"
    return {"seconds": end - start, **Load.summary(load.between(start, end))}


def kill_web_task(stack: SwarmStack, threads: int = 4) -> dict:
    """SIGKILL one web task's container under load; `replaced_seconds` until the service
    has as many healthy tasks as before, the killed one not among them. The load counted is
    what was sent from the kill until 2 s after the replacement."""
    replicas = len(stack.containers("web"))
    with Load(stack.port, threads=threads, limit=10**6, max_seconds=600) as load:
        wait_until(lambda: len(load.answers) >= 20, 30, "load flowing")
        victim = stack.containers("web")[0]["Id"]
        killed = time.monotonic()
        result = run(["docker", "kill", "--signal", "KILL", victim])
        assert result.returncode == 0, result.output
        wait_until(
            lambda: (
                stack.ready("web", replicas)
                and victim not in {c["Id"] for c in stack.containers("web")}
            ),
            120,
            "a healthy replacement",
            interval=0.2,
        )
        replaced = time.monotonic() - killed
        time.sleep(2)
        assert load.running(), "the load stopped before the replacement: nothing measured"
    return {"replaced_seconds": replaced, "threads": threads, **Load.summary(load.between(killed))}


def database_outage(stack: SwarmStack, seconds: float, threads: int = 2) -> dict:
    """PostgreSQL scaled to no task for `seconds` under load (GET /, which reads it), then
    back. `outage`: what was answered while it was gone (from a second after the stop, with
    `slowest_s`); `after`: what was sent from 5 s after PostgreSQL answered again;
    `web_replaced`: web containers gone or new since before."""
    web = {c["Id"] for c in stack.containers("web")}
    postgres = stack.service("postgres")
    with Load(stack.port, threads=threads, pause=0.05, limit=10**6, max_seconds=600) as load:
        wait_until(lambda: len(load.answers) >= 20, 30, "load flowing")
        stack.scale(postgres=0)
        down = time.monotonic()
        time.sleep(seconds)
        up = time.monotonic()
        result = run(["docker", "service", "scale", "--detach", f"{postgres}=1"])
        assert result.returncode == 0, result.output

        def answering() -> float | None:
            tasks = stack.containers("postgres")
            ready = tasks and run(["docker", "exec", tasks[0]["Id"], "pg_isready",
                                   "--username=app", "--dbname=app"]).returncode == 0  # fmt: skip
            return time.monotonic() if ready else None

        back = wait_until(answering, 120, "PostgreSQL answering again", interval=0.2)
        wait_until(lambda: len(load.between(back + 5)) >= 40, 60, "load after the outage")
        assert load.running(), "the load stopped before the recovery was measured"
    during = load.between(down + 1, up)
    took = sorted(a.seconds for a in during)
    p95 = took[int(len(took) * 0.95) - 1]
    return {
        "outage": {**Load.summary(during), "p95_s": p95, "slowest_s": took[-1]},
        "after": Load.summary(load.between(back + 5)),
        "web_replaced": sorted(web ^ {c["Id"] for c in stack.containers("web")}),
    }
