"""The manual's pages and the shell commands they show.

Every command the manual shows lives in docs/snippets/*.sh, which a page includes. `Shell`
runs those files as a reader pastes them into bash, with substitutions that keep a test run
to itself: the template URL becomes a local git repository of this template, the published
ports (8080, 8000, 5678) free ones, and the compose project and the by-hand container names
carry this session's token.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from harness import ROOT, SUITE_PREFIX
from harness.commands import BIN, GIT_IDENTITY, free_port, run, uv_env, wait_until

DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"
SOURCE = "gh:org/start-django"  # where the manual says the template lives
NOT_RUN = "# Not run by the tests:"
SHELL_LANGUAGES = {"sh", "bash", "shell", "console", "zsh"}
TOKEN = f"d{os.getpid() % 100000}"
# The docs' compose project and by-hand names, unique per session (`harness.engine forget` finds
# them by their prefix).
COMPOSE_PROJECT = f"{SUITE_PREFIX}{TOKEN}-cafe-ledger"
BY_HAND = f"{COMPOSE_PROJECT}-by-hand"

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
INCLUDE = re.compile(r'^--8<-- "(?P<file>[^":]+)(?::[^"]*)?"$')


@cache
def hooks():
    """docs/hooks.py, the MkDocs hook that generates parts of the pages, as a module."""
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pages() -> dict[str, str]:
    return {p.relative_to(DOCS).as_posix(): p.read_text() for p in sorted(DOCS.glob("*.md"))}


def fences(text: str) -> Iterator[tuple[str, str, list[str]]]:
    """(language, info string, body lines) of each fenced block, indentation removed."""
    for match in FENCE.finditer(text):
        indent = match.group("indent")
        info = match.group("info").strip()
        language = info.split()[0] if info else ""
        body = [line[len(indent) :] for line in match.group("body").splitlines()]
        yield language, info, body


def included_snippets() -> dict[str, list[str]]:
    """Snippet file -> the pages that include it."""
    found: dict[str, list[str]] = {}
    for page, text in pages().items():
        for line in text.splitlines():
            if match := INCLUDE.match(line.strip()):
                found.setdefault(match.group("file"), []).append(page)
    return found


def directives(kind: str) -> list[dict]:
    """The YAML of every fenced block of this kind (`rendered-file`, ...), with its page."""
    specs = []
    for page, text in pages().items():
        for language, _info, body in fences(text):
            if language == kind:
                specs.append({**(yaml.safe_load("\n".join(body)) or {}), "page": page})
    return specs


def http_status(url: str) -> int | None:
    """The status a GET answers with, None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@dataclass
class Running:
    """A snippet still running in the background (a server, `logs --follow`)."""

    proc: subprocess.Popen
    log: Path

    def wait_for(self, check: Callable[[], object], timeout: float, what: str):
        """wait_until(check), ended at once, with the log, when the snippet exits."""

        def step():
            if self.proc.poll() is not None:
                raise AssertionError(f"{what}: the command exited ({self.proc.returncode})")
            return check()

        try:
            return wait_until(step, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log.read_text()[-3000:]}") from None


class Shell:
    """Runs snippet files in a working folder, as a reader would paste them into bash."""

    def __init__(self, workdir: Path, template: Path, extra_env: dict | None = None):
        self.workdir = workdir
        self.logdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.web_port = free_port()
        self.dev_port = free_port()
        self.debug_port = free_port()
        self.env = {
            **uv_env(),
            **GIT_IDENTITY,
            "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
            "WEB_PORT": str(self.web_port),
            "DEBUG_PORT": str(self.debug_port),
            "COMPOSE_PROJECT_NAME": COMPOSE_PROJECT,
            "NO_MKDOCS_2_WARNING": "1",
            **(extra_env or {}),
        }
        self.substitutions = [
            (SOURCE, str(template)),
            ("127.0.0.1:8080", f"127.0.0.1:{self.web_port}"),
            ("127.0.0.1:8000", f"127.0.0.1:{self.dev_port}"),
            ("127.0.0.1:5678", f"127.0.0.1:{self.debug_port}"),
            ("cafe-ledger_", f"{COMPOSE_PROJECT}_"),  # compose volumes
        ]
        self.by_hand = re.compile(r"\bcafe-ledger-(net|data|replica|redis|web|worker|pg|sq)\b")

    def script(self, name: str) -> str:
        text = (SNIPPETS / name).read_text()
        for old, new in self.substitutions:
            text = text.replace(old, new)
        if name.startswith("by-hand-"):  # names the by-hand commands give containers etc.
            text = self.by_hand.sub(rf"{BY_HAND}-\1", text)
        return "set -euo pipefail\n" + text

    def run(self, name: str, expect_ok: bool = True, timeout: float = 1500):
        result = run(
            ["bash", "-c", self.script(name)], cwd=self.workdir, env=self.env, timeout=timeout
        )
        result.output = f"--- {name}\n{result.stdout}{result.stderr}"
        if expect_ok:
            assert result.returncode == 0, result.output
        return result

    @contextlib.contextmanager
    def background(self, name: str, stop=signal.SIGINT) -> Iterator[Running]:
        """A snippet whose last command keeps running; stopped with `stop` at the end."""
        log = self.logdir / f"{name}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                ["bash", "-c", self.script(name)],
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            yield Running(proc, log)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, stop)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


