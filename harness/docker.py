"""The one runner of `docker` commands for the harness, and `inspect`.

`docker(...)` returns the finished process whatever its status (callers that probe, such as
"is there an engine?", read it); `inspect(...)` is for things that must exist: a failure is
an error, never an empty answer. `run_logged` keeps a long command's output in a log file
under the cache (stand-in builds, debootstrap)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from harness import CACHE

BUILD_TIMEOUT = 1800


def docker(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False, **kw
    )


def inspect(*ids: str, kind: str | None = None, gone_ok: bool = False) -> list[dict]:
    """`docker inspect` of each id or name; AssertionError when it fails. With `gone_ok`, an
    object removed since it was listed (a task replaced meanwhile) is left out instead: it is
    not running, which is an answer, not a failure."""
    args = ["inspect", *(["--type", kind] if kind else []), *ids]
    result = docker(*args)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    if gone_ok:
        errors = [line for line in errors if "No such" not in line]
    assert result.returncode == 0 or (gone_ok and not errors), (
        f"docker {' '.join(args)}: {result.stderr.strip()}"
    )
    return json.loads(result.stdout or "[]")


def image_info(tag: str) -> dict | None:
    """`docker image inspect` of a tag, or None when there is no such image."""
    result = docker("image", "inspect", tag)
    return json.loads(result.stdout)[0] if result.returncode == 0 else None


def labels(info: dict) -> dict[str, str]:
    return (info.get("Config") or {}).get("Labels") or {}


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def logfile(name: str) -> Path:
    directory = CACHE / "logs"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / (re.sub(r"[^A-Za-z0-9.-]+", "_", name) + ".log")


def run_logged(command: list[str], log: Path) -> tuple[bool, str]:
    """Run a long command with its output in the log file; (succeeded, its last lines)."""
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        try:
            result = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            return False, f"timed out after {BUILD_TIMEOUT}s"
    if result.returncode == 0:
        return True, ""
    lines = log.read_text(errors="replace").strip().splitlines()
    return False, " | ".join(lines[-3:])
