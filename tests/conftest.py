"""Shared fixtures: rendering (cached per combination), content-keyed check caches, and the
host services the generated projects' own test suites run against."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from combinations import ROOT, Combination
from services import missing_postgres, missing_redis, postgres_server, redis_server

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


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def tree_digest(root: Path, exclude: set[str] = frozenset()) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel in exclude or "__pycache__" in rel or rel.startswith(".venv/"):
            continue
        h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


class ContentCache:
    """Results of deterministic checks keyed by the content they were computed from, so a
    check that every combination must pass runs once per distinct input."""

    def __init__(self) -> None:
        self._results: dict[tuple[str, str], object] = {}

    def get(self, kind: str, key: str, compute):
        if (kind, key) not in self._results:
            self._results[kind, key] = compute()
        return self._results[kind, key]


@pytest.fixture(scope="session")
def checks() -> ContentCache:
    return ContentCache()


@pytest.fixture(scope="session")
def template_snapshot(tmp_path_factory) -> Path:
    """The template as it is in the working tree, outside git, so copier renders it as is
    and without cloning it once per combination."""
    snapshot = tmp_path_factory.mktemp("template")
    shutil.copy2(ROOT / "copier.yml", snapshot / "copier.yml")
    shutil.copytree(ROOT / "template", snapshot / "template")
    return snapshot


@pytest.fixture(scope="session")
def render(copie_session, template_snapshot):
    """render(combination or answers dict) -> project dir; each combination renders once."""
    cache: dict[str, Path] = {}

    def _render(combo: Combination | dict) -> Path:
        data = combo.data if isinstance(combo, Combination) else combo
        key = digest(repr(sorted(data.items())))
        if key not in cache:
            result = copie_session.copy(extra_answers=data, template_dir=template_snapshot)
            assert result.exit_code == 0, f"rendering {data} failed: {result.exception!r}"
            cache[key] = result.project_dir
        return cache[key]

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
    """Images the container tests could not build, with why, and the durations they measured
    (tests/stacks.py)."""
    from stacks import terminal_summary

    terminal_summary(terminalreporter)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """With `-n N --dist loadgroup` (scripts/test): a combination's tests share one worker, so
    it renders once; Docker tests share one worker, so stacks never compete for ports."""
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.xdist_group("docker"))
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        for value in params.values():
            if isinstance(value, Combination):
                item.add_marker(pytest.mark.xdist_group(value.id))
                break
