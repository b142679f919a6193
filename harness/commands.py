"""Running things: commands, the template's dev tools, git, free ports, waiting on a condition,
and what a missing dependency means (`require`).

One of each: every module of the harness, the tests, the docs hook and the benchmark use
these.
"""

from __future__ import annotations

import fcntl
import http.client
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from harness import CACHE

# The one reading of the CI flag: under CI=true a missing dependency fails, never skips.
IN_CI = os.environ.get("CI") == "true"
BIN = Path(sys.executable).parent  # the dev environment's tools: ruff, hadolint, just, ...
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


def run(
    cmd: list,
    cwd: Path | None = None,
    timeout: float = 600,
    env: dict | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; `.output` holds the command line and its combined output.
    Running past `timeout` is a failure (AssertionError), like any other."""
    try:
        result = subprocess.run(
            [str(part) for part in cmd],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            input=input,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"timed out after {timeout}s: {' '.join(map(str, cmd))}") from exc
    result.output = f"$ {' '.join(map(str, cmd))}\n{result.stdout}{result.stderr}"
    return result


def tool(name: str) -> str:
    """A tool of the template's dev environment (its venv), else the one on PATH."""
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


def uv_env() -> dict[str, str]:
    """Environment for uv on this machine: no Python downloads; the system CA bundle."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    if CA_BUNDLE.exists():
        env.setdefault("SSL_CERT_FILE", str(CA_BUNDLE))
    return env


def git(repo: Path, *args: str) -> str:
    """git in repo, with a fixed identity and `main` for new repositories; its stdout."""
    result = run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        env={**os.environ, **GIT_IDENTITY},
    )
    assert result.returncode == 0, result.output
    return result.stdout


_HELD_PORTS: dict[int, IO] = {}  # port -> its lock file, held while this process lives


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port on 127.0.0.1 for this process alone, until it exits.

    Below the kernel's ephemeral range, so no outgoing connection (the engine's, a server's)
    is handed it by the kernel; claimed with a lock file that the run's other processes
    respect, so no two of them pick it; and free now. The caller binds it or publishes it."""
    (CACHE / "ports").mkdir(parents=True, exist_ok=True)
    low = max(_ephemeral_low(), 11000)
    for _ in range(1000):
        port = random.randrange(10000, low)
        if port in _HELD_PORTS:
            continue
        claim = open(CACHE / "ports" / str(port), "w")  # noqa: SIM115 (held until exit)
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port))
        except OSError:
            claim.close()
            continue
        _HELD_PORTS[port] = claim
        return port
    raise AssertionError(f"no free port found below {low}")


def wait_until(check: Callable[[], object], timeout: float, what: str, interval: float = 0.25):
    """Poll check() until it returns something truthy, which is returned. A connection error
    counts as "not yet"; an AssertionError from check() (say, a process that died) ends the
    wait at once. Past `timeout`: AssertionError naming `what` and the last answer."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = check()
        except (OSError, http.client.HTTPException) as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s (last: {last!r})")
        time.sleep(interval)


def require(missing: str | None) -> None:
    """A missing dependency (its reason; None: nothing missing): the calling test fails
    under CI=true, and skips elsewhere."""
    if missing is None:
        return
    import pytest

    if IN_CI:
        pytest.fail(f"CI needs it: {missing}", pytrace=False)
    pytest.skip(missing)
