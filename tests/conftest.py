"""Shared fixtures: rendering (tests/renders.py: on disk, shared by the workers), content-keyed
check caches, and the host services the generated projects' own test suites run against.
tests/proof.py sums up what a run proved."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import renders
from combinations import Combination
from services import missing_postgres, missing_redis, postgres_server, redis_server

pytest_plugins = ("proof",)

IN_CI = os.environ.get("CI") == "true"
BIN = Path(sys.executable).parent  # the template's dev tools (ruff, hadolint, just, ...)


def require(reason: str) -> None:
    """A missing dependency fails under CI and skips (visibly) elsewhere."""
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def run(cmd: list[str], cwd: Path | None = None, timeout: float = 600, **kw):
    """Run a command; the result carries its combined output for assertion messages."""
    result = subprocess.run(
        cmd, check=False, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw
    )
    result.output = f"$ {' '.join(map(str, cmd))}\n{result.stdout}{result.stderr}"
    return result


def tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


digest = renders.digest


class ContentCache:
    """Results of deterministic checks keyed by the content they were computed from, so a
    check that every combination must pass runs once per distinct input, in the whole run:
    the xdist workers share the results through files (the first to ask computes, under a
    lock; the others read)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._results: dict[tuple[str, str], object] = {}

    def get(self, kind: str, key: str, compute):
        if (kind, key) not in self._results:
            path = self.root / kind / key
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if path.exists():
                    result = pickle.loads(path.read_bytes())
                else:
                    result = compute()
                    path.write_bytes(pickle.dumps(result))
            self._results[kind, key] = result
        return self._results[kind, key]


@pytest.fixture(scope="session")
def checks(tmp_path_factory) -> ContentCache:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's popen-gwN
    return ContentCache(base / "verdicts")


@pytest.fixture(scope="session")
def template_snapshot() -> Path:
    """The template as it is in the working tree, outside git, so copier renders it as is."""
    return renders.snapshot()


@pytest.fixture(scope="session")
def render():
    """render(combination or answers dict) -> the rendered project, read-only: shared by every
    test and worker (a Combination renders with its pinned free text: render_data)."""

    def _render(combo: Combination | dict) -> Path:
        return renders.render(combo.render_data if isinstance(combo, Combination) else combo)

    return _render


@pytest.fixture
def project_copy(render, tmp_path):
    """project_copy(combination or answers) -> a private copy of the rendered project, for
    tests that write into it (.env, a venv, git), so the shared render stays pristine."""

    def _copy(combo: Combination | dict) -> Path:
        target = tmp_path / f"project{len(list(tmp_path.glob('project*')))}"
        shutil.copytree(render(combo), target, symlinks=True)
        return target

    return _copy


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    missing = missing_postgres()
    if missing:
        require(missing)
    # Not under pytest's tmp dir: that is private to root, and PostgreSQL will not run as root.
    workdir = Path(tempfile.mkdtemp(prefix="start-django-pg-"))
    try:
        with postgres_server(workdir) as url:
            yield url
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    missing = missing_redis()
    if missing:
        require(missing)
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def uv_env() -> dict[str, str]:
    """Environment for uv on this machine: no Python downloads; the system CA bundle."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.exists():
        env.setdefault("SSL_CERT_FILE", str(bundle))
    return env


def pytest_terminal_summary(terminalreporter):
    from stacks import terminal_summary

    terminal_summary(terminalreporter)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """With `-n N --dist loadgroup` (scripts/test): the tests of one combination, image, stack
    class or Fly app share a worker, so its project is prepared and its containers started
    once; other Docker tests share a worker per module, for their module-wide fixtures.
    Different groups run side by side: every stack has its own compose project, ports and
    image names."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        owner = next(
            (v for v in params.values() if type(v).__name__ in {"Combination", "StackClass",
                                                                 "FlyApp", "Image"}),
            None,
        )  # fmt: skip
        if owner is not None:
            item.add_marker(pytest.mark.xdist_group(f"{type(owner).__name__}:{owner.id}"))
        elif item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.xdist_group(f"docker:{item.path.name}"))
