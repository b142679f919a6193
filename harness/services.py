"""Throwaway PostgreSQL and Redis servers on free loopback ports, for the generated projects'
own test suites. Binaries come from the machine (scripts/bootstrap installs them)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from harness.commands import free_port, wait_until


@contextlib.contextmanager
def _serving(proc: subprocess.Popen, port: int, what: str) -> Iterator[None]:
    """While the server listens on 127.0.0.1:port; stopped at the end."""

    def listening() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with status {proc.returncode}")
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True

    try:
        wait_until(listening, 30, f"{what} listening on 127.0.0.1:{port}", interval=0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def missing_postgres() -> str | None:
    for name in ("initdb", "postgres"):
        if not find_binary(name):
            return f"PostgreSQL's {name} is not installed (scripts/bootstrap installs it)"
    return None


def missing_redis() -> str | None:
    if not shutil.which("redis-server"):
        return "redis-server is not installed (scripts/bootstrap installs it)"
    return None


def _as_user() -> tuple[list[str], int, int]:
    """PostgreSQL refuses to run as root: run it as `postgres` (or nobody) then."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"], entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and no postgres or nobody user to run PostgreSQL as")


@contextlib.contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    """Yield the URL of a fresh PostgreSQL cluster with a superuser `app` / password `app`."""
    prefix, uid, gid = _as_user()
    data = workdir / "pgdata"
    data.mkdir(parents=True)
    pwfile = workdir / "pwfile"
    pwfile.write_text("app\n")
    for path in (workdir, data, pwfile):
        os.chown(path, uid, gid)
    subprocess.run(
        [
            *prefix,
            find_binary("initdb"),
            "-D",
            str(data),
            "-U",
            "app",
            "--pwfile",
            str(pwfile),
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            *prefix,
            find_binary("postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(workdir),
            "-c",
            "fsync=off",
            "-c",
            "max_connections=50",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "postgres.log").open("w"),
    )
    with _serving(proc, port, "postgres"):
        yield f"postgres://app:app@127.0.0.1:{port}/postgres"


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """Yield the URL of a fresh Redis server that keeps nothing on disk."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=(workdir / "redis.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    with _serving(proc, port, "redis-server"):
        yield f"redis://127.0.0.1:{port}/0"