# Shown in the manual but not run by the suite, and why. Each file starts with NOT_RUN.
NOT_RUNNABLE = {
    "install-tools.sh": "installs tools machine-wide; the suite uses its own pinned copier and just",
    "copy-interactive.sh": "Copier asks each question at a terminal",
    "createsuperuser.sh": "Django asks for a password at a terminal",
    "by-hand-run-pg.sh": "needs PostgreSQL and Redis on the host, reached through the Docker "
    "bridge; tests here may only reach loopback and the project's own containers",
    "remote-context.sh": "needs a remote machine with a Docker engine, over SSH",
    "remote-env.sh": "needs a remote machine with a Docker engine, over SSH",
    "op-vault.sh": "needs the 1Password CLI and a signed-in account",
    "env-op.sh": "needs the 1Password CLI and a signed-in account",
    "fly-create.sh": "needs flyctl and a Fly.io account",
    "fly-secrets.sh": "needs flyctl and a Fly.io account",
    "fly-scale.sh": "needs flyctl and a Fly.io account",
    "fly-secrets-op.sh": "needs flyctl, the 1Password CLI and both accounts",
    "fly-tigris.sh": "needs flyctl and a Fly.io account",
    "fly-media.sh": "needs flyctl and a Fly.io account",
    "fly-deploy.sh": "needs flyctl and a Fly.io account",
    "fly-restore-drill.sh": "needs a production bucket and its credentials",
    "benchmark.sh": "a measurement that takes minutes, run by hand; it writes docs/benchmark.md",
}
# Run, but not as a snippet: by the suite itself.
COVERED_ELSEWHERE = {
    "template-tests.sh": "scripts/test is what CI runs (.ci/run): the suite the tests are part of",
    "swarm-deploy.sh": "tests/test_swarm.py runs these recipes on a single-node swarm it starts",
    "swarm-operate.sh": "tests/test_swarm.py scales, rolls and removes a stack with these recipes",
    "swarm-https.sh": "tests/test_swarm.py deploys with SITE_ADDRESS (shop.localhost) this way",
}
# Which test module runs which snippets; with the two lists above, every snippet.
RUN_BY = {
    "test_docs_copy_and_update.py": [
        "copy-defaults.sh", "copy-data.sh", "copy-data-file.sh", "copy-vcs-ref.sh",
        "copy-1password.sh", "first-commit.sh", "env-dotenv.sh", "env-op-missing.sh",
        "compose-config.sh", "host-tests.sh", "runserver.sh", "pre-commit.sh",
        "check-update.sh", "update.sh", "update-data.sh", "update-current.sh",
        "update-conflict.sh", "update-abort.sh", "update-rej.sh", "docs-build.sh",
        "docs-serve.sh",
    ],
    "test_docs_docker.py": [
        "first-run.sh", "stack.sh", "worker-enqueue.sh", "logs.sh", "worker-stop.sh",
        "restore-drill.sh", "restore-check.sh", "debug.sh", "debug-stop.sh",
        "by-hand-build.sh", "by-hand-run-sq.sh", "by-hand-clean.sh",
    ],
}  # fmt: skip
