"""The manual's Docker commands, in page order, on one project and a real Docker engine:
first run, the stack recipes, the worker, the restore drill, the debug overlay, and the
images built and run by hand."""

from __future__ import annotations

import json
import socket

import pytest

from harness.baseimages import ensure_for_compose
from harness.commands import run
from harness.engine import require_engine
from harness.images import remove_images
from harness.snippets import BY_HAND, COMPOSE_PROJECT, Shell, http_status
from harness.template_repo import TemplateRepo

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def stack_shell(tmp_path_factory):
    """One project, copied and committed as the pages say, its images ensured; its stacks,
    by-hand containers and images removed at the end."""
    require_engine()
    root = tmp_path_factory.mktemp("docs-docker")
    repo = TemplateRepo(root / "start-django")
    sh = Shell(root / "work", repo.path)
    sh.run("copy-data.sh")
    sh.run("first-commit.sh")
    project = sh.workdir / "cafe-ledger"
    for profile in ("pg", "sq"):  # every image the pages' commands use, before they start
        ensure_for_compose(project, profile, ("compose.yaml", "compose.debug.yaml"), env=sh.env)
    by_hand_cleanup()  # leftovers of an interrupted run
    yield sh
    for files in (["compose.yaml"], ["compose.yaml", "compose.debug.yaml"]):
        args = [a for f in files for a in ("-f", f)]
        run(
            ["docker", "compose", *args, "--profile", "pg", "--profile", "sq",
             "down", "--volumes", "--remove-orphans"],
            cwd=project, env=sh.env, timeout=300,
        )  # fmt: skip
    by_hand_cleanup()
    remove_images(*(f"{COMPOSE_PROJECT}-{name}" for name in ("pg", "sq", "pg-debug", "sq-debug")))


def by_hand_cleanup() -> None:
    run(["docker", "rm", "--force", *(f"{BY_HAND}-{part}" for part in ("web", "worker", "redis"))])
    run(["docker", "network", "rm", f"{BY_HAND}-net"])
    run(["docker", "volume", "rm", f"{BY_HAND}-data", f"{BY_HAND}-replica"])
    remove_images(f"{BY_HAND}-pg", f"{BY_HAND}-sq")


def test_first_run_brings_the_stack_up_healthy(stack_shell):
    result = stack_shell.run("first-run.sh")
    assert '{"status": "ok"}' in result.stdout, result.output


def test_stack_recipes_show_health_and_migrations(stack_shell):
    result = stack_shell.run("stack.sh")
    assert "[X] 0001_initial" in result.stdout, result.output
    assert "healthy" in result.stdout


def test_worker_commands_enqueue_follow_the_logs_and_stop_cleanly(stack_shell):
    result = stack_shell.run("worker-enqueue.sh")
    assert "processed by the worker: 8 words" in result.stdout, result.output
    assert "task process_entry successful" in result.stdout, result.output
    with stack_shell.background("logs.sh") as logs:
        logs.wait_for(
            lambda: "web-pg" in logs.log.read_text() and "worker-pg" in logs.log.read_text(),
            120,
            "just logs pg",
        )
    stopped = stack_shell.run("worker-stop.sh")
    assert "Exited (0)" in stopped.stdout, stopped.output


def test_restore_drill_brings_the_record_back_from_the_replica(stack_shell):
    drill = stack_shell.run("restore-drill.sh")
    assert "restored: 1" in drill.stdout, drill.output
    assert "web.sh: restored /data/db.sqlite3 from file:///replica/db" in drill.stdout, drill.output
    assert ".ltx" in drill.stdout or "0000000000000001" in drill.stdout, drill.output
    check = stack_shell.run("restore-check.sh")
    assert "cafe_ledger_entry: 1 rows" in check.stdout, check.output
    assert "passed the integrity check" in check.output, check.output


def dap_initialize(port: int) -> dict:
    """The first request a debugger sends; debugpy answers it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        body = json.dumps(
            {
                "seq": 1,
                "type": "request",
                "command": "initialize",
                "arguments": {"adapterID": "docs-test"},
            }
        ).encode()
        sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        buffer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError("debugpy closed the connection")
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head, rest = buffer.split(b"\r\n\r\n", 1)
                length = int(head.split(b":")[1])
                if len(rest) < length:
                    break
                message, buffer = json.loads(rest[:length]), rest[length:]
                if message.get("command") == "initialize":
                    return message


def test_debug_overlay_serves_and_answers_a_debugger(stack_shell):
    """`just debug sq` with DEBUG_PORT set to a free port (5678 is the default the page and
    .vscode/launch.json use): runserver answers, debugpy answers a debugger's first request."""
    try:
        with stack_shell.background("debug.sh") as debug:
            url = f"http://127.0.0.1:{stack_shell.web_port}/health/"
            debug.wait_for(lambda: http_status(url) == 200, 900, "just debug sq: /health/")
            assert dap_initialize(stack_shell.debug_port)["success"] is True
            text = debug.log.read_text().lower()
            assert "development server" in text, "runserver, not gunicorn"
    finally:
        stack_shell.run("debug-stop.sh")


def test_by_hand_commands_build_and_run_web_and_worker(stack_shell):
    stack_shell.run("by-hand-build.sh")
    try:
        result = stack_shell.run("by-hand-run-sq.sh")
        assert '"status": "ok"' in result.stdout, result.output
        worker = run(
            ["docker", "inspect", "--format", "{{.State.Running}}",
             f"{BY_HAND}-worker"]
        )  # fmt: skip
        assert worker.stdout.strip() == "true", worker.output
    finally:
        stack_shell.run("by-hand-clean.sh")
